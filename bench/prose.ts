/**
 * The fixed text of BENCHMARKS.md around the measured sections: how to run, how to read the
 * figures, and which claims of earlier versions of the file were corrected. Nothing here is a
 * measurement; every figure of the file comes from the run that wrote it.
 */

export const INTRODUCTION = `\`\`\`sh
pnpm bench                    # every section (builds first)
pnpm bench small              # one section: stream, buffer, esdk, small, rss, job, big-object
pnpm bench core               # a group: core or reencrypt
REKEY_BENCH_QUICK=1 pnpm bench  # smaller payloads, a smoke run
pnpm bench --write            # every section, and this file from the run
pnpm bench:instructions       # instructions counted by callgrind (valgrind): both parts below
pnpm bench:instructions core  # small messages: rekey against the format floor, per message
pnpm bench:instructions job   # the job against the bare loop, per object
\`\`\`

Every figure is printed next to a baseline measured in the same run, doing the same work at the
same frame size: raw \`node:crypto\` framed AES-256-GCM (no header, no key derivation, no AAD —
\`bench/raw-gcm.ts\`), the raw floor of a small message, \`@aws-crypto/client-node\` 5.0.2 with the
same raw AES wrapping key, or, for the job, a bare loop of the same SDK calls with the job's retry
policy. Every side runs the built packages (\`pnpm bench\` builds first), the JavaScript a user
installs. The sides of a comparison are measured in interleaved rounds, the order reversed every
other round (a, b, b, a, a, b, …), the same number of rounds for each; a figure is the median of the rounds with their min and max in
parentheses, and a ratio is the median (min–max) of the per-round ratios. The machine's other work
moves single measurements by tens of percent: read the range, not only the median.`;

export const CORRECTIONS = `## Claims of earlier versions of this file, corrected

- The raw buffer-decrypt baseline joined its output into a new buffer even for a one-frame
  message, a copy \`decrypt\` does not make, which lowered the baseline (a 1 MiB ratio of 1.01× was
  printed). The baseline now copies exactly when \`decrypt\` does.
- Every ESDK row was divided by rekey's 1 MiB-frame figure, also the rows where the ESDK used
  4 KiB frames, and the ESDK was measured best-of-4, not interleaved, against rekey's best-of-5.
  Each ESDK configuration is now measured interleaved with rekey at its own frame size, with
  the same rounds.
- The 1 KiB section compared rekey only with the ESDK, in rounds that were not interleaved; it now
  compares rekey with the raw floor of the same work, interleaved, and with the ESDK, interleaved.
- The RSS "floor" was a process that already held \`@rekey/core\` and an 8 MiB source; peaks are
  now reported over \`node -e 0\` and over the raw pipeline.
- The job's bare loop had no retries (one socket reset ended a run) and was given a best of two;
  it now retries each call with the job's policy, and every side gets the same interleaved
  rounds. The job was published at 1.12–1.14× the loop; see the table above for what this run
  measured.
- The job's bare loop was handed the object keys, while the job is given a bucket and must list
  it: the loop now lists the bucket too (ListObjectsV2 pages feeding its workers), so both sides
  make the same calls.
- The 1 KiB section set rekey only against the raw floor the target names; it now also shows the
  format floor (the same primitives plus the second expand and the header tag that rekey's format
  requires), which separates what the format costs from what rekey adds.
- The job section ran the emulator in the benchmark's own process, so its "CPU per object"
  added the emulator's work (the same on both sides) to the client's, which made the job's extra
  CPU look smaller, and the client and the emulator shared one event loop. The emulator now runs
  in a process of its own, as AWS is never in the client's, and the CPU column is the client's.
- The buffer section called its raw loop "the same work". It does the same AES-GCM work (the same
  bytes, one cipher per frame, the same buffers allocated) but none of the per-message work of the
  format and the keyring (a new data key and its wrapping, key derivation, the header tag); the
  section now also shows a format floor that does that work, which separates what the format
  costs at 1 MiB from what rekey adds.
- Every round ran the sides in the same order, so a side always came right after the same other
  one and paid for collecting what it left; the order is now reversed every other round. The
  1 KiB section takes 15 rounds (a round there is a fraction of a second), the job section 7.
- The 1 MiB buffer rows were measured in 11 rounds of 200 messages. On a shared machine a round
  that long pairs the sides loosely: runs of the same code read encryptChunks at 0.79–0.90× raw.
  They now take 110 rounds of 20 messages, the same messages in all.
- The 1 MiB buffer rows interleaved all seven sides in one set of rounds, and a side pays for
  collecting the garbage the side before it left: \`encryptChunks\` came after the raw joined
  encryption (twice the garbage of a side that keeps its pieces) every other round, the raw loop
  never did. Three runs read encryptChunks at 0.85–0.86× the format floor. Each comparison is now
  interleaved only with sides that leave as much garbage as its own; four runs of the same code
  then read 0.96–1.00×.
- "Best of N" figures are replaced by median (min–max): a best-of figure hides how much the
  machine moved.
- This file was written by hand from several runs; it is now written by \`pnpm bench --write\`
  from one.
- The benchmark ran rekey's TypeScript sources through tsx, which keeps function names by wrapping
  every named function in a call to a helper that defines its \`name\`: each closure a call makes
  cost a \`defineProperty\` more. That is a cost of the runner, not of the package, and the job,
  with its many small functions, paid the most of it. Every side now runs the built packages, the
  JavaScript a user installs.`;
