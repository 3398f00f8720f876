import { availableParallelism } from "node:os";
import { defineConfig } from "vitest/config";

// Workspace packages resolve to their TypeScript sources through the "rekey-source"
// export condition, so tests never need a build step.
export default defineConfig({
  resolve: { conditions: ["rekey-source"] },
  ssr: { resolve: { conditions: ["rekey-source"], externalConditions: ["rekey-source"] } },
  test: {
    include: ["packages/*/test/**/*.test.ts", "examples/**/*.test.ts", "test/**/*.test.ts"],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: "forks",
    // Vitest's default leaves a core free, which on a 2-core machine is one file at a time; the
    // files wait mostly on sockets and child processes, so two at a time halve the run.
    maxWorkers: Math.max(2, availableParallelism()),
    // Every test file runs in a fresh process here, so the backend choice (and a LocalStack
    // container, where Docker answers) is made once per run by this setup and shared with all.
    globalSetup: ["./packages/localstack/src/vitest-global-setup.ts"],
    // The AWS SDK prints a notice about future Node versions on every client; it buries test output.
    env: { AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true" },
  },
});
