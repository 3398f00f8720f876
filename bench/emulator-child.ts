/**
 * The child of `emulator-process.ts`: the built-in emulator on a free port. Prints
 * `{"endpoint": …}`, then applies each JSON line of stdin (`{"kmsLatencyMs": 10}` or
 * `{"clear": true}`) to its fault injector and answers `ok`; stops when stdin ends.
 */
import { createInterface } from "node:readline";
import { startEmulator } from "@rekey/localstack";

const emulator = await startEmulator({ port: 0 });
process.stdout.write(`${JSON.stringify({ endpoint: emulator.endpoint })}\n`);
for await (const line of createInterface({ input: process.stdin })) {
  const command = JSON.parse(line) as { kmsLatencyMs?: number; clear?: boolean };
  if (command.clear) emulator.faults.clear();
  else if (command.kmsLatencyMs !== undefined)
    emulator.faults.inject("kms:*", { latencyMs: command.kmsLatencyMs });
  else {
    process.stdout.write(`unknown command ${line}\n`);
    continue;
  }
  process.stdout.write("ok\n");
}
await emulator.stop();
