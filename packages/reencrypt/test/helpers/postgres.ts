/**
 * A throwaway PostgreSQL cluster for tests: `initdb` into a temporary directory, `pg_ctl start`
 * listening only on a Unix socket in that directory (no TCP port to collide with), trust
 * authentication for the cluster's own user. As root (which `initdb` refuses) the cluster is
 * made and run by the `postgres` system user that Debian's package creates. `stop()` stops the
 * server and removes the directory.
 */
import { execFile } from "node:child_process";
import { existsSync, readdirSync } from "node:fs";
import { chown, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";

const run = promisify(execFile);

/** A running cluster. */
export interface TestPostgres {
  /** A connection URL to its `postgres` database over the Unix socket. */
  readonly url: string;
  /** Stops the server and removes its directory. */
  stop(): Promise<void>;
}

/**
 * The directory of the PostgreSQL server binaries (`initdb`, `pg_ctl`), or `undefined` when
 * none is installed: on `PATH`, or Debian's `/usr/lib/postgresql/<version>/bin`.
 */
export function postgresBinDir(): string | undefined {
  for (const dir of (process.env.PATH ?? "").split(":"))
    if (dir && existsSync(join(dir, "initdb")) && existsSync(join(dir, "pg_ctl"))) return dir;
  const debian = "/usr/lib/postgresql";
  if (!existsSync(debian)) return undefined;
  const versions = readdirSync(debian).sort((a, b) => Number(b) - Number(a));
  for (const v of versions) if (existsSync(join(debian, v, "bin", "initdb"))) return join(debian, v, "bin");
  return undefined;
}

/** Starts a cluster (see the module comment). */
export async function startPostgres(bin: string): Promise<TestPostgres> {
  const dir = await mkdtemp(join(tmpdir(), "rekey-pg-"));
  const data = join(dir, "data");
  const asRoot = process.getuid?.() === 0;
  // As root: the cluster belongs to the `postgres` user and runs as it.
  const exec = async (cmd: string, args: string[]): Promise<void> => {
    if (asRoot) await run("runuser", ["-u", "postgres", "--", join(bin, cmd), ...args]);
    else await run(join(bin, cmd), args);
  };
  if (asRoot) {
    const { stdout } = await run("id", ["-u", "postgres"]);
    const { stdout: gid } = await run("id", ["-g", "postgres"]);
    await chown(dir, Number(stdout.trim()), Number(gid.trim()));
  }
  await exec("initdb", ["-D", data, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync"]);
  await exec("pg_ctl", [
    "start",
    "-D",
    data,
    "-w",
    "-l",
    join(dir, "server.log"),
    "-o",
    `-c listen_addresses='' -c unix_socket_directories='${dir}' -c fsync=off`,
  ]);
  return {
    url: `postgres://postgres@/postgres?host=${encodeURIComponent(dir)}`,
    stop: async () => {
      await exec("pg_ctl", ["stop", "-D", data, "-m", "immediate", "-w"]).catch(() => undefined);
      await rm(dir, { recursive: true, force: true });
    },
  };
}
