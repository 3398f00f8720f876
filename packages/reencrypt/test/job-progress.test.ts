/**
 * The job's progress display: the terminal bar, JSON lines and plain lines; "listing…" without
 * an ETA until the source has been read to its end; the bytes of the job's own counter, the
 * number the summary prints.
 */
import { randomBytes } from "node:crypto";
import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import { describe, expect, it } from "vitest";
import { startProgress, type JobProgress } from "../src/cli/job/job-progress.js";
import { formatBytes } from "../src/cli/job/parse-size.js";
import { runSummary } from "../src/cli/job/job-summary.js";
import type { ObjectResult } from "../src/model/object-result.js";
import type { JobContext } from "../src/runner/job-context.js";
import { runJob, type JobOptions } from "../src/index.js";
import { JobCounters } from "../src/support/job-counters.js";
import { FakeKms } from "@rekey/localstack/fake-kms";
import { sealWith } from "./helpers/messages.js";

/** A terminal of fixed width that interprets what cli-progress and the job write to it. */
class Screen extends Writable {
  readonly isTTY = true;
  readonly columns = 120;
  readonly raw: string[] = [];
  private readonly rows: string[] = [""];
  private row = 0;
  private col = 0;
  private saved = { row: 0, col: 0 };

  override _write(chunk: Buffer | string, _e: BufferEncoding, done: () => void): void {
    this.feed(chunk.toString());
    done();
  }

  /** The screen's lines, without trailing blanks. */
  lines(): string[] {
    const out = this.rows.map((r) => r.trimEnd());
    while (out.length > 0 && out.at(-1) === "") out.pop();
    return out;
  }

  private put(ch: string): void {
    const line = (this.rows[this.row] ?? "").padEnd(this.col);
    this.rows[this.row] = line.slice(0, this.col) + ch + line.slice(this.col + 1);
    this.col++;
  }

  private feed(text: string): void {
    this.raw.push(text);
    for (let i = 0; i < text.length; i++) {
      const ch = text[i] as string;
      if (ch === "\r") this.col = 0;
      else if (ch === "\n") {
        this.row++;
        this.col = 0;
        this.rows[this.row] ??= "";
      } else if (ch === "\x1b") {
        const next = text[i + 1];
        if (next === "7") this.saved = { row: this.row, col: this.col };
        else if (next === "8") ({ row: this.row, col: this.col } = this.saved);
        if (next === "7" || next === "8") {
          i++;
          continue;
        }
        // eslint-disable-next-line no-control-regex -- a terminal escape is what is parsed
        const m = /^\x1b\[(\??)(\d*)(?:;(\d*))?([A-Za-z])/.exec(text.slice(i));
        if (!m) throw new Error(`unknown escape ${JSON.stringify(text.slice(i, i + 8))}`);
        const [all, private_, a, , op] = m;
        if (!private_) {
          if (op === "G") this.col = Math.max(0, Number(a || 1) - 1);
          else if (op === "K" && a === "2") this.rows[this.row] = "";
          else if (op === "K") this.rows[this.row] = (this.rows[this.row] ?? "").slice(0, this.col);
          else if (op === "A") this.row = Math.max(0, this.row - Number(a || 1));
        }
        i += all.length - 1;
      } else this.put(ch);
    }
  }
}

function result(i: number, outcome: ObjectResult["outcome"] = "rewrapped"): ObjectResult {
  return {
    ref: { kind: "s3", bucket: "b", key: `k${i}` },
    outcome,
    planClass: "rewrap",
    reason: outcome === "rewrapped" ? "rewrapped" : "the object changed since it was read",
    size: 100,
    sourceKeyArns: [],
    sourceMaterialIds: [],
    materialUnproven: false,
    durationMs: 3,
  };
}

describe("job progress", () => {
  it("a terminal: the first lines stay intact, the bar ends on its own line before the summary", () => {
    const screen = new Screen();
    const p = startProgress({ mode: "bar", stdout: screen, stderr: screen, counters: () => undefined });
    p.message("rekey rewrap: target the current key material of each object's own key");
    for (let i = 0; i < 3; i++) p.discovered();
    p.listed();
    p.finished(result(0));
    p.message("a message while the bar runs");
    p.finished(result(1));
    p.finished(result(2, "conflict"));
    p.stop();
    screen.write("Objects: 3 in 0.1 s\n");
    const lines = screen.lines();
    expect(lines[0]).toBe("rekey rewrap: target the current key material of each object's own key");
    expect(lines[1]).toBe("a message while the bar runs");
    expect(lines[2]).toMatch(/^=+ 3\/3 objects \| 0 B \| [\d.]+ obj\/s \| ETA \S+ \| errors 1$/);
    expect(lines[3]).toBe("Objects: 3 in 0.1 s");
    expect(lines).toHaveLength(4);
  });

  it("a dry run: the bar counts planned objects, unreadable headers as errors", () => {
    const screen = new Screen();
    const p = startProgress({ mode: "bar", stdout: screen, stderr: screen, counters: () => undefined });
    for (let i = 0; i < 3; i++) p.discovered();
    p.listed();
    p.planned(false);
    p.planned(true);
    p.planned(false);
    p.stop();
    expect(screen.lines().at(-1)).toMatch(/^=+ 3\/3 objects \| .* \| errors 1$/);
  });

  it("a terminal with no object: no bar at all", () => {
    const screen = new Screen();
    const p = startProgress({ mode: "bar", stdout: screen, stderr: screen, counters: () => undefined });
    p.message("rekey rewrap: target alias/x");
    p.stop();
    expect(screen.lines()).toEqual(["rekey rewrap: target alias/x"]);
  });

  it("--json: one object event per object, reasons only for failures", () => {
    const out: string[] = [];
    const stdout = new Writable({
      write(c: Buffer, _e, done) {
        out.push(...c.toString().split("\n").filter(Boolean));
        done();
      },
    });
    const p = startProgress({ mode: "json", stdout, stderr: stdout, counters: () => undefined });
    p.discovered();
    p.discovered();
    p.finished(result(0));
    p.finished(result(1, "conflict"));
    p.message("stopping");
    p.stop();
    const events = out.map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(events).toEqual([
      { event: "object", object: "s3://b/k0", outcome: "rewrapped", durationMs: 3 },
      {
        event: "object",
        object: "s3://b/k1",
        outcome: "conflict",
        reason: "the object changed since it was read",
        durationMs: 3,
      },
      { event: "message", message: "stopping" },
    ]);
  });
});

describe("job progress while the source is listed", () => {
  it("says listing… with what is found so far and no ETA until the listing ends; then total and ETA", () => {
    const screen = new Screen();
    const p = startProgress({ mode: "bar", stdout: screen, stderr: screen, counters: () => undefined });
    for (let i = 0; i < 3; i++) p.discovered();
    p.finished(result(0));
    // The first frame, drawn when the first object was found.
    expect(screen.raw.join("")).toMatch(
      /listing… 0 done, 1 found so far \| 0 B \| [\d.]+ obj\/s \| errors 0/,
    );
    expect(screen.raw.join("")).not.toContain("ETA");
    p.discovered();
    p.listed();
    p.finished(result(1));
    p.finished(result(2));
    p.finished(result(3));
    p.stop();
    expect(screen.lines().at(-1)).toMatch(/^=+ 4\/4 objects \| 0 B \| [\d.]+ obj\/s \| ETA \S+ \| errors 0$/);
  });

  it("a job stopped before its listing ended stays on listing…, never with an ETA", () => {
    const screen = new Screen();
    const p = startProgress({ mode: "bar", stdout: screen, stderr: screen, counters: () => undefined });
    for (let i = 0; i < 5; i++) p.discovered();
    p.finished(result(0));
    p.stop();
    expect(screen.lines().at(-1)).toMatch(/^listing… 1 done, 5 found so far \| .* \| errors 0$/);
    expect(screen.raw.join("")).not.toContain("ETA");
  });

  it("plain lines say the same", () => {
    const out: string[] = [];
    const stderr = new Writable({
      write(c: Buffer, _e, done) {
        out.push(c.toString());
        done();
      },
    });
    const counters = new JobCounters();
    counters.bytes.objects = 1536;
    const p = startProgress({
      mode: "lines",
      stdout: stderr,
      stderr,
      counters: () => counters,
      intervalMs: 1,
    });
    p.discovered();
    p.discovered();
    p.finished(result(0));
    return new Promise<void>((resolve) => {
      const wait = setInterval(() => {
        if (out.length === 0) return;
        p.listed();
        out.length = 0;
        const after = setInterval(() => {
          if (out.length === 0) return;
          clearInterval(after);
          p.stop();
          expect(out[0]).toMatch(/^progress: 1\/2 objects, 1\.5 KiB, /);
          resolve();
        }, 1);
        clearInterval(wait);
      }, 1);
    });
  });

  it("the bar's bytes are the job's counter of the objects' bytes", () => {
    const screen = new Screen();
    const counters = new JobCounters();
    counters.bytes.objects = 3 * 1024 * 1024;
    counters.bytes.read = 999; // bytes through the job are not what the bar shows
    const p = startProgress({ mode: "bar", stdout: screen, stderr: screen, counters: () => counters });
    p.discovered();
    p.listed();
    p.finished(result(0));
    p.stop();
    expect(screen.lines().at(-1)).toMatch(/ 1\/1 objects \| 3\.0 MiB \| /);
  });
});

describe("job progress of a real run", () => {
  /** A display that records the events it gets, and passes them on to a real bar. */
  function recording(inner: JobProgress): { progress: JobProgress; events: string[] } {
    const events: string[] = [];
    return {
      events,
      progress: {
        discovered: () => (events.push("discovered"), inner.discovered()),
        listed: () => (events.push("listed"), inner.listed()),
        finished: (r) => (events.push("finished"), inner.finished(r)),
        planned: (f) => (events.push("planned"), inner.planned(f)),
        message: (l) => inner.message(l),
        stop: () => inner.stop(),
      },
    };
  }

  it("listed comes once, after every object was found and before the last finished; the final bar's bytes are the summary's", async () => {
    const kms = new FakeKms();
    const key = kms.addKey().arn;
    const dir = await mkdtemp(join(tmpdir(), "rekey-progress-"));
    const files = 24;
    let sizes = 0;
    for (let i = 0; i < files; i++) {
      const message = await sealWith(kms, [key], randomBytes(1000 + i * 97));
      sizes += message.length;
      await writeFile(join(dir, `f${String(i).padStart(2, "0")}.rkey`), message);
    }
    kms.rotate(key);
    const screen = new Screen();
    let ctx: JobContext | undefined;
    const { progress, events } = recording(
      startProgress({ mode: "bar", stdout: screen, stderr: screen, counters: () => ctx?.counters }),
    );
    const options: JobOptions = {
      kms,
      source: { kind: "dir", path: dir },
      target: "current",
      kmsRps: Infinity,
      concurrency: 2,
      onSourceEntry: () => progress.discovered(),
      onSourceEnd: () => progress.listed(),
      hooks: { onResult: (r) => progress.finished(r) },
    };
    const report = await runJob(options, { onContext: (c) => (ctx = c) });
    progress.stop();
    expect(report.outcomes.rewrapped).toBe(files);
    expect(events.filter((e) => e === "listed")).toHaveLength(1);
    const listedAt = events.indexOf("listed");
    expect(events.lastIndexOf("discovered")).toBeLessThan(listedAt);
    expect(events.filter((e) => e === "discovered")).toHaveLength(files);
    // The source is pulled as the queue drains: the listing ends with objects still to finish.
    expect(events.slice(0, listedAt).filter((e) => e === "finished").length).toBeLessThan(files);
    expect(events.slice(listedAt).filter((e) => e === "finished").length).toBeGreaterThan(0);
    // The first frame was drawn while listing; the last one has the total, the ETA, and the
    // summary's bytes of objects.
    expect(screen.raw.join("")).toContain("listing…");
    const bytes = formatBytes(report.bytes.objects);
    expect(screen.lines().at(-1)).toMatch(
      new RegExp(`^=+ ${files}/${files} objects \\| ${bytes.replace(".", "\\.")} \\| .* ETA `),
    );
    expect(runSummary(report, undefined)).toContain(
      `Bytes: ${bytes} of objects; ${formatBytes(report.bytes.read)} read and ${formatBytes(report.bytes.written)} written by the job; 0 B copied by S3`,
    );
    expect(report.bytes.objects).toBe(sizes);
  });
});
