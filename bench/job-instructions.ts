/**
 * `pnpm bench:instructions job` (needs valgrind): the instructions the client executes per object,
 * the job against the bare loop of the job benchmark (`reencrypt.ts`), counted by callgrind: a
 * count the machine's other work does not inflate, as it inflates CPU time.
 *
 * Each side runs in a process of its own under `valgrind --tool=callgrind` (the emulator in a
 * further process, not counted) twice: with the setup and two warm-up rewraps only, and with
 * {@link PASSES} more rewraps of {@link OBJECTS} objects. The difference, over the objects
 * rewrapped, is the side's instructions per object (the job's include what it does once per run,
 * its store probe and key lookup, spread over the run's objects). Node runs single-threaded (so
 * compiling and collecting happen on the main thread and are counted there) and `--predictable`
 * with fixed hash and random seeds. The count still moves with the order in which the emulator's
 * answers arrive: two runs of the same code gave loop 11.33 M and 11.55 M, job 11.45 M and
 * 11.68 M instructions per object, and job / loop 1.010 and 1.011 (without `--predictable` three
 * runs had given 0.95, 1.01 and 1.13). Run it more than once and read the spread.
 */
import { fileURLToPath } from "node:url";
import { extraInstructions, isMain } from "./callgrind.js";
import {
  bareRewrap,
  jobRewrap,
  newKey,
  putSmallObjects,
  rotate,
  send,
  startJobEmulator,
} from "./reencrypt.js";

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true";
const OBJECTS = 200;
const PASSES = 3;
const CONCURRENCY = 16;

/** The child: sets up a bucket, rewraps it `2 + passes` times with one side, then stops. */
async function child(side: "job" | "loop", passes: number): Promise<void> {
  const aws = await startJobEmulator();
  try {
    const kms = aws.createKmsClient({ maxAttempts: 1 });
    const s3 = aws.createS3Client({ maxAttempts: 1 });
    const bucket = "bench-instructions";
    await send(aws.s3, "CreateBucketCommand", { Bucket: bucket });
    const key = await newKey(aws);
    await putSmallObjects(aws, bucket, key, OBJECTS, "o/");
    for (let i = 0; i < 2 + passes; i++) {
      await rotate(aws, key);
      if (side === "job") await jobRewrap(s3, kms, bucket, CONCURRENCY);
      else await bareRewrap(s3, kms, bucket, CONCURRENCY);
    }
  } finally {
    await aws.stop();
  }
}

/** Prints the instructions per object of the loop and of the job, and their ratio. */
export async function jobInstructions(): Promise<void> {
  const perObject: Record<string, number> = {};
  for (const side of ["loop", "job"]) {
    const extra = await extraInstructions(
      fileURLToPath(import.meta.url),
      ["--child", side, "0"],
      ["--child", side, String(PASSES)],
    );
    perObject[side] = extra / (PASSES * OBJECTS);
    console.log(`${side}: ${(perObject[side] / 1e6).toFixed(2)} M instructions per object`);
  }
  const ratio = (perObject.job as number) / (perObject.loop as number);
  console.log(
    `job / loop: ${ratio.toFixed(3)} (${OBJECTS} objects × ${PASSES} rewraps, concurrency ${CONCURRENCY})`,
  );
}

// Run directly: the count (the same as `pnpm bench:instructions job`), or one child under callgrind.
if (isMain(import.meta.url)) {
  if (process.argv[2] === "--child") await child(process.argv[3] as "job" | "loop", Number(process.argv[4]));
  else await jobInstructions();
}
