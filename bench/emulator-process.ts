/**
 * The built-in emulator in a process of its own, as AWS is never in the client's: the job
 * benchmark measures the client's CPU alone, and the client and the emulator each have a core
 * instead of sharing one event loop. The child (`emulator-child.ts`) prints its endpoint, then
 * takes fault commands on stdin, one JSON line each, answering each with a line once applied.
 */
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import type { LocalAws } from "@rekey/localstack";

type S3Client = LocalAws["s3"];
type KMSClient = LocalAws["kms"];
type ClientClass<C> = new (config: object) => C;

/** A fault command the child applies: KMS latency, or no faults. */
export type FaultCommand = { readonly kmsLatencyMs: number } | { readonly clear: true };

/** An emulator in a child process and clients of it. */
export interface EmulatorProcess {
  readonly s3: S3Client;
  readonly kms: KMSClient;
  createS3Client(config?: object): S3Client;
  createKmsClient(config?: object): KMSClient;
  /** Applies a fault command in the child; resolves once it is in force. */
  faults(command: FaultCommand): Promise<void>;
  /** CPU seconds (user + system) the child has used so far; `undefined` where /proc is not there. */
  cpuSeconds(): number | undefined;
  stop(): Promise<void>;
}

/**
 * Starts the child with this process's Node flags (so it loads the packages as the benchmark
 * does: the built ones) and waits for its endpoint.
 */
export async function startEmulatorProcess(classes: {
  S3Client: ClientClass<S3Client>;
  KMSClient: ClientClass<KMSClient>;
}): Promise<EmulatorProcess> {
  const child = spawn(
    process.execPath,
    [...process.execArgv, fileURLToPath(new URL("./emulator-child.ts", import.meta.url))],
    { stdio: ["pipe", "pipe", "inherit"] },
  );
  const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
  const next = async (): Promise<string> => {
    const r = await lines.next();
    if (r.done) throw new Error("the emulator process ended");
    return r.value;
  };
  const { endpoint } = JSON.parse(await next()) as { endpoint: string };
  const common = {
    endpoint,
    region: "us-east-1",
    credentials: { accessKeyId: "test", secretAccessKey: "test" },
  };
  const createS3Client = (config: object = {}): S3Client =>
    new classes.S3Client({ ...common, forcePathStyle: true, ...config });
  const createKmsClient = (config: object = {}): KMSClient => new classes.KMSClient({ ...common, ...config });
  let queue: Promise<unknown> = Promise.resolve();
  return {
    s3: createS3Client(),
    kms: createKmsClient(),
    createS3Client,
    createKmsClient,
    cpuSeconds: () => (child.pid === undefined ? undefined : processCpuSeconds(child.pid)),
    faults(command) {
      const done = queue.then(async () => {
        child.stdin.write(`${JSON.stringify(command)}\n`);
        const answer = await next();
        if (answer !== "ok") throw new Error(`the emulator process answered ${answer}`);
      });
      queue = done.catch(() => undefined);
      return done;
    },
    async stop() {
      const exited = new Promise((resolve) => child.once("exit", resolve));
      child.stdin.end();
      await exited;
    },
  };
}

/** CPU seconds (user + system) of process `pid` so far, from /proc (Linux); `undefined` elsewhere. */
function processCpuSeconds(pid: number): number | undefined {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  } catch {
    return undefined;
  }
  // The fields after the command name (which may hold spaces), from the state (field 3) on:
  // utime and stime are fields 14 and 15, in clock ticks (USER_HZ, 100 on Linux).
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(fields[11]) + Number(fields[12])) / 100;
}
