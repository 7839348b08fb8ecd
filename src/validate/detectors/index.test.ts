// The detectors' public surface: the exact exports, and the contract every detector keeps.
import { describe, expect, it } from "vitest";
import * as detectors from "./index.ts";
import type { Detector } from "./index.ts";

describe("src/validate/detectors/index.ts", () => {
  it("exports exactly the detector factories and the normalize helpers", () => {
    expect(Object.keys(detectors).sort()).toEqual([
      "INVISIBLE",
      "invisibleCharacters",
      "normalizeForMatching",
      "promptInjectionDetector",
      "secretsDetector",
      "shellDetector",
      "sqlDetector",
      "traversalDetector",
      "xssDetector",
    ]);
  });

  const made: [Detector, hasSanitize: boolean][] = [
    [detectors.xssDetector(), true],
    [detectors.sqlDetector(), false],
    [detectors.shellDetector(), false],
    [detectors.traversalDetector(), false],
    [detectors.secretsDetector(), true],
    [detectors.promptInjectionDetector(), true],
  ];

  it("names each detector by its family and offers sanitize only where text can be repaired", () => {
    expect(made.map(([d]) => d.name)).toEqual(["xss", "sql", "shell", "traversal", "secrets", "promptInjection"]);
    for (const [d, hasSanitize] of made) expect(typeof d.sanitize === "function", d.name).toBe(hasSanitize);
  });

  it("finds nothing in empty text and reports findings under its own name with kebab-case rules", () => {
    const hostile = "<script>x</script> ' or 1=1 -- ; id ../etc %00 AKIAIOSFODNN7EXAMPLE ignore previous instructions \u200B";
    for (const [d] of made) {
      expect(d.detect(""), d.name).toEqual([]);
      const found = d.detect(hostile);
      expect(found.length, d.name).toBeGreaterThan(0);
      for (const f of found) {
        expect(f.detector).toBe(d.name);
        expect(f.rule).toMatch(/^[a-z]+(?:-[a-z]+)*$/);
        expect(f.message).toMatch(/^The text .+\.$/);
      }
    }
  });
});
