/** Text rendering of `rekey inspect`. */
import { isAlias } from "@rekey/core";
import type { SourceInspection } from "../../file-tools/inspect-source.js";

/**
 * The header of a message for people.
 *
 * @example
 * ```ts
 * writeLines(ctx.stdout, renderInspection(await inspectSource(file, options)));
 * ```
 */
export function renderInspection(i: SourceInspection): string[] {
  const ctx = Object.entries(i.encryptionContext);
  const out = [
    `source:             ${i.source}${i.size === undefined ? "" : ` (${i.size} bytes)`}`,
    `format:             rekey v${i.formatVersion}, ${i.algorithm}`,
    `message id:         ${i.messageId}`,
    `frame size:         ${i.frameLength} bytes`,
    `encryption context: ${ctx.length === 0 ? "(none)" : ctx.map(([k, v]) => `${k}=${v}`).join(", ")}`,
    `header:             ${i.headerLength} bytes; body starts at byte ${i.bodyOffset}`,
    `wrapped data keys:  ${i.entries.length}`,
  ];
  i.entries.forEach((e, n) => {
    if (e.type === "aws-kms") {
      out.push(`  ${n + 1}. aws-kms  key ${e.keyArn ?? "?"}`);
      if (e.requestedKeyId && e.requestedKeyId !== e.keyArn)
        out.push(`            ${isAlias(e.requestedKeyId) ? "alias used" : "requested"} ${e.requestedKeyId}`);
      out.push(`            material ${e.keyMaterialId ?? "(not recorded)"}`);
    } else if (e.keyName !== undefined) out.push(`  ${n + 1}. ${e.type}  key name ${e.keyName}`);
    else out.push(`  ${n + 1}. ${e.type}  (${e.wrappedKeyBytes} bytes)`);
  });
  return out;
}
