// The secrets detector: each credential shape, its redaction, and messages that never repeat the secret.
import { describe, expect, it } from "vitest";
import { secretsDetector } from "./secrets.ts";

const secrets = secretsDetector();
const rules = (text: string): string[] => secrets.detect(text).map((f) => f.rule);
const sanitize = (text: string): string => {
  if (secrets.sanitize === undefined) throw new Error("secretsDetector has no sanitize");
  return secrets.sanitize(text);
};

// Synthetic values of the right shapes, built from repeats so no real credential is committed.
const b64 = (n: number): string => "aB3dE6gH9kLm".repeat(Math.ceil(n / 12)).slice(0, n);
const PEM = `-----BEGIN RSA PRIVATE KEY-----\n${b64(64)}\n${b64(64)}\n-----END RSA PRIVATE KEY-----`;
const SAMPLES: [rule: string, secret: string][] = [
  ["private-key", PEM],
  ["private-key", `-----BEGIN OPENSSH PRIVATE KEY-----\n${b64(70)}`],
  ["aws-access-key", "AKIAIOSFODNN7EXAMPLE"],
  ["aws-access-key", `ASIA${"Q2".repeat(8)}`],
  ["github-token", `ghp_${b64(36)}`],
  ["github-token", `gho_${b64(36)}`],
  ["github-token", `ghs_${b64(36)}`],
  ["github-token", `ghu_${b64(36)}`],
  ["github-token", `github_pat_${b64(22)}_${b64(59)}`],
  ["slack-token", `xoxb-${"1234567890"}-${b64(24)}`],
  ["stripe-key", `sk_live_${b64(24)}`],
  ["stripe-key", `rk_live_${b64(24)}`],
  ["google-api-key", `AIza${b64(35)}`],
  ["llm-api-key", `sk-${b64(48)}`],
  ["llm-api-key", `sk-proj-${b64(40)}`],
  ["llm-api-key", `sk-ant-api03-${b64(80)}`],
  ["jwt", `eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.${b64(43)}`],
  ["bastion-api-key", `mcpb_${"0123456789abcdef"}_${b64(43)}`],
  ["password-assignment", "password=hunter2!"],
  ["password-assignment", "DB_PASSWORD=correct-horse-battery"],
  ["password-assignment", "aws_secret_access_key = wJalrXUtnFEMI/K7MDENG"],
  ["password-assignment", '{"client_secret": "s3cr3t-value-123"}'],
  ["password-assignment", "api_key: 9f8e7d6c5b4a"],
];

describe("secretsDetector: shapes", () => {
  for (const [rule, secret] of SAMPLES) {
    it(`${rule}: found alone and inside text`, () => {
      expect(rules(secret)).toContain(rule);
      expect(rules(`Here it is:\n${secret}\n(do not share)`)).toContain(rule);
    });
  }

  it("sees secrets in full-width letters and split by zero-width characters", () => {
    expect(rules("ＡＫＩＡＩＯＳＦＯＤＮＮ７ＥＸＡＭＰＬＥ")).toContain("aws-access-key");
    expect(rules(`ghp_${b64(10)}\u200B${b64(26)}`)).toContain("github-token");
  });

  const benign = [
    "The password must be at least 12 characters long.",
    "The secret: be kind.",
    "max_tokens=4096",
    "password=********",
    "password=${DB_PASSWORD}",
    'api_key: "<your key here>"',
    "secret=true",
    "password=[REDACTED]",
    "The sk-learn package, the AKIA prefix and ghp_ tokens are documented.",
    "sk-the-quick-brown-fox-jumps-over",
    "PWD=/home/alice",
    "secretary=Jane",
    "-----BEGIN CERTIFICATE-----",
    "-----BEGIN PUBLIC KEY-----",
  ];
  for (const text of benign) it(`leaves alone: ${JSON.stringify(text)}`, () => expect(secrets.detect(text)).toEqual([]));
});

describe("secretsDetector: messages", () => {
  it("never contain the secret or any 6-character piece of it", () => {
    for (const [, secret] of SAMPLES) {
      const value = secret.replace(/^[^=:]*[=:]\s*"?/, "");
      for (const f of secrets.detect(secret)) {
        for (let i = 0; i + 6 <= value.length; i++) expect(f.message).not.toContain(value.slice(i, i + 6));
      }
    }
  });
});

describe("secretsDetector: sanitize", () => {
  it("replaces each secret with [REDACTED] and leaves the rest of the text", () => {
    expect(sanitize("key AKIAIOSFODNN7EXAMPLE here")).toBe("key [REDACTED] here");
    expect(sanitize("password=hunter2! and more")).toBe("password=[REDACTED] and more");
    expect(sanitize(`a\n${PEM}\nb`)).toBe("a\n[REDACTED]\nb");
  });

  it("leaves the result free of findings, for every sample alone and all together", () => {
    for (const [, secret] of SAMPLES) expect(secrets.detect(sanitize(secret)), secret).toEqual([]);
    const all = SAMPLES.map(([, s]) => s).join("\n\n");
    expect(secrets.detect(sanitize(all))).toEqual([]);
    expect(sanitize(all).match(/\[REDACTED\]/g)?.length).toBe(SAMPLES.length);
  });

  it("redacts secrets visible only after normalization", () => {
    const out = sanitize("id ＡＫＩＡＩＯＳＦＯＤＮＮ７ＥＸＡＭＰＬＥ");
    expect(out).toBe("id [REDACTED]");
  });

  it("leaves text without secrets unchanged", () => {
    for (const text of ["Hello, world", "ｆｕｌｌ-width stays", "password policy: 12+ chars"]) expect(sanitize(text)).toBe(text);
  });

  it("redacts a PEM header whose END line never comes, with its body", () => {
    expect(sanitize(`-----BEGIN PRIVATE KEY-----\n${b64(100)}\n\nafter`)).toBe("[REDACTED]\n\nafter");
  });
});

/** Shapes run only on text holding a literal every match needs; a key name in any case or width still counts. */
describe("prefilters skip no match", () => {
  const cases: [rule: string, text: string][] = [
    ["password-assignment", "API_KEY=abc123xyz789"],
    ["password-assignment", "  Password: hunter2!"],
    ["password-assignment", "DB_PASSWORD = s3cr3tValue"],
    ["password-assignment", '"client_secret": "a8f7d6e5c4"'],
    ["password-assignment", "Bearer_Token=zzyx-9981-qq"],
    ["aws-access-key", "ＡＫＩＡ１２３４５６７８９０ＡＢＣＤＥＦ"],
  ];
  for (const [rule, text] of cases) it(`${rule}: ${JSON.stringify(text)}`, () => expect(rules(text)).toEqual([rule]));
});
