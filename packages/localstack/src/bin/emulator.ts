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
 * --on-demand-rotation-delay-ms (how long RotateKeyOnDemand runs in the background, default 0).
 */
import { parseArgs } from "node:util";
import { startEmulator, type EmulatorOptions } from "../emulator/server.js";

const { values } = parseArgs({
  options: {
    host: { type: "string", default: "127.0.0.1" },
    port: { type: "string", default: "4566" },
    region: { type: "string", default: "us-east-1" },
    "account-id": { type: "string", default: "000000000000" },
    seed: { type: "string" },
    "data-dir": { type: "string" },
    "on-demand-rotation-delay-ms": { type: "string" },
    help: { type: "boolean", short: "h", default: false },
  },
});

if (values.help) {
  process.stdout.write(
    "usage: rekey-emulator [--host 127.0.0.1] [--port 4566] [--region us-east-1] [--account-id 000000000000] [--seed 1] [--data-dir DIR] [--on-demand-rotation-delay-ms 0]\n",
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

const emulator = await startEmulator(options).catch((error: unknown) => {
  process.stderr.write(
    `rekey emulator: cannot start: ${error instanceof Error ? error.message : String(error)}\n`,
  );
  process.exit(1);
});

process.stderr.write(`rekey emulator (KMS + S3) listening on ${emulator.endpoint}; Ctrl-C stops it\n`);
process.stdout.write(
  [
    `export AWS_ENDPOINT_URL=${emulator.endpoint}`,
    `export AWS_REGION=${emulator.region}`,
    "export AWS_ACCESS_KEY_ID=test",
    "export AWS_SECRET_ACCESS_KEY=test",
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
