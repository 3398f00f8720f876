import { describe, expect, it } from "vitest";
import { PACKAGE } from "@rekey/core";

describe("workspace wiring", () => {
  it("resolves @rekey/core to its sources", () => {
    expect(PACKAGE).toBe("@rekey/core");
  });
});
