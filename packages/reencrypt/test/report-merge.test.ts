/** Merging run reports and S3 Batch Operations completion reports into one. */
import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import { EXIT_CODES, type JobReport } from "../src/runner/job-report.js";
import { OBJECT_OUTCOMES, type ObjectOutcome } from "../src/model/object-result.js";
import { mergeReportFiles } from "../src/reports/merge-reports.js";
import {
  formatCompletionRow,
  outcomeOfResult,
  readCompletionReport,
} from "../src/reports/completion-report.js";
import { escapeHtml, renderReportHtml } from "../src/reports/report-html.js";
import { JobError } from "../src/errors.js";

const KEY_A = "arn:aws:kms:us-east-1:111122223333:key/aaaa";
const KEY_B = "arn:aws:kms:us-east-1:111122223333:key/bbbb";

function runReport(over: Partial<Record<ObjectOutcome, number>>, extra: Partial<JobReport> = {}): JobReport {
  const outcomes = Object.fromEntries(OBJECT_OUTCOMES.map((o) => [o, over[o] ?? 0])) as Record<
    ObjectOutcome,
    number
  >;
  const objects = Object.values(outcomes).reduce((a, b) => a + b, 0);
  return {
    reportVersion: 1,
    kind: "run",
    mode: "rewrap",
    verify: "etag",
    target: { spec: "current", description: "the current key material of each object's own key" },
    startedAt: "2026-12-01T10:00:00.000Z",
    finishedAt: "2026-12-01T10:00:10.000Z",
    durationMs: 10_000,
    interrupted: false,
    stores: [],
    unconditionalWrites: 0,
    complete: true,
    strict: false,
    exitCode: 0,
    objects,
    outcomes,
    fromCheckpoint: {},
    invalidSourceEntries: 0,
    excluded: 0,
    bySourceKey: { [KEY_A]: { objects, bytes: objects * 100, outcomes: { ...over } } },
    bySourceMaterial: { m1: { objects, bytes: objects * 100, outcomes: { ...over }, keyArns: [KEY_A] } },
    bytes: { objects: objects * 100, read: objects * 100, written: objects * 100, copiedServerSide: 0 },
    kms: { requests: objects, byOperation: { ReEncrypt: objects }, retries: 1, throttled: 2 },
    s3: { requests: objects * 3, byOperation: { GetObject: objects }, retries: 0, throttled: 0 },
    postgres: { requests: 0, byOperation: {}, retries: 0, throttled: 0 },
    esdk: { migrated: 0, droppedContextKeys: {} },
    materialUnproven: 0,
    keptEntries: { objects: 0, entries: 0 },
    notes: ["same note"],
    failures: [],
    failuresOmitted: 0,
    ...extra,
  };
}

async function files(contents: Record<string, string | Buffer>): Promise<string[]> {
  const dir = await mkdtemp(join(tmpdir(), "rekey-merge-"));
  const out: string[] = [];
  for (const [name, body] of Object.entries(contents)) {
    await writeFile(join(dir, name), body);
    out.push(join(dir, name));
  }
  return out;
}

describe("mergeReportFiles", () => {
  it("adds the shards' counts, keys, materials, bytes and requests; wall time spans them", async () => {
    const a = runReport({ rewrapped: 5, current: 2 });
    const b = runReport(
      { rewrapped: 3 },
      {
        startedAt: "2026-12-01T10:00:05.000Z",
        finishedAt: "2026-12-01T10:00:30.000Z",
        durationMs: 25_000,
        bySourceKey: { [KEY_B]: { objects: 3, bytes: 900, outcomes: { rewrapped: 3 } } },
        bySourceMaterial: { m1: { objects: 3, bytes: 900, outcomes: { rewrapped: 3 }, keyArns: [KEY_B] } },
        esdk: { migrated: 2, droppedContextKeys: { "aws-crypto-public-key": 2 } },
      },
    );
    // A report written before ESDK migration existed has no `esdk`.
    const { esdk: _none, ...older } = runReport({ current: 1 });
    const merged = await mergeReportFiles(
      await files({
        "a.json": JSON.stringify(a),
        "b.json": JSON.stringify(b),
        "c.json": JSON.stringify(older),
      }),
    );
    expect(merged.esdk).toEqual({ migrated: 2, droppedContextKeys: { "aws-crypto-public-key": 2 } });
    expect(merged.objects).toBe(11);
    expect(merged.outcomes.rewrapped).toBe(8);
    expect(merged.outcomes.current).toBe(3);
    expect(merged.bySourceKey[KEY_A]).toEqual({
      objects: 8,
      bytes: 800,
      outcomes: { rewrapped: 5, current: 3 },
    });
    expect(merged.bySourceKey[KEY_B]?.bytes).toBe(900);
    expect(merged.bySourceMaterial["m1"]).toEqual({
      objects: 11,
      bytes: 1700,
      outcomes: { rewrapped: 8, current: 3 },
      keyArns: [KEY_A, KEY_B],
    });
    expect(merged.bytes.objects).toBe(700 + 300 + 100);
    expect(merged.kms).toEqual({ requests: 11, byOperation: { ReEncrypt: 11 }, retries: 3, throttled: 6 });
    expect(merged.wallMs).toBe(30_000);
    expect(merged.workerMs).toBe(45_000);
    expect(merged.notes.filter((n) => n === "same note")).toHaveLength(1);
    expect(merged.exitCode).toBe(EXIT_CODES.ok);
    expect(merged.complete).toBe(true);
  });

  it("exit code: a stop wins, then an interruption, then failed, then incomplete", async () => {
    const ok = JSON.stringify(runReport({ rewrapped: 1 }));
    const failed = JSON.stringify(runReport({ failed: 1, conflict: 1 }));
    const conflict = JSON.stringify(runReport({ conflict: 1 }));
    const interrupted = JSON.stringify(runReport({ rewrapped: 1 }, { interrupted: true }));
    const stopped = JSON.stringify(
      runReport({ failed: 1 }, { stopped: { code: "ERR_JOB_KEY_UNUSABLE", reason: "disabled" } }),
    );
    const exit = async (...bodies: string[]) =>
      (await mergeReportFiles(await files(Object.fromEntries(bodies.map((b, i) => [`${i}.json`, b])))))
        .exitCode;
    expect(await exit(ok, ok)).toBe(EXIT_CODES.ok);
    expect(await exit(ok, conflict)).toBe(EXIT_CODES.incomplete);
    expect(await exit(ok, failed)).toBe(EXIT_CODES.failed);
    expect(await exit(failed, interrupted)).toBe(EXIT_CODES.interrupted);
    expect(await exit(interrupted, stopped)).toBe(EXIT_CODES.keyUnusable);
  });

  it("refuses reports of different jobs, plan reports and unreadable files", async () => {
    const a = runReport({ rewrapped: 1 });
    const other = { ...a, target: { spec: "alias:app", description: "alias/app" } };
    await expect(
      mergeReportFiles(await files({ "a.json": JSON.stringify(a), "b.json": JSON.stringify(other) })),
    ).rejects.toMatchObject({ code: "ERR_JOB_REPORT", message: expect.stringMatching(/alias:app/) });
    const reencrypt = { ...a, mode: "reencrypt" };
    await expect(
      mergeReportFiles(await files({ "a.json": JSON.stringify(a), "b.json": JSON.stringify(reencrypt) })),
    ).rejects.toThrow(/reencrypt run/);
    await expect(
      mergeReportFiles(await files({ "p.json": JSON.stringify({ ...a, kind: "plan" }) })),
    ).rejects.toThrow(/plan reports cannot be merged/);
    await expect(mergeReportFiles(await files({ "x.json": "{ not json" }))).rejects.toBeInstanceOf(JobError);
    await expect(mergeReportFiles(["/nonexistent/rekey-report.json"])).rejects.toMatchObject({
      code: "ERR_JOB_REPORT",
    });
    await expect(mergeReportFiles([])).rejects.toMatchObject({ code: "ERR_JOB_REPORT" });
  });

  it("caps the listed failures across shards and counts the rest", async () => {
    const failures = (n: number, tag: string) =>
      Array.from({ length: n }, (_, i) => ({
        object: `s3://b/${tag}${i}`,
        outcome: "failed" as const,
        reason: "x",
      }));
    const a = runReport({ failed: 6000 }, { failures: failures(6000, "a"), failuresOmitted: 0 });
    const b = runReport({ failed: 6000 }, { failures: failures(6000, "b"), failuresOmitted: 7 });
    const merged = await mergeReportFiles(
      await files({ "a.json": JSON.stringify(a), "b.json": JSON.stringify(b) }),
    );
    expect(merged.failures).toHaveLength(10_000);
    expect(merged.failuresOmitted).toBe(2000 + 7);
  });
});

describe("completion reports", () => {
  const rows = [
    'data,dir/a%20b.rkey,,succeeded,200,,"rewrapped: moved 1 entry onto key/aaaa"',
    "data,c.rkey,v1,succeeded,200,,current: already on the target",
    // The schema's own field order (ErrorCode before HTTPStatusCode) is read too.
    'data,d%20%C3%BC.rkey,,failed,PermanentFailure,200,"foreign: not a rekey message"',
    'data,e.rkey,,failed,200,TemporaryFailure,"failed: KMS ReEncrypt failed: ThrottlingException [ERR_KMS]"',
    // A function error quoted over two lines, as S3 writes a Lambda timeout.
    'data,f.rkey,,failed,200,PermanentFailure,"Lambda returned function error: {""errorMessage"":""Task timed out',
    'after 3.00 seconds""}"',
  ];

  it("reads both field orders, quoted newlines and gzip; outcomes come from the handler's result string", async () => {
    const [csv, gz] = await files({
      "r.csv": `${rows.join("\n")}\n`,
      "r.csv.gz": gzipSync(`${rows.join("\r\n")}\r\n`),
    });
    for (const file of [csv, gz]) {
      const read = [];
      for await (const row of readCompletionReport(file as string)) read.push(row);
      expect(read.map((r) => [r.key, r.taskStatus, r.errorCode, r.httpStatus])).toEqual([
        ["dir/a%20b.rkey", "succeeded", "", 200],
        ["c.rkey", "succeeded", "", 200],
        ["d%20%C3%BC.rkey", "failed", "PermanentFailure", 200],
        ["e.rkey", "failed", "TemporaryFailure", 200],
        ["f.rkey", "failed", "PermanentFailure", 200],
      ]);
      expect(read[4]?.resultMessage).toBe(
        'Lambda returned function error: {"errorMessage":"Task timed out\nafter 3.00 seconds"}',
      );
      const merged = await mergeReportFiles([file as string]);
      expect(merged.objects).toBe(5);
      expect(merged.outcomes).toMatchObject({ rewrapped: 1, current: 1, foreign: 1, failed: 2 });
      expect(merged.batchOperations).toEqual({
        tasks: 5,
        byTaskStatus: { succeeded: 2, failed: 3 },
        byErrorCode: { PermanentFailure: 2, TemporaryFailure: 1 },
        withoutOutcome: 1,
      });
      expect(merged.failures.map((f) => [f.object, f.outcome, f.code])).toEqual([
        // The key as runs name it: decoded.
        ["s3://data/d ü.rkey", "foreign", undefined],
        ["s3://data/e.rkey", "failed", "ERR_KMS"],
        ["s3://data/f.rkey", "failed", "PermanentFailure"],
      ]);
      expect(merged.exitCode).toBe(EXIT_CODES.failed);
    }
  });

  it("refuses rows that are not a completion report's, and a succeeded task that is not the handler's", async () => {
    const bad = async (body: string) => mergeReportFiles(await files({ "r.csv": body }));
    await expect(bad("data,a.rkey,succeeded\n")).rejects.toThrow(/expected 7 fields/);
    await expect(bad("data,a.rkey,,done,200,,rewrapped: x\n")).rejects.toThrow(/TaskStatus is "done"/);
    await expect(bad('data,a.rkey,,succeeded,200,,"{""copied"":true}"\n')).rejects.toThrow(
      /not a completion report of a rekey job/,
    );
    await expect(bad('data,a.rkey,,failed,200,PermanentFailure,"never closed\n')).rejects.toThrow(
      /never closed/,
    );
  });

  it("a failed task whose message says a success outcome counts as failed", async () => {
    const merged = await mergeReportFiles(
      await files({ "r.csv": "data,a.rkey,,failed,200,PermanentFailure,rewrapped: x\n" }),
    );
    expect(merged.outcomes.rewrapped).toBe(0);
    expect(merged.outcomes.failed).toBe(1);
  });

  it("formatCompletionRow writes what readCompletionReport reads", async () => {
    const row = {
      bucket: "data",
      key: "a%2Cb.rkey",
      versionId: "v1",
      taskStatus: "failed",
      errorCode: "PermanentFailure",
      httpStatus: 200,
      resultMessage: 'conflict: "x", changed\nsince [ERR_JOB_CONFLICT]',
    };
    const [file] = await files({ "r.csv": `${formatCompletionRow(row)}\n` });
    const read = [];
    for await (const r of readCompletionReport(file as string)) read.push(r);
    expect(read).toEqual([row]);
    expect(outcomeOfResult(row.resultMessage)).toEqual({
      outcome: "conflict",
      reason: '"x", changed\nsince',
      code: "ERR_JOB_CONFLICT",
    });
  });
});

describe("renderReportHtml", () => {
  it("escapes every text from the reports: no markup of theirs reaches the page", async () => {
    const evil = '<img src=x onerror="alert(1)"></td><script>alert(2)</script>';
    const a = runReport(
      { failed: 1 },
      {
        bySourceKey: { [evil]: { objects: 1, bytes: 1, outcomes: { failed: 1 } } },
        failures: [{ object: `s3://b/${evil}`, outcome: "failed", code: evil, reason: evil }],
        notes: [evil],
      },
    );
    const merged = await mergeReportFiles(await files({ [`a.json`]: JSON.stringify(a) }));
    const html = renderReportHtml(merged);
    expect(html).not.toContain("<img");
    expect(html).not.toContain("<script");
    expect(html).toContain(escapeHtml(evil));
    // Nothing is fetched: no URL in the page, and a policy that forbids any request.
    expect(html).not.toMatch(/https?:\/\//);
    expect(html).toContain("default-src 'none'");
  });
});
