/** The job's progress display: the terminal bar, JSON lines and plain lines. */
import { Writable } from "node:stream";
import { describe, expect, it } from "vitest";
import { startProgress } from "../src/cli/job/job-progress.js";
import type { ObjectResult } from "../src/model/object-result.js";

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
