import { describe, expect, it } from "vitest";
import { type ResolvedTarget } from "../src/index.js";
import { classifyPrefix, keysToLookUp } from "../src/planning/classify-prefix.js";
import { FakeKms } from "@rekey/localstack/fake-kms";
import { prefixOf, sealWith } from "./helpers/messages.js";

function materialsOf(kms: FakeKms, ...arns: string[]): Map<string, string | undefined> {
  return new Map(arns.map((a) => [a, kms.currentMaterialId(a)]));
}

const HOME = { partition: "aws", region: "us-east-1" };
const current: ResolvedTarget = { kind: "current", scope: HOME };
function keyTarget(kms: FakeKms, arn: string, alias?: string): ResolvedTarget {
  return {
    kind: alias ? "alias" : "key",
    keyArn: arn,
    ...(alias ? { aliasName: alias } : {}),
    currentKeyMaterialId: kms.currentMaterialId(arn),
    requestedKeyId: alias ?? arn,
  };
}

describe("classifyPrefix", () => {
  it("an entry on its key's current material is current; no KMS call", async () => {
    const kms = new FakeKms();
    const a = kms.addKey().arn;
    const prefix = prefixOf(await sealWith(kms, [a]));
    const c = classifyPrefix({ prefix, target: current, materials: materialsOf(kms, a) });
    expect(c.class).toBe("current");
    expect(c.kmsCalls).toBe(0);
    expect(c.sourceKeyArns).toEqual([a]);
  });

  it("after a rotation the entry is rewrapped onto its own key, keeping the requested id", async () => {
    const kms = new FakeKms();
    const a = kms.addKey({ alias: "alias/app" }).arn;
    const prefix = prefixOf(await sealWith(kms, ["alias/app"]));
    const old = kms.currentMaterialId(a);
    kms.rotate(a);
    const c = classifyPrefix({ prefix, target: current, materials: materialsOf(kms, a) });
    expect(c.class).toBe("rewrap");
    expect(c.kmsCalls).toBe(1);
    expect(c.actions).toEqual([{ kind: "rewrap", destinationKeyId: a, requestedKeyId: "alias/app" }]);
    expect(c.sourceMaterialIds).toEqual([old]);
  });

  it("without material ids an entry under the target cannot be proved current: rewrap, flagged", async () => {
    const kms = new FakeKms();
    kms.omitMaterialIds = true;
    const a = kms.addKey().arn;
    const prefix = prefixOf(await sealWith(kms, [a]));
    const c = classifyPrefix({ prefix, target: current, materials: materialsOf(kms, a) });
    expect(c.class).toBe("rewrap");
    expect(c.materialUnproven).toBe(true);
    expect(c.reason).toMatch(/cannot prove/);
  });

  it("alias target: an entry under the old key moves to the alias's key and records the alias", async () => {
    const kms = new FakeKms();
    const oldKey = kms.addKey().arn;
    const newKey = kms.addKey({ alias: "alias/app" }).arn;
    const prefix = prefixOf(await sealWith(kms, [oldKey]));
    const c = classifyPrefix({
      prefix,
      target: keyTarget(kms, newKey, "alias/app"),
      materials: materialsOf(kms, oldKey, newKey),
    });
    expect(c.class).toBe("rewrap");
    expect(c.actions).toEqual([{ kind: "rewrap", destinationKeyId: newKey, requestedKeyId: "alias/app" }]);
  });

  it("key target with entries under the target and a key in another Region: the copy is kept, the object is current", async () => {
    const kms = new FakeKms();
    const dr = kms.addKey({ region: "eu-west-1" }).arn;
    const t = kms.addKey().arn;
    const prefix = prefixOf(await sealWith(kms, [t, dr]));
    const c = classifyPrefix({ prefix, target: keyTarget(kms, t), materials: materialsOf(kms, t) });
    expect(c.class).toBe("current");
    expect(c.actions).toEqual([{ kind: "keep" }, { kind: "keep" }]);
    expect(c.keptEntries).toBe(1);
    expect(c.kmsCalls).toBe(0);
  });

  it("key target with entries under the target and another key of its Region: the other is dropped, no KMS call", async () => {
    const kms = new FakeKms();
    const a = kms.addKey().arn;
    const t = kms.addKey().arn;
    const prefix = prefixOf(await sealWith(kms, [t, a]));
    const c = classifyPrefix({ prefix, target: keyTarget(kms, t), materials: materialsOf(kms, a, t) });
    expect(c.class).toBe("rewrap");
    expect(c.actions).toEqual([{ kind: "keep" }, { kind: "drop" }]);
    expect(c.keptEntries).toBe(0);
    expect(c.kmsCalls).toBe(0);
  });

  it("a two-Region message under an alias target: the Region's entries (any account) become one under the target, the other Region's is kept", async () => {
    const kms = new FakeKms();
    const a = kms.addKey().arn;
    const dr = kms.addKey({ region: "eu-west-1" }).arn;
    const other = kms.addKey({ account: "444455556666" }).arn;
    const t = kms.addKey({ alias: "alias/app" }).arn;
    const prefix = prefixOf(await sealWith(kms, [a, dr, other]));
    const target = keyTarget(kms, t, "alias/app");
    expect(keysToLookUp(prefix, target).sort()).toEqual([a, other, t].sort());
    const c = classifyPrefix({ prefix, target, materials: materialsOf(kms, a, other, t) });
    expect(c.class).toBe("rewrap");
    expect(c.actions).toEqual([
      { kind: "rewrap", destinationKeyId: t, requestedKeyId: "alias/app" },
      { kind: "keep" },
      { kind: "drop" },
    ]);
    expect(c.keptEntries).toBe(1);
    expect(c.kmsCalls).toBe(1);
    expect(c.sourceKeyArns).toEqual([a, dr, other]);
  });

  it("a target key in another account of the Region (a central key account) takes the caller's entries", async () => {
    const kms = new FakeKms();
    const a = kms.addKey().arn;
    const central = kms.addKey({ account: "444455556666" }).arn;
    const prefix = prefixOf(await sealWith(kms, [a]));
    const target = keyTarget(kms, central, central);
    const c = classifyPrefix({ prefix, target, materials: materialsOf(kms, a, central) });
    expect(c.class).toBe("rewrap");
    expect(c.actions).toEqual([{ kind: "rewrap", destinationKeyId: central, requestedKeyId: central }]);
    expect(c.keptEntries).toBe(0);
  });

  it("a two-Region message under target current: the local entry is rewrapped, the other is kept and never looked up", async () => {
    const kms = new FakeKms();
    const a = kms.addKey().arn;
    const dr = kms.addKey({ region: "eu-west-1" }).arn;
    const prefix = prefixOf(await sealWith(kms, [a, dr]));
    kms.rotate(a);
    kms.rotate(dr);
    expect(keysToLookUp(prefix, current)).toEqual([a]);
    // The other Region's material is not known (never looked up): it is not "unproven" either.
    const c = classifyPrefix({ prefix, target: current, materials: materialsOf(kms, a) });
    expect(c.class).toBe("rewrap");
    expect(c.actions).toEqual([{ kind: "rewrap", destinationKeyId: a, requestedKeyId: a }, { kind: "keep" }]);
    expect(c.materialUnproven).toBe(false);
    expect(c.keptEntries).toBe(1);
    expect(c.kmsCalls).toBe(1);
    // Only entries elsewhere: nothing this job can move.
    const away = prefixOf(await sealWith(kms, [dr]));
    const skipped = classifyPrefix({ prefix: away, target: current, materials: new Map() });
    expect(skipped.class).toBe("skipped");
    expect(skipped.reason).toMatch(/no KMS entry under a key in us-east-1/);
    // Without a known scope every entry is considered, as before.
    const open = classifyPrefix({ prefix, target: { kind: "current" }, materials: materialsOf(kms, a, dr) });
    expect(open.actions.map((x) => x.kind)).toEqual(["rewrap", "rewrap"]);
  });

  it("a full re-encrypt of a message with a copy in another Region is skipped: the copy could not be kept", async () => {
    const kms = new FakeKms();
    const a = kms.addKey().arn;
    const dr = kms.addKey({ region: "eu-west-1" }).arn;
    const prefix = prefixOf(await sealWith(kms, [a, dr]));
    const c = classifyPrefix({
      prefix,
      target: current,
      materials: materialsOf(kms, a),
      mode: "reencrypt",
      includeCurrent: true,
    });
    expect(c.class).toBe("skipped");
    expect(c.reason).toMatch(/cannot keep the 1 entry under keys outside us-east-1/);
  });

  it("key target with two old entries: one ReEncrypt, the other dropped", async () => {
    const kms = new FakeKms();
    const a = kms.addKey().arn;
    const b = kms.addKey().arn;
    const t = kms.addKey().arn;
    const prefix = prefixOf(await sealWith(kms, [a, b]));
    const c = classifyPrefix({ prefix, target: keyTarget(kms, t), materials: materialsOf(kms, a, b, t) });
    expect(c.actions).toEqual([{ kind: "rewrap", destinationKeyId: t, requestedKeyId: t }, { kind: "drop" }]);
    expect(c.kmsCalls).toBe(1);
  });

  it("--from-key keeps entries under other keys and skips objects with none", async () => {
    const kms = new FakeKms();
    const a = kms.addKey().arn;
    const dr = kms.addKey().arn;
    const t = kms.addKey().arn;
    const prefix = prefixOf(await sealWith(kms, [a, dr]));
    const materials = materialsOf(kms, a, dr, t);
    const moved = classifyPrefix({
      prefix,
      target: keyTarget(kms, t),
      materials,
      filters: { fromKeys: new Set([a]) },
    });
    expect(moved.actions).toEqual([
      { kind: "rewrap", destinationKeyId: t, requestedKeyId: t },
      { kind: "keep" },
    ]);
    const other = prefixOf(await sealWith(kms, [dr]));
    const skipped = classifyPrefix({
      prefix: other,
      target: keyTarget(kms, t),
      materials,
      filters: { fromKeys: new Set([a]) },
    });
    expect(skipped.class).toBe("skipped");
  });

  it("--older-than-material skips entries on their own key's current material", async () => {
    const kms = new FakeKms();
    const a = kms.addKey().arn;
    const t = kms.addKey().arn;
    const fresh = prefixOf(await sealWith(kms, [a]));
    const target = keyTarget(kms, t);
    const c = classifyPrefix({
      prefix: fresh,
      target,
      materials: materialsOf(kms, a, t),
      filters: { olderThanMaterial: true },
    });
    expect(c.class).toBe("skipped");
    kms.rotate(a);
    const again = classifyPrefix({
      prefix: fresh,
      target,
      materials: materialsOf(kms, a, t),
      filters: { olderThanMaterial: true },
    });
    expect(again.class).toBe("rewrap");
  });

  it("reencrypt mode: on-target objects stay current unless includeCurrent", async () => {
    const kms = new FakeKms();
    const a = kms.addKey().arn;
    const prefix = prefixOf(await sealWith(kms, [a]));
    const materials = materialsOf(kms, a);
    expect(classifyPrefix({ prefix, target: current, materials, mode: "reencrypt" }).class).toBe("current");
    const forced = classifyPrefix({
      prefix,
      target: current,
      materials,
      mode: "reencrypt",
      includeCurrent: true,
    });
    expect(forced.class).toBe("reencrypt");
    expect(forced.recipients).toEqual([{ keyArn: a, requestedKeyId: a }]);
    expect(forced.kmsCalls).toBe(2);
  });

  it("raw-AES-only messages: reencrypt for a key target, skipped for current", async () => {
    const kms = new FakeKms();
    const t = kms.addKey().arn;
    const prefix = prefixOf(await sealWith(kms, [], undefined, { rawAes: true }));
    const materials = materialsOf(kms, t);
    expect(classifyPrefix({ prefix, target: keyTarget(kms, t), materials }).class).toBe("reencrypt");
    expect(classifyPrefix({ prefix, target: current, materials }).class).toBe("skipped");
  });

  it("a KMS + raw-AES message keeps the raw-AES entry on rewrap", async () => {
    const kms = new FakeKms();
    const a = kms.addKey().arn;
    const prefix = prefixOf(await sealWith(kms, [a], undefined, { rawAes: true }));
    kms.rotate(a);
    const c = classifyPrefix({ prefix, target: current, materials: materialsOf(kms, a) });
    expect(c.actions).toEqual([{ kind: "rewrap", destinationKeyId: a, requestedKeyId: a }, { kind: "keep" }]);
  });

  it("keysToLookUp names the object's keys and the target", async () => {
    const kms = new FakeKms();
    const a = kms.addKey().arn;
    const t = kms.addKey().arn;
    const prefix = prefixOf(await sealWith(kms, [a]));
    expect(keysToLookUp(prefix, keyTarget(kms, t)).sort()).toEqual([a, t].sort());
    expect(keysToLookUp(prefix, current)).toEqual([a]);
  });
});
