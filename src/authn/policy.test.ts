// Password policy: length edges in code points, unicode, classes, blocklist, username, history, presets, config and expiry.
import { describe, expect, it } from "vitest";
import { ConfigError } from "../errors/index.ts";
import { PASSWORD_POLICIES, type PasswordContext, type PasswordPolicy, checkPassword, isExpired, passwordPolicySchema, resolvePolicy } from "./policy.ts";

const DEFAULT = PASSWORD_POLICIES.default;
const NIST = PASSWORD_POLICIES.nist;
const ctx = (username = "alice", previous: PasswordContext["previous"] = async () => false): PasswordContext => ({ username, previous });
const rules = async (password: string, policy: PasswordPolicy = DEFAULT, context: PasswordContext = ctx()) => (await checkPassword(password, policy, context)).map((v) => v.rule);

// A 12-code-point password with all four classes, on no list and unrelated to "alice".
const GOOD12 = "Vq7!mZr#2kLp";

describe("presets", () => {
  it("default is the original design: 12, all four classes, 90 days, last 5", () => {
    expect(DEFAULT).toEqual({ minLength: 12, maxLength: 1024, requireUpper: true, requireLower: true, requireDigit: true, requireSymbol: true, maxAgeDays: 90, historySize: 5 });
  });

  it("nist is length and blocklist only: 8 to 1024, no classes, no age, no history", () => {
    expect(NIST).toEqual({ minLength: 8, maxLength: 1024, requireUpper: false, requireLower: false, requireDigit: false, requireSymbol: false, maxAgeDays: 0, historySize: 0 });
  });

  it("are frozen", () => {
    expect(Object.isFrozen(PASSWORD_POLICIES)).toBe(true);
    expect(Object.isFrozen(DEFAULT)).toBe(true);
    expect(Object.isFrozen(NIST)).toBe(true);
  });
});

describe("length, in code points after NFKC", () => {
  it("refuses exactly 11 characters and accepts exactly 12", async () => {
    expect(await rules(GOOD12.slice(0, 11))).toEqual(["minLength"]);
    expect(await rules(GOOD12)).toEqual([]);
  });

  it("counts an astral character (two UTF-16 units) as one", async () => {
    // 11 code points but 12 UTF-16 units: still too short.
    expect(await rules("Vq7!mZr#2k\u{1F510}")).toEqual(["minLength"]);
    expect(await rules("Vq7!mZr#2kL\u{1F510}")).toEqual([]);
  });

  it("counts after NFKC: a ligature is two characters, e + combining acute is one", async () => {
    expect(await rules("Vq7!mZr#2k\uFB01")).toEqual([]); // "ﬁ" → "fi": 12
    expect(await rules("Vq7!mZr#2ke\u0301")).toEqual(["minLength"]); // 12 raw, "é" after NFKC: 11
    expect(await rules("Vq7!mZr#2kLe\u0301")).toEqual([]); // 13 raw, 12 after
  });

  it("accepts 1,000 and 1,024 characters and refuses 1,025", async () => {
    const long = (n: number) => `Vq7!${"correct horse battery staple ".repeat(40)}`.slice(0, n);
    expect([...long(1000)].length).toBe(1000);
    expect(await rules(long(1000))).toEqual([]);
    expect(await rules(long(1024))).toEqual([]);
    expect(await rules(long(1025))).toEqual(["maxLength"]);
  });

  it("refuses absurdly long input without normalizing it", async () => {
    expect(await rules("Aa1!".repeat(20_000))).toEqual(["maxLength"]);
  });
});

describe("unicode", () => {
  it("counts combining marks that do not compose as characters of their own", async () => {
    // q + U+0307 has no precomposed form: two code points each.
    expect(await rules("Q\u0307q\u0307-7-q\u0307q\u0307x", NIST)).toEqual([]);
  });

  it("accepts emoji, and counts them as symbols", async () => {
    expect(await rules("Vq7mZr2kLpXw\u{1F600}")).toEqual([]);
    expect(await rules("Vq7mZr2kLpXw")).toEqual(["requireSymbol"]);
    // A ZWJ family (5 code points, format characters included) is allowed.
    expect(await rules("Vq7mZr2kLp\u{1F468}\u200D\u{1F469}\u200D\u{1F467}")).toEqual([]);
  });

  it("lets caseless scripts (CJK) satisfy both case rules", async () => {
    expect(await rules("我的密码又长又安全的句子1!")).toEqual([]);
    expect(await rules("我的密码又长又安全的句子!")).toEqual(["requireDigit"]);
  });

  it("accepts right-to-left scripts, their digits and direction marks", async () => {
    expect(await rules("סיסמה-ארוכה-מאוד-2024")).toEqual([]);
    // Arabic letters and Arabic-Indic digits (٣٤٥ are Nd), with a right-to-left mark.
    expect(await rules("كلمة\u200Fالسر-الطويلة-٣٤٥")).toEqual([]);
    expect(await rules("كلمة\u200Fالسر-الطويلة")).toEqual(["requireDigit"]);
  });

  it("applies cased non-Latin letters as upper and lower", async () => {
    expect(await rules("Надёжный-Пароль-42")).toEqual([]);
    expect(await rules("надёжный-пароль-42")).toEqual(["requireUpper"]);
    expect(await rules("НАДЁЖНЫЙ-ПАРОЛЬ-42")).toEqual(["requireLower"]);
  });

  it("treats full-width digits as digits (NFKC makes them ASCII)", async () => {
    expect(await rules("Vq!mZr#kLpXw\uFF17")).toEqual([]);
  });

  it("refuses control characters, line breaks, unassigned code points and lone surrogates", async () => {
    for (const bad of ["\u0000", "\t", "\n", "\r", "\u001B", "\u007F", "\u0085", "\u2028", "\u2029", "\u0378", "\uD800", "\uDC00"]) {
      const pw = `${GOOD12}${bad}`;
      expect(await rules(pw), JSON.stringify(bad)).toContain("characters");
    }
  });

  it("does not mistake the NIST preset's absence of class rules for an absence of checks", async () => {
    expect(await rules("aaaaaaa\u0000", NIST)).toEqual(["characters"]);
  });
});

describe("character classes", () => {
  it("names each missing class", async () => {
    expect(await rules("vq7!mzr#2klp")).toEqual(["requireUpper"]);
    expect(await rules("VQ7!MZR#2KLP")).toEqual(["requireLower"]);
    expect(await rules("Vqx!mZr#ykLp")).toEqual(["requireDigit"]);
    expect(await rules("Vq7xmZr22kLp")).toEqual(["requireSymbol"]);
    expect(await rules("vqxxmzryyklp")).toEqual(["requireUpper", "requireDigit", "requireSymbol"]);
  });

  it("counts a space as a symbol", async () => {
    expect(await rules("Vq7 mZr 2kLp")).toEqual([]);
  });

  it("follows each flag on its own", async () => {
    const onlyDigit: PasswordPolicy = { ...NIST, requireDigit: true };
    expect(await rules("vqxxmzryyklp", onlyDigit)).toEqual(["requireDigit"]);
    expect(await rules("vqxxmzryykl9", onlyDigit)).toEqual([]);
  });
});

describe("the always-on blocklist", () => {
  it("refuses common passwords under every policy, whatever their case or width", async () => {
    for (const pw of ["password", "PASSWORD", "PassWord", "\uFF30\uFF41\uFF53\uFF53\uFF57\uFF4F\uFF52\uFF44", "qwerty123456", "QWERTY123456", "1qaz2wsx3edc", "iloveyou", "trustno1"]) {
      expect(await rules(pw, NIST), pw).toEqual(["blocklist"]);
    }
  });

  it("refuses a common password dressed up to pass the default classes", async () => {
    for (const pw of ["Password123!", "P@ssw0rd2024!", "!!Dragon2024", "Iloveyou 123!", "Qwertyuiop1!"]) {
      expect(await rules(pw), pw).toEqual(["blocklist"]);
    }
  });

  it("refuses the service's own name", async () => {
    expect(await rules("Bastion2024!!")).toEqual(["blocklist"]);
    expect(await rules("mcp-bastion!", NIST)).toEqual(["blocklist"]);
  });

  it("does not refuse a strong password that merely contains a common word", async () => {
    expect(await rules("x7#Kq9!vB2love")).toEqual([]);
    expect(await rules("blue83726419!@", NIST)).toEqual([]); // more than 6 characters added
    expect(await rules("correct horse battery staple", NIST)).toEqual([]);
  });

  it("pins the rule and message", async () => {
    expect(await checkPassword("Password123!", DEFAULT, ctx())).toEqual([
      { rule: "blocklist", message: "This password is too common or known from data breaches; choose one that is harder to guess." },
    ]);
  });
});

describe("the username", () => {
  it("refuses the username, in any case or width, with digits or symbols added, or reversed", async () => {
    for (const pw of ["alice-in-wonderland-9A", "ALICE1984!xyz", "Alice1984!!!", "Xyz-ecila-123!", "\uFF21\uFF4C\uFF49\uFF43\uFF45-Wonder-9!"]) {
      expect(await rules(pw), pw).toEqual(["username"]);
    }
  });

  it("checks an e-mail address and its local part", async () => {
    expect(await rules("Carol.Smith#2031", DEFAULT, ctx("carol.smith@example.com"))).toEqual(["username"]);
    expect(await rules("carol.smith@example.com", NIST, ctx("carol.smith@example.com"))).toEqual(["username"]);
  });

  it("matches short usernames only as the whole password, give or take digits and symbols", async () => {
    expect(await rules("bob19841984!", NIST, ctx("bob"))).toEqual(["username"]);
    expect(await rules("Bobsleigh-run-42", DEFAULT, ctx("bob"))).toEqual([]);
  });

  it("pins the rule and message", async () => {
    expect(await checkPassword("Alice1984!!!", DEFAULT, ctx())).toEqual([{ rule: "username", message: "Do not base the password on your username." }]);
  });
});

describe("history", () => {
  it("refuses a password the account used recently, and asks with the candidate as given", async () => {
    const asked: string[] = [];
    const previous = async (candidate: string) => {
      asked.push(candidate);
      return candidate === GOOD12;
    };
    expect(await checkPassword(GOOD12, DEFAULT, ctx("alice", previous))).toEqual([{ rule: "historySize", message: "Choose a password you have not used for your last 5 passwords." }]);
    expect(await rules("Wq8@nZs#3kMq", DEFAULT, ctx("alice", previous))).toEqual([]);
    expect(asked).toEqual([GOOD12, "Wq8@nZs#3kMq"]);
  });

  it("is not asked when history is off or another rule already failed", async () => {
    let calls = 0;
    const previous = async () => {
      calls++;
      return true;
    };
    expect(await rules(GOOD12, NIST, ctx("alice", previous))).toEqual([]);
    expect(await rules("short", DEFAULT, ctx("alice", previous))).not.toContain("historySize");
    expect(calls).toBe(0);
  });
});

describe("the NIST preset", () => {
  it("accepts what the default refuses for composition alone", async () => {
    for (const pw of ["correct horse battery staple", "longpassphrase", "tr0ub4dor and three", "我的密码又长又安全"]) {
      expect(await rules(pw, NIST), pw).toEqual([]);
      expect((await rules(pw, DEFAULT)).length, pw).toBeGreaterThan(0);
    }
  });

  it("still refuses 7 characters and accepts 8", async () => {
    expect(await rules("zq7mxrk", NIST)).toEqual(["minLength"]);
    expect(await rules("zq7mxrkv", NIST)).toEqual([]);
  });
});

describe("messages", () => {
  it("never echo the password", async () => {
    for (const pw of ["short", "Password123!", "Alice1984!!!", "vq7!mzr#2klp\u0000", "x".repeat(1025)]) {
      for (const v of await checkPassword(pw, DEFAULT, ctx())) {
        expect(v.message).not.toContain(pw);
        expect(v.message.length).toBeLessThan(120);
      }
    }
  });
});

describe("expiry", () => {
  const setAt = Date.UTC(2031, 0, 1, 12, 0, 0);
  const DAY = 86_400_000;

  it("expires exactly 90 days after the change under the default policy", () => {
    expect(isExpired(setAt, DEFAULT, setAt + 90 * DAY - 1)).toBe(false);
    expect(isExpired(setAt, DEFAULT, setAt + 90 * DAY)).toBe(true);
    expect(isExpired(setAt, DEFAULT, setAt + 90 * DAY + 1)).toBe(true);
    expect(isExpired(setAt, DEFAULT, setAt)).toBe(false);
  });

  it("never expires with maxAgeDays 0 (nist), or when no password was ever set", () => {
    expect(isExpired(setAt, NIST, setAt + 3650 * DAY)).toBe(false);
    expect(isExpired(null, DEFAULT, setAt + 3650 * DAY)).toBe(false);
  });

  it("follows a configured age", () => {
    const oneDay = resolvePolicy({ maxAgeDays: 1 });
    expect(isExpired(setAt, oneDay, setAt + DAY - 1)).toBe(false);
    expect(isExpired(setAt, oneDay, setAt + DAY)).toBe(true);
  });
});

describe("the auth.passwordPolicy config section", () => {
  it("defaults to the default preset and accepts either preset by name", () => {
    expect(resolvePolicy(undefined)).toEqual(DEFAULT);
    expect(resolvePolicy("default")).toEqual(DEFAULT);
    expect(resolvePolicy("nist")).toEqual(NIST);
    expect(passwordPolicySchema.parse(undefined)).toEqual(DEFAULT);
  });

  it("applies overrides on top of the default, or of a named preset", () => {
    expect(resolvePolicy({ minLength: 15, historySize: 0 })).toEqual({ ...DEFAULT, minLength: 15, historySize: 0 });
    expect(resolvePolicy({ preset: "nist", minLength: 15 })).toEqual({ ...NIST, minLength: 15 });
    expect(resolvePolicy({ requireSymbol: false, maxAgeDays: 0 })).toEqual({ ...DEFAULT, requireSymbol: false, maxAgeDays: 0 });
    // A full policy object parses to itself, so a parsed section can be resolved again.
    expect(resolvePolicy(resolvePolicy("nist"))).toEqual(NIST);
  });

  it("refuses what is out of bounds or unknown, naming the path", () => {
    const problems = (v: unknown): string[] => {
      try {
        resolvePolicy(v);
      } catch (err) {
        expect(err).toBeInstanceOf(ConfigError);
        return [...(err as ConfigError).problems];
      }
      return [];
    };
    expect(problems({ minLength: 7 })).toEqual([expect.stringMatching(/^auth\.passwordPolicy\.minLength: /)]);
    expect(problems({ maxLength: 63 })).toEqual([expect.stringMatching(/^auth\.passwordPolicy\.maxLength: /)]);
    expect(problems({ minLength: 200, maxLength: 100 })).toEqual(["auth.passwordPolicy: minLength must not exceed maxLength"]);
    expect(problems({ historySize: -1 })).toEqual([expect.stringMatching(/^auth\.passwordPolicy\.historySize: /)]);
    expect(problems({ maxAgeDays: 1.5 })).toEqual([expect.stringMatching(/^auth\.passwordPolicy\.maxAgeDays: /)]);
    expect(problems({ requireUpper: "yes" })).toEqual([expect.stringMatching(/^auth\.passwordPolicy\.requireUpper: /)]);
    expect(problems({ minimumLength: 12 })).toEqual([expect.stringMatching(/^auth\.passwordPolicy: .*minimumLength/)]);
    for (const v of ["strict", "", 12, null, [], true]) expect(problems(v).length, JSON.stringify(v)).toBeGreaterThan(0);
  });
});
