#!/usr/bin/env node
/**
 * `rekey-emulator` (`pnpm emulator` in this repository): the built-in KMS + S3 emulator as a
 * standalone process, for running the examples, the CLI or another test runner against it.
 * Prints the endpoint and the `export` lines to paste into a shell, then serves until SIGINT or
 * SIGTERM.
 *
 * Options: --host (default 127.0.0.1), --port (default 4566, LocalStack's; 0 picks a free
 * one), --region (default us-east-1), --account-id (default 000000000000), --seed (fault
 * injector seed, default 1), --data-dir (default a temporary directory, deleted on exit),
 * --on-demand-rotation-delay-ms (how long RotateKeyOnDemand runs in the background, default 0);
 * --create-key (a starter key, automatic rotation on), --alias NAME (an alias for it; implies
 * --create-key), --bucket NAME (a bucket). The starter resources are named on stdout as `#`
 * comments after the `export` lines, so the output can still be pasted or `eval`ed.
 */
import { parseArgs } from "node:util";
import { startEmulator, type EmulatorOptions } from "../emulator/server.js";
import { createStarterResources, starterProblem, type StarterRequest } from "./starter-resources.js";

const { values } = parseArgs({
  options: {
    host: { type: "string", default: "127.0.0.1" },
    port: { type: "string", default: "4566" },
    region: { type: "string", default: "us-east-1" },
    "account-id": { type: "string", default: "000000000000" },
    seed: { type: "string" },
    "data-dir": { type: "string" },
    "on-demand-rotation-delay-ms": { type: "string" },
    "create-key": { type: "boolean", default: false },
    alias: { type: "string" },
    bucket: { type: "string" },
    help: { type: "boolean", short: "h", default: false },
  },
});

if (values.help) {
  process.stdout.write(
    "usage: rekey-emulator [--host 127.0.0.1] [--port 4566] [--region us-east-1] [--account-id 000000000000] [--seed 1] [--data-dir DIR] [--on-demand-rotation-delay-ms 0] [--create-key] [--alias NAME] [--bucket NAME]\n",
  );
  process.exit(0);
}

function integer(name: string, text: string): number {
  const value = Number(text);
  if (!Number.isInteger(value) || value < 0) {
    process.stderr.write(`--${name} must be a non-negative integer, got "${text}"\n`);
    process.exit(2);
  }
  return value;
}

const options: EmulatorOptions = {
  host: values.host,
  port: integer("port", values.port),
  region: values.region,
  accountId: values["account-id"],
  ...(values.seed === undefined ? {} : { seed: integer("seed", values.seed) }),
  ...(values["data-dir"] === undefined ? {} : { dataDir: values["data-dir"] }),
  ...(values["on-demand-rotation-delay-ms"] === undefined
    ? {}
    : {
        onDemandRotationDelayMs: integer(
          "on-demand-rotation-delay-ms",
          values["on-demand-rotation-delay-ms"],
        ),
      }),
};

const starter: StarterRequest = {
  createKey: values["create-key"],
  ...(values.alias === undefined ? {} : { alias: values.alias }),
  ...(values.bucket === undefined ? {} : { bucket: values.bucket }),
};
const problem = starterProblem(starter);
if (problem !== undefined) {
  process.stderr.write(`rekey emulator: ${problem}\n`);
  process.exit(2);
}

const emulator = await startEmulator(options).catch((error: unknown) => {
  process.stderr.write(
    `rekey emulator: cannot start: ${error instanceof Error ? error.message : String(error)}\n`,
  );
  process.exit(1);
});

const made = await createStarterResources(emulator.endpoint, emulator.region, starter).catch(
  async (error: unknown) => {
    process.stderr.write(
      `rekey emulator: cannot create the starter resources: ${error instanceof Error ? error.message : String(error)}\n`,
    );
    await emulator.stop();
    process.exit(1);
  },
);

process.stderr.write(`rekey emulator (KMS + S3) listening on ${emulator.endpoint}; Ctrl-C stops it\n`);
process.stdout.write(
  [
    // Everything the AWS CLI and the SDKs need: the CLI reads AWS_DEFAULT_REGION, the SDKs AWS_REGION.
    `export AWS_ENDPOINT_URL=${emulator.endpoint}`,
    `export AWS_REGION=${emulator.region}`,
    `export AWS_DEFAULT_REGION=${emulator.region}`,
    "export AWS_ACCESS_KEY_ID=test",
    "export AWS_SECRET_ACCESS_KEY=test",
    ...(made.keyArn === undefined ? [] : [`# key ${made.keyArn} (automatic rotation on)`]),
    ...(made.alias === undefined ? [] : [`# alias ${made.alias}`]),
    ...(made.bucket === undefined ? [] : [`# bucket s3://${made.bucket}`]),
    // The emulator implements ListKeyRotations and KeyMaterialId: tell the test adapter so.
    "export REKEY_TEST_CAPABILITIES=full",
    "",
  ].join("\n"),
);

let stopping = false;
const shutdown = (signal: string): void => {
  if (stopping) return;
  stopping = true;
  process.stderr.write(`rekey emulator: ${signal}, stopping\n`);
  emulator.stop().then(
    () => process.exit(0),
    (error: unknown) => {
      process.stderr.write(`rekey emulator: stop failed: ${String(error)}\n`);
      process.exit(1);
    },
  );
};
process.on("SIGINT", () => shutdown("SIGINT"));
process.on("SIGTERM", () => shutdown("SIGTERM"));
