/**
 * Bundles the Batch Operations Lambda function into a zip: one ES module `index.mjs` (the
 * handler is `index.handler`) with the AWS SDK clients and `@rekey/core` inside, so the
 * function does not depend on the SDK version of the Lambda runtime. The zip is deterministic
 * (fixed times, one file), so the same sources give the same bytes and the same S3 key can be
 * reused.
 *
 *   pnpm bundle:lambda [OUT_DIR]   # default deploy/batch-operations/dist
 */
import { crc32, deflateRawSync } from "node:zlib";
import { mkdir, stat, writeFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";

const HERE = fileURLToPath(new URL(".", import.meta.url));
const ENTRY = resolve(HERE, "../../packages/reencrypt/src/batch-ops/lambda-main.ts");

/** One file of a zip. */
export interface ZipEntry {
  readonly name: string;
  readonly data: Uint8Array;
}

/**
 * A zip archive (deflate, no extra fields, DOS time 1980-01-01 00:00) of the entries.
 *
 * @example
 * ```ts
 * const zip = zipOf([{ name: "index.mjs", data: code }]);
 * ```
 */
export function zipOf(entries: readonly ZipEntry[]): Buffer {
  const locals: Buffer[] = [];
  const centrals: Buffer[] = [];
  let offset = 0;
  const DOS_DATE = (0 << 9) | (1 << 5) | 1; // 1980-01-01
  for (const e of entries) {
    const name = Buffer.from(e.name, "utf8");
    const body = deflateRawSync(e.data, { level: 9 });
    const crc = crc32(e.data);
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4); // version needed
    local.writeUInt16LE(0x0800, 6); // UTF-8 names
    local.writeUInt16LE(8, 8); // deflate
    local.writeUInt16LE(0, 10); // time
    local.writeUInt16LE(DOS_DATE, 12);
    local.writeUInt32LE(crc, 14);
    local.writeUInt32LE(body.length, 18);
    local.writeUInt32LE(e.data.length, 22);
    local.writeUInt16LE(name.length, 26);
    local.writeUInt16LE(0, 28);
    locals.push(local, name, body);
    const central = Buffer.alloc(46);
    central.writeUInt32LE(0x02014b50, 0);
    central.writeUInt16LE((3 << 8) | 20, 4); // made by Unix, 2.0
    central.writeUInt16LE(20, 6);
    central.writeUInt16LE(0x0800, 8);
    central.writeUInt16LE(8, 10);
    central.writeUInt16LE(0, 12);
    central.writeUInt16LE(DOS_DATE, 14);
    central.writeUInt32LE(crc, 16);
    central.writeUInt32LE(body.length, 20);
    central.writeUInt32LE(e.data.length, 24);
    central.writeUInt16LE(name.length, 28);
    central.writeUInt32LE((0o100644 << 16) >>> 0, 38); // -rw-r--r--
    central.writeUInt32LE(offset, 42);
    centrals.push(central, name);
    offset += local.length + name.length + body.length;
  }
  const directory = Buffer.concat(centrals);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(entries.length, 8);
  end.writeUInt16LE(entries.length, 10);
  end.writeUInt32LE(directory.length, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...locals, directory, end]);
}

/** What {@link bundleLambda} wrote. */
export interface LambdaBundle {
  readonly zipPath: string;
  readonly zipBytes: number;
  /** Size of `index.mjs` before compression. */
  readonly codeBytes: number;
}

/**
 * Bundles the handler and writes `rekey-batch-operations.zip` to `outDir`.
 *
 * @example
 * ```ts
 * const { zipPath, zipBytes } = await bundleLambda("deploy/batch-operations/dist");
 * ```
 */
export async function bundleLambda(outDir: string): Promise<LambdaBundle> {
  const result = await build({
    entryPoints: [ENTRY],
    bundle: true,
    platform: "node",
    target: "node20",
    format: "esm",
    conditions: ["rekey-source"],
    minify: true,
    legalComments: "eof",
    write: false,
    outfile: "index.mjs",
    // CommonJS dependencies inside an ES module bundle still call `require` for Node built-ins.
    banner: {
      js: 'import { createRequire as __rekeyRequire } from "node:module"; const require = __rekeyRequire(import.meta.url);',
    },
    logLevel: "warning",
  });
  const code = result.outputFiles[0];
  if (!code) throw new Error("esbuild wrote no output");
  await mkdir(outDir, { recursive: true });
  const zipPath = join(outDir, "rekey-batch-operations.zip");
  await writeFile(zipPath, zipOf([{ name: "index.mjs", data: code.contents }]));
  return { zipPath, zipBytes: (await stat(zipPath)).size, codeBytes: code.contents.length };
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const out = resolve(process.argv[2] ?? join(HERE, "dist"));
  const b = await bundleLambda(out);
  process.stdout.write(
    `${b.zipPath}: ${(b.zipBytes / 1024).toFixed(0)} KiB zipped (index.mjs ${(b.codeBytes / 1024).toFixed(0)} KiB)\n`,
  );
}
