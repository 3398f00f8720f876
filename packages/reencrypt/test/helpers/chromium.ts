/**
 * Headless Chromium (Debian's `chromium` package, installed by `.ci/run`) for tests of pages:
 * a screenshot and the DOM after parsing, each in a fresh profile, with nothing fetched from
 * the network by the browser itself.
 */
import { execFile } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";

const BINARY = process.env["REKEY_CHROMIUM"] ?? "chromium";

async function chromium(args: readonly string[]): Promise<string> {
  const profile = await mkdtemp(join(tmpdir(), "rekey-chromium-"));
  try {
    return await new Promise<string>((resolve, reject) => {
      execFile(
        BINARY,
        [
          "--headless",
          "--no-sandbox",
          "--disable-gpu",
          "--disable-background-networking",
          "--disable-component-update",
          "--no-first-run",
          `--user-data-dir=${profile}`,
          ...args,
        ],
        { maxBuffer: 64 * 1024 * 1024, timeout: 120_000 },
        (error, stdout, stderr) => {
          if (error)
            reject(
              new Error(
                `${BINARY} failed (${error.message}); install it with: apt-get install -y chromium\n${stderr}`,
              ),
            );
          else resolve(stdout);
        },
      );
    });
  } finally {
    await rm(profile, { recursive: true, force: true });
  }
}

/** The DOM of a page as Chromium serializes it after parsing. */
export function dumpDom(file: string): Promise<string> {
  return chromium(["--dump-dom", pathToFileURL(file).href]);
}

/** A PNG screenshot of a page at the given window size. */
export async function screenshot(file: string, out: string, width: number, height: number): Promise<Buffer> {
  await chromium([`--screenshot=${out}`, `--window-size=${width},${height}`, pathToFileURL(file).href]);
  return readFile(out);
}

/** Width and height from a PNG's IHDR chunk; throws when the bytes are not a PNG. */
export function pngSize(png: Buffer): { width: number; height: number } {
  const signature = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  if (!png.subarray(0, 8).equals(signature) || png.toString("latin1", 12, 16) !== "IHDR")
    throw new Error("not a PNG");
  return { width: png.readUInt32BE(16), height: png.readUInt32BE(20) };
}
