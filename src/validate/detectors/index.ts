// Input detectors of the validate stage: pure, synchronous recognisers of attack payloads in one string argument each.
import type { DetectorName, Finding } from "./finding.ts";

export type { DetectorName, Finding } from "./finding.ts";
export { INVISIBLE, invisibleCharacters, normalizeForMatching } from "./normalize.ts";
export { xssDetector } from "./xss.ts";
export { shellDetector, sqlDetector } from "./injection.ts";
export { traversalDetector } from "./traversal.ts";
export type { TraversalOptions } from "./traversal.ts";
export { secretsDetector } from "./secrets.ts";
export { promptInjectionDetector } from "./prompt.ts";

/**
 * One family of attack patterns. Detectors hold no state between calls and never throw: every
 * pattern is linear-time, so a hostile argument costs time proportional to its length.
 */
export interface Detector {
  readonly name: DetectorName;
  /** Findings in one string value of a call's arguments (the detector normalizes with normalizeForMatching itself). */
  detect(text: string): Finding[];
  /** Present only when the detector can repair text instead of refusing it; returns the repaired string. */
  sanitize?(text: string): string;
}
