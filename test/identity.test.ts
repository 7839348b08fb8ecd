// Identity through a real gateway: 401 challenges, RFC 9728 metadata, the token and revocation endpoints, lockout, MFA, API keys, session binding and external OAuth issuers.
import { Client as ClientV1 } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport as HttpV1 } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { Client as ClientV2, StreamableHTTPClientTransport as HttpV2 } from "@modelcontextprotocol/client";
import http from "node:http";
import { createServer as createNetServer, type AddressInfo } from "node:net";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { createRemoteJWKSet, exportJWK, exportSPKI, generateKeyPair, jwtVerify, SignJWT, type CryptoKey, type JWK } from "jose";
import { Secret, TOTP } from "otpauth";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { AuditRecord } from "../src/audit/index.ts";
import { ExternalIssuers } from "../src/authn/oauth.ts";
import { fileKey, TokenService } from "../src/authn/tokens.ts";
import { loadConfigObject } from "../src/config/index.ts";
import { openIdentity } from "../src/gateway.ts";
import { OAuthError } from "../src/authn/index.ts";
import { fixtureStdio, modernBody, modernHeaders, startTestGateway, type TestGateway } from "./helpers/harness.ts";

// ---- a small external authorization server: a JWKS endpoint on 127.0.0.1 ---------------------------------------

interface JwksServer {
  base: string;
  /** JWKS requests served, by path. */
  fetches: Map<string, number>;
  close(): Promise<void>;
}

async function startJwks(keys: JWK[]): Promise<JwksServer> {
  const fetches = new Map<string, number>();
  const server = http.createServer((req, res) => {
    const p = req.url ?? "/";
    fetches.set(p, (fetches.get(p) ?? 0) + 1);
    if (p === "/hang") return; // accepts, never answers: jose's timeout must end the wait
    if (p.startsWith("/jwks/")) {
      res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ keys }));
      return;
    }
    res.writeHead(404).end();
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    base,
    fetches,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/** A port nothing listens on. */
async function deadPort(): Promise<number> {
  const probe = createNetServer();
  await new Promise<void>((r) => probe.listen(0, "127.0.0.1", r));
  const port = (probe.address() as AddressInfo).port;
  await new Promise<void>((r) => probe.close(() => r()));
  return port;
}

// ---- the shared gateway ----------------------------------------------------------------------------------------

let gw: TestGateway;
let origin: string;
let jwks: JwksServer;
let rsa: { privateKey: CryptoKey; publicKey: CryptoKey };
let ec: { privateKey: CryptoKey; publicKey: CryptoKey };
let iss: { main: string; esOnly: string; dead: string; hang: string; scoped: string };
const ROLE_MAP = { "mcp-admins": ["admin"], "mcp-readers": ["reader"] };

beforeAll(async () => {
  rsa = await generateKeyPair("RS256");
  ec = await generateKeyPair("ES256");
  const keys = [
    { ...(await exportJWK(rsa.publicKey)), kid: "rsa-1", alg: "RS256", use: "sig" },
    { ...(await exportJWK(ec.publicKey)), kid: "ec-1", alg: "ES256", use: "sig" },
  ];
  jwks = await startJwks(keys);
  const dead = await deadPort();
  iss = { main: `${jwks.base}/main`, esOnly: `${jwks.base}/es-only`, dead: `${jwks.base}/dead`, hang: `${jwks.base}/hang-issuer`, scoped: `${jwks.base}/scoped` };
  gw = await startTestGateway({
    upstreams: { fixture: fixtureStdio() },
    roles: { admin: { permissions: ["*"] }, reader: { permissions: ["fixture.*"] } },
    auth: {
      anonymous: false,
      passwordPolicy: { maxAgeDays: 1 },
      oauth: {
        issuers: [
          { issuer: iss.main, jwksUrl: `${jwks.base}/jwks/main`, algorithms: ["RS256", "ES256"], roleMap: ROLE_MAP, nameClaim: "preferred_username" },
          { issuer: iss.esOnly, jwksUrl: `${jwks.base}/jwks/es-only`, algorithms: ["ES256"] },
          { issuer: iss.dead, jwksUrl: `http://127.0.0.1:${dead}/jwks` },
          { issuer: iss.hang, jwksUrl: `${jwks.base}/hang` },
          { issuer: iss.scoped, jwksUrl: `${jwks.base}/jwks/main`, algorithms: ["RS256"], roleMap: ROLE_MAP, requiredScopes: ["mcp:tools", "fixture.echo"] },
        ],
      },
    },
  });
  origin = new URL(gw.url).origin;
});
afterAll(async () => {
  await gw?.close();
  await jwks?.close();
});

// ---- wire helpers ------------------------------------------------------------------------------------------------

const RESOURCE_METADATA = (): string => `${origin}/.well-known/oauth-protected-resource/mcp`;
const auth = (bearer: string | undefined): Record<string, string> => (bearer === undefined ? {} : { authorization: `Bearer ${bearer}` });

/** A 2026-07-28 tools/call of fixture.echo. */
function callEcho(bearer: string | undefined, extraHeaders: Record<string, string> = {}): Promise<Response> {
  return fetch(gw.url, {
    method: "POST",
    headers: { ...modernHeaders("tools/call", "fixture.echo"), ...auth(bearer), ...extraHeaders },
    body: modernBody(1, "tools/call", { name: "fixture.echo", arguments: { message: "hi" } }),
  });
}

/** The credential works: a tool call goes through to the upstream. */
async function expectWorks(bearer: string, what = "credential"): Promise<void> {
  const res = await callEcho(bearer);
  const text = await res.text();
  expect(res.status, `${what}: ${text}`).toBe(200);
  const body = JSON.parse(text) as { result?: { content?: { text?: string }[] } };
  expect(body.result?.content?.[0]?.text).toBe("Echo: hi");
}

/** The one body every bad credential gets: nothing about why. */
const INVALID_TOKEN_BODY = { jsonrpc: "2.0", id: null, error: { code: -32001, message: "Unauthorized: invalid, expired or revoked credentials" } };

/** A 401 invalid_token with the challenge of SPEC §3, the same body whatever the reason, and an auth.failure audited with `reason`. */
async function expectInvalidToken(res: Response, reason: RegExp | string, mark: number): Promise<void> {
  const text = await res.text();
  expect(res.status, text).toBe(401);
  expect(res.headers.get("www-authenticate")).toBe(`Bearer error="invalid_token", resource_metadata="${RESOURCE_METADATA()}"`);
  expect(JSON.parse(text)).toEqual(INVALID_TOKEN_BODY);
  expectNoLeak(text);
  const failures = since(mark).filter((r) => r.type === "auth.failure");
  expect(failures, JSON.stringify(since(mark))).toHaveLength(1);
  const record = failures[0] as AuditRecord;
  expect(record.outcome).toBe("failure");
  if (typeof reason === "string") expect(record.reason).toBe(reason);
  else expect(record.reason).toMatch(reason);
}

async function rejectedToken(bearer: string, reason: RegExp | string): Promise<void> {
  const mark = auditMark();
  await expectInvalidToken(await callEcho(bearer), reason, mark);
}

/** No stack trace, no internal path, no library error code in anything a client reads. */
function expectNoLeak(text: string): void {
  expect(text).not.toMatch(/\n\s+at |node_modules|\/work\/|\/tmp\/|\.ts\b|ERR_[A-Z_]+|JOSE|Error:/);
}

const auditMark = (): number => gw.audit().length;
const since = (mark: number): AuditRecord[] => gw.audit().slice(mark);

interface TokenAnswer {
  status: number;
  text: string;
  body: Record<string, unknown>;
  headers: Headers;
}

/** POST /auth/token (form by default, JSON on request). */
async function grant(params: Record<string, string>, opts: { json?: boolean; headers?: Record<string, string> } = {}): Promise<TokenAnswer> {
  const res = await fetch(`${origin}/auth/token`, {
    method: "POST",
    headers: { "content-type": opts.json === true ? "application/json" : "application/x-www-form-urlencoded", ...opts.headers },
    body: opts.json === true ? JSON.stringify(params) : new URLSearchParams(params).toString(),
  });
  const text = await res.text();
  return { status: res.status, text, body: text === "" ? {} : (JSON.parse(text) as Record<string, unknown>), headers: res.headers };
}

async function revoke(token: string, json = false): Promise<number> {
  const res = await fetch(`${origin}/auth/revoke`, {
    method: "POST",
    headers: { "content-type": json ? "application/json" : "application/x-www-form-urlencoded" },
    body: json ? JSON.stringify({ token }) : new URLSearchParams({ token }).toString(),
  });
  await res.text();
  return res.status;
}

interface Tokens {
  access_token: string;
  refresh_token: string;
  expires_in: number;
  token_type: string;
  scope: string;
}

async function login(username: string, password: string, extra: Record<string, string> = {}): Promise<Tokens> {
  const r = await grant({ grant_type: "password", username, password, ...extra });
  expect(r.status, r.text).toBe(200);
  return r.body as unknown as Tokens;
}

/** The answer every failed password login gets, whatever the cause. */
const BAD_LOGIN = { status: 400, text: JSON.stringify({ error: "invalid_grant", error_description: "invalid username or password" }) };

function expectBadLogin(r: TokenAnswer, username: string): void {
  expect({ status: r.status, text: r.text }).toEqual(BAD_LOGIN);
  expect(r.text).not.toContain(username);
  expect(r.headers.get("cache-control")).toBe("no-store");
}

/** POST from another loopback address (the gateway sees it as another client IP). */
function postFrom(localAddress: string, url: string, body: string, headers: Record<string, string>): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const u = new URL(url);
    const req = http.request({ host: u.hostname, port: u.port, path: u.pathname, method: "POST", localAddress, headers: { ...headers, "content-length": Buffer.byteLength(body) } }, (res) => {
      let text = "";
      res.setEncoding("utf8").on("data", (c: string) => (text += c));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, text }));
    });
    req.on("error", reject);
    req.end(body);
  });
}

/** Tool calls the fixture has served, read with a working credential. */
async function upstreamCalls(bearer: string): Promise<Record<string, number>> {
  const res = await fetch(gw.url, { method: "POST", headers: { ...modernHeaders("tools/call", "fixture.stats"), ...auth(bearer) }, body: modernBody("stats", "tools/call", { name: "fixture.stats", arguments: {} }) });
  const body = (await res.json()) as { result?: { content?: { text?: string }[] } };
  return JSON.parse(body.result?.content?.[0]?.text ?? "null") as Record<string, number>;
}

let counter = 0;
/** A password the default policy accepts, different every time. */
const password = (): string => `Quartz#Meadow-${++counter}x${counter * 7919}`;

async function user(name: string, roles: string[] = ["reader"]): Promise<{ id: string; name: string; password: string }> {
  const pw = password();
  const created = await gw.gateway.identity.addUser(name, roles, pw);
  return { id: created.id, name: created.name, password: pw };
}

// ---- no credentials, bad credentials --------------------------------------------------------------------------

describe("/mcp without credentials", () => {
  let key: string;
  beforeAll(async () => {
    await gw.gateway.identity.addUser("stats-reader", ["reader"], undefined);
    key = (await gw.gateway.identity.createApiKey("stats-reader", ["*"], null)).key;
  });

  it("is 401 with a resource_metadata challenge and no error code (RFC 6750 §3.1), audited as auth.failure", async () => {
    for (const headers of [{}, { authorization: "" }]) {
      const mark = auditMark();
      const res = await callEcho(undefined, headers);
      const text = await res.text();
      expect(res.status).toBe(401);
      expect(res.headers.get("www-authenticate")).toBe(`Bearer resource_metadata="${RESOURCE_METADATA()}"`);
      expect(JSON.parse(text)).toEqual({ jsonrpc: "2.0", id: null, error: { code: -32001, message: "Unauthorized: credentials are required" } });
      const records = since(mark);
      expect(records.map((r) => [r.type, r.reason])).toEqual([["auth.failure", "no credentials"]]);
    }
  });

  it("never reaches the upstream, and its body is not even read: the 401 comes before the body is sent", async () => {
    const before = await upstreamCalls(key);
    // Headers promise a megabyte; ten bytes are sent and the rest never comes.
    const answer = await new Promise<{ status: number; connection: string | undefined }>((resolve, reject) => {
      const u = new URL(gw.url);
      const req = http.request({ host: u.hostname, port: u.port, path: u.pathname, method: "POST", headers: { ...modernHeaders("tools/call", "fixture.echo"), "content-length": 1_000_000 } }, (res) => {
        res.resume();
        resolve({ status: res.statusCode ?? 0, connection: res.headers.connection });
      });
      req.on("error", (err: NodeJS.ErrnoException) => (err.code === "ECONNRESET" || err.code === "EPIPE" ? undefined : reject(err)));
      req.write('{"jsonrpc"');
      setTimeout(() => reject(new Error("no answer before the body was complete")), 5_000).unref();
    });
    expect(answer).toEqual({ status: 401, connection: "close" });
    // A complete, well-formed call without credentials does not reach the upstream either.
    expect((await callEcho(undefined)).status).toBe(401);
    const after = await upstreamCalls(key);
    expect(after["echo"] ?? 0).toBe(before["echo"] ?? 0);
    expect(after["stats"]).toBe((before["stats"] ?? 0) + 1);
  });

  it("bad credentials are 401 invalid_token with one body, each audited with its true reason", async () => {
    const signingKey = await fileKey(path.join(gw.dir, "security/jwt.key"), "EdDSA");
    const expired = await new TokenService({ issuer: origin, audience: gw.url, ttlSeconds: 3600, leewaySeconds: 30, key: signingKey, now: () => Date.now() - 3 * 3600_000 }).issue({ sub: "x", name: "x", sid: "x", roles: ["admin"], scope: undefined });
    const unsecured = `${Buffer.from('{"alg":"none","typ":"at+jwt"}').toString("base64url")}.${Buffer.from(JSON.stringify({ iss: origin, aud: gw.url, sub: "x", sid: "x", jti: "x", name: "x", roles: ["admin"], iat: Math.floor(Date.now() / 1000), exp: Math.floor(Date.now() / 1000) + 600 })).toString("base64url")}.`;
    const cases: [string, Record<string, string>, RegExp | string][] = [
      ["garbage", { authorization: "Bearer not-a-token" }, /^ERR_JWS_INVALID/],
      ["alg none", { authorization: `Bearer ${unsecured}` }, /^ERR_JOSE_ALG_NOT_ALLOWED/],
      ["expired, signed by the gateway's own key", { authorization: `Bearer ${expired.token}` }, /^ERR_JWT_EXPIRED/],
      ["a well-formed but unknown API key", { authorization: `Bearer mcpb_0123456789abcdef_${"A".repeat(43)}` }, "unknown API key"],
      ["a refresh token as an access token", { authorization: `Bearer mcpb_rt_${"B".repeat(43)}` }, /^ERR_JWS_INVALID/],
      ["Basic scheme", { authorization: `Basic ${Buffer.from("admin:admin").toString("base64")}` }, "not a Bearer credential"],
      ["Bearer with nothing", { authorization: "Bearer " }, "not a Bearer credential"],
      ["two tokens", { authorization: "Bearer a b" }, "not a Bearer credential"],
    ];
    for (const [label, headers, reason] of cases) {
      const mark = auditMark();
      const res = await fetch(gw.url, { method: "POST", headers: { ...modernHeaders("tools/call", "fixture.echo"), ...headers }, body: modernBody(1, "tools/call", { name: "fixture.echo", arguments: { message: "hi" } }) });
      await expectInvalidToken(res, reason, mark).catch((err: unknown) => {
        throw new Error(`${label}: ${(err as Error).message}`);
      });
    }
  });
});

// ---- discovery ---------------------------------------------------------------------------------------------------

describe("discovery", () => {
  it("the resource_metadata URL of the challenge serves RFC 9728 metadata naming the gateway and every configured issuer, in both forms", async () => {
    const challenge = (await callEcho(undefined)).headers.get("www-authenticate") ?? "";
    const url = /resource_metadata="([^"]+)"/.exec(challenge)?.[1];
    expect(url).toBe(RESOURCE_METADATA());
    for (const u of [url ?? "", `${origin}/.well-known/oauth-protected-resource`]) {
      const res = await fetch(u);
      expect(res.status).toBe(200);
      expect(res.headers.get("content-type")).toMatch(/^application\/json/);
      const meta = (await res.json()) as Record<string, unknown>;
      expect(meta["resource"]).toBe(gw.url);
      expect(meta["authorization_servers"]).toEqual([origin, iss.main, iss.esOnly, iss.dead, iss.hang, iss.scoped]);
      expect(meta["bearer_methods_supported"]).toEqual(["header"]);
    }
  });

  it("the gateway's own authorization-server metadata and JWKS: its tokens verify with the published key, which is public only", async () => {
    const as = (await (await fetch(`${origin}/.well-known/oauth-authorization-server`)).json()) as Record<string, unknown>;
    expect(as).toMatchObject({ issuer: origin, token_endpoint: `${origin}/auth/token`, revocation_endpoint: `${origin}/auth/revoke`, jwks_uri: `${origin}/.well-known/jwks.json` });
    const published = (await (await fetch(`${origin}/.well-known/jwks.json`)).json()) as { keys: Record<string, unknown>[] };
    expect(published.keys).toHaveLength(1);
    expect(published.keys[0]).not.toHaveProperty("d");
    const u = await user("discovery-user");
    const t = await login(u.name, u.password);
    const { payload, protectedHeader } = await jwtVerify(t.access_token, createRemoteJWKSet(new URL(`${origin}/.well-known/jwks.json`)), { issuer: origin, audience: gw.url, typ: "at+jwt" });
    expect(protectedHeader.alg).toBe("EdDSA");
    expect(payload).toMatchObject({ sub: u.id, name: u.name, roles: ["reader"] });
    expect(typeof payload["sid"]).toBe("string");
    expect(typeof payload.jti).toBe("string");
  });
});

// ---- the password grant --------------------------------------------------------------------------------------

describe("password grant", () => {
  let alice: Awaited<ReturnType<typeof user>>;
  beforeAll(async () => {
    alice = await user("alice");
  });

  it("form and JSON bodies give an RFC 6749 §5.1 answer, not cached, whose access token works on /mcp", async () => {
    for (const json of [false, true]) {
      const mark = auditMark();
      const r = await grant({ grant_type: "password", username: "alice", password: alice.password }, { json });
      expect(r.status, r.text).toBe(200);
      expect(r.headers.get("cache-control")).toBe("no-store");
      expect(r.headers.get("pragma")).toBe("no-cache");
      expect(r.body).toMatchObject({ token_type: "Bearer", expires_in: 3600, scope: "reader" });
      expect(r.body["access_token"]).toEqual(expect.stringMatching(/^[\w-]+\.[\w-]+\.[\w-]+$/));
      expect(r.body["refresh_token"]).toEqual(expect.stringMatching(/^mcpb_rt_[\w-]{43}$/));
      await expectWorks(r.body["access_token"] as string, json ? "JSON login" : "form login");
      expect(since(mark).filter((x) => x.type === "auth.login").map((x) => [x.outcome, x.actor.user])).toEqual([["success", "alice"]]);
    }
  });

  it("a real SDK client of each era works with the access token as a Bearer header", async () => {
    const t = await login("alice", alice.password);
    const headers = { authorization: `Bearer ${t.access_token}` };
    const v1 = new ClientV1({ name: "identity-v1", version: "1.0.0" }, { capabilities: {} });
    await v1.connect(new HttpV1(new URL(gw.url), { requestInit: { headers } }));
    expect((await v1.callTool({ name: "fixture.echo", arguments: { message: "v1" } })).content).toEqual([{ type: "text", text: "Echo: v1" }]);
    await v1.close();
    const v2 = new ClientV2({ name: "identity-v2", version: "1.0.0" }, { versionNegotiation: { mode: "auto" } });
    await v2.connect(new HttpV2(new URL(gw.url), { requestInit: { headers } }));
    expect((await v2.callTool({ name: "fixture.echo", arguments: { message: "v2" } })).content).toEqual([{ type: "text", text: "Echo: v2" }]);
    await v2.close();
    // And without the header, neither gets in.
    const anonymous = new ClientV1({ name: "identity-anon", version: "1.0.0" }, { capabilities: {} });
    await expect(anonymous.connect(new HttpV1(new URL(gw.url)))).rejects.toThrow();
  });

  it("wrong password, unknown user and a locked account get the identical answer; each is audited with its true reason", async () => {
    const carol = await user("carol");
    await gw.gateway.identity.lock("carol");
    const cases: [string, string, string][] = [
      ["alice", "Wrong#Password-123", "wrong password"],
      ["nobody-here", "Wrong#Password-123", "unknown user"],
      ["carol", carol.password, "user locked by an admin"],
    ];
    for (const [username, pw, reason] of cases) {
      const mark = auditMark();
      expectBadLogin(await grant({ grant_type: "password", username, password: pw }), username);
      const records = since(mark);
      expect(records, username).toHaveLength(1);
      expect(records[0]).toMatchObject({ outcome: "failure", reason, actor: { user: username } });
      expect(["auth.failure", "auth.lockout"]).toContain(records[0]?.type);
    }
  });

  it("malformed requests get RFC 6749 errors that reveal nothing", async () => {
    const bad: [Record<string, string>, string][] = [
      [{ grant_type: "password", username: "alice" }, "invalid_request"],
      [{ grant_type: "implicit" }, "unsupported_grant_type"],
      [{}, "unsupported_grant_type"],
    ];
    for (const [params, error] of bad) {
      const r = await grant(params);
      expect(r.status).toBe(400);
      expect(r.body["error"]).toBe(error);
      expectNoLeak(r.text);
    }
    const notForm = await fetch(`${origin}/auth/token`, { method: "POST", headers: { "content-type": "text/plain" }, body: "grant_type=password" });
    expect(notForm.status).toBe(400);
    expect(((await notForm.json()) as { error: string }).error).toBe("invalid_request");
    const twice = await fetch(`${origin}/auth/token`, { method: "POST", headers: { "content-type": "application/x-www-form-urlencoded" }, body: "grant_type=password&username=alice&username=mallory&password=x" });
    expect(twice.status).toBe(400);
    expect(((await twice.json()) as { error: string }).error).toBe("invalid_request");
  });
});

describe("lockout", () => {
  it("after 5 failures even the right password is refused from that address, not from another; identity.unlock ends it", async () => {
    const dave = await user("dave");
    const reasons: string[] = [];
    for (let i = 0; i < 5; i++) {
      const mark = auditMark();
      expectBadLogin(await grant({ grant_type: "password", username: "dave", password: `Wrong#Password-${i}` }), "dave");
      reasons.push(...since(mark).map((r) => `${r.type} ${r.reason ?? ""}`));
    }
    expect(reasons).toEqual(["auth.failure wrong password", "auth.failure wrong password", "auth.failure wrong password", "auth.failure wrong password", "auth.lockout wrong password; account now locked"]);
    const mark = auditMark();
    expectBadLogin(await grant({ grant_type: "password", username: "dave", password: dave.password }), "dave");
    expect(since(mark).map((r) => [r.type, r.reason])).toEqual([["auth.lockout", expect.stringMatching(/^locked for \d+ s$/)]]);
    // The owner elsewhere is slowed, never locked out (NIST SP 800-63B §5.2.2).
    const elsewhere = await postFrom("127.0.0.2", `${origin}/auth/token`, new URLSearchParams({ grant_type: "password", username: "dave", password: dave.password }).toString(), { "content-type": "application/x-www-form-urlencoded" });
    expect(elsewhere.status, elsewhere.text).toBe(200);
    await gw.gateway.identity.unlock("dave");
    await expectWorks((await login("dave", dave.password)).access_token, "after unlock");
  });
});

// ---- refresh, revocation, sessions ---------------------------------------------------------------------------

describe("refresh tokens", () => {
  it("rotate on every use; a reused one is invalid_grant and revokes its family and its session at once", async () => {
    const frank = await user("frank");
    const first = await login("frank", frank.password);
    const r1 = await grant({ grant_type: "refresh_token", refresh_token: first.refresh_token });
    expect(r1.status, r1.text).toBe(200);
    const second = r1.body as unknown as Tokens;
    expect(second.refresh_token).not.toBe(first.refresh_token);
    expect(second.access_token).not.toBe(first.access_token);
    await expectWorks(second.access_token, "rotated access token");
    // JSON body, once more down the chain.
    const r2 = await grant({ grant_type: "refresh_token", refresh_token: second.refresh_token }, { json: true });
    expect(r2.status, r2.text).toBe(200);
    const third = r2.body as unknown as Tokens;
    await expectWorks(third.access_token, "second rotation");

    const mark = auditMark();
    const replay = await grant({ grant_type: "refresh_token", refresh_token: first.refresh_token });
    expect({ status: replay.status, body: replay.body }).toEqual({ status: 400, body: { error: "invalid_grant", error_description: "invalid refresh token" } });
    expect(since(mark).map((r) => [r.type, r.reason])).toEqual([["auth.failure", "refresh token reused: family revoked"]]);
    // The very next request of every token of that login fails.
    await rejectedToken(third.access_token, /^session revoked/);
    await rejectedToken(first.access_token, /^session revoked/);
    const latest = await grant({ grant_type: "refresh_token", refresh_token: third.refresh_token });
    expect(latest.body).toEqual({ error: "invalid_grant", error_description: "invalid refresh token" });
    // Another login of the same user is a different family and session: untouched.
    await expectWorks((await login("frank", frank.password)).access_token, "a fresh login");
  });

  it("tokens of the wrong kind are refused on each side", async () => {
    const u = await user("kinds");
    const t = await login(u.name, u.password);
    const asRefresh = await grant({ grant_type: "refresh_token", refresh_token: t.access_token });
    expect(asRefresh.body).toEqual({ error: "invalid_grant", error_description: "invalid refresh token" });
    await rejectedToken(t.refresh_token, /^ERR_JWS_INVALID/);
    // Neither refusal cost the real tokens anything.
    await expectWorks(t.access_token);
    expect((await grant({ grant_type: "refresh_token", refresh_token: t.refresh_token })).status).toBe(200);
  });
});

describe("/auth/revoke", () => {
  let gina: Awaited<ReturnType<typeof user>>;
  beforeAll(async () => {
    gina = await user("gina");
  });

  it("of an access token ends its session on the very next request (and its refresh token with it)", async () => {
    const t = await login("gina", gina.password);
    await expectWorks(t.access_token);
    const mark = auditMark();
    expect(await revoke(t.access_token)).toBe(200);
    expect(since(mark).map((r) => [r.type, r.details["revoked"]])).toEqual([["auth.revoke", "session"]]);
    await rejectedToken(t.access_token, /^session revoked/);
    expect((await grant({ grant_type: "refresh_token", refresh_token: t.refresh_token })).body["error"]).toBe("invalid_grant");
  });

  it("of a refresh token (JSON body) ends its family and session: the access token fails on the very next request", async () => {
    const t = await login("gina", gina.password);
    await expectWorks(t.access_token);
    expect(await revoke(t.refresh_token, true)).toBe(200);
    await rejectedToken(t.access_token, /^session revoked/);
    expect((await grant({ grant_type: "refresh_token", refresh_token: t.refresh_token })).body["error"]).toBe("invalid_grant");
  });

  it("of an unknown or malformed token is 200 and changes nothing (RFC 7009 §2.2)", async () => {
    expect(await revoke("not-a-token")).toBe(200);
    expect(await revoke(`mcpb_rt_${"C".repeat(43)}`)).toBe(200);
    const missing = await fetch(`${origin}/auth/revoke`, { method: "POST", headers: { "content-type": "application/x-www-form-urlencoded" }, body: "" });
    expect(missing.status).toBe(400);
  });
});

describe("admin actions end sessions", () => {
  const cases: [string, (name: string) => Promise<void>][] = [
    ["lock", (name) => gw.gateway.identity.lock(name)],
    ["delete", (name) => gw.gateway.identity.deleteUser(name)],
    ["password change", (name) => gw.gateway.identity.setPassword(name, password())],
  ];
  for (const [label, action] of cases) {
    it(`${label}: every session of the user fails on its next request, and its refresh token too`, async () => {
      const u = await user(`ended-by-${label.replace(" ", "-")}`);
      const a = await login(u.name, u.password);
      const b = await login(u.name, u.password);
      await expectWorks(a.access_token);
      await expectWorks(b.access_token);
      await action(u.name);
      await rejectedToken(a.access_token, /^session revoked/);
      await rejectedToken(b.access_token, /^session revoked/);
      expect((await grant({ grant_type: "refresh_token", refresh_token: a.refresh_token })).body["error"]).toBe("invalid_grant");
      // And the old password no longer logs in (locked, gone, or changed).
      expectBadLogin(await grant({ grant_type: "password", username: u.name, password: u.password }), u.name);
    });
  }
});

// ---- MFA and password expiry ---------------------------------------------------------------------------------

describe("MFA", () => {
  it("admin: mfa_required until enrolled; a code logs in once (no replay); a recovery code works once", async () => {
    const root = await user("root", ["admin"]);
    let mark = auditMark();
    const first = await grant({ grant_type: "password", username: "root", password: root.password });
    expect({ status: first.status, error: first.body["error"] }).toEqual({ status: 400, error: "mfa_required" });
    expect(since(mark).map((r) => [r.type, r.reason])).toEqual([["auth.mfa", "MFA required but not enrolled"]]);

    const enrollment = await gw.gateway.identity.enrollTotp("root");
    expect(enrollment.uri).toMatch(/^otpauth:\/\/totp\//);
    expect(enrollment.recoveryCodes).toHaveLength(10);
    const totp = new TOTP({ secret: Secret.fromBase32(enrollment.secret), algorithm: "SHA1", digits: 6, period: 30 });

    // The password alone is not enough; a wrong code neither; a right code with a wrong password neither.
    expect((await grant({ grant_type: "password", username: "root", password: root.password })).body["error"]).toBe("mfa_required");
    const code = totp.generate();
    const wrongCode = String((Number(code) + 1) % 1_000_000).padStart(6, "0");
    expectBadLogin(await grant({ grant_type: "password", username: "root", password: root.password, totp: wrongCode }), "root");
    expectBadLogin(await grant({ grant_type: "password", username: "root", password: "Wrong#Password-1", totp: code }), "root");

    const ok = await login("root", root.password, { totp: code });
    await expectWorks(ok.access_token, "TOTP login");
    mark = auditMark();
    expectBadLogin(await grant({ grant_type: "password", username: "root", password: root.password, totp: code }), "root");
    expect(since(mark).map((r) => r.reason)).toEqual(["wrong or replayed TOTP code"]);

    const recovery = enrollment.recoveryCodes[0] ?? "";
    await expectWorks((await login("root", root.password, { totp: recovery })).access_token, "recovery code");
    expectBadLogin(await grant({ grant_type: "password", username: "root", password: root.password, totp: recovery }), "root");
    expect(await gw.gateway.store.recoveryCodesLeft(root.id)).toBe(9);
  });
});

describe("password expiry", () => {
  it("an expired password answers password_change_required; new_password (policy-checked) changes it and logs in", async () => {
    const erin = await user("erin");
    const earlier = await login("erin", erin.password);
    await gw.gateway.store.updateUser(erin.id, { passwordChangedAt: Date.now() - 2 * 86_400_000 });
    const mark = auditMark();
    const expired = await grant({ grant_type: "password", username: "erin", password: erin.password });
    expect({ status: expired.status, error: expired.body["error"] }).toEqual({ status: 400, error: "password_change_required" });
    expect(since(mark).map((r) => [r.type, r.reason])).toEqual([["auth.failure", "password expired"]]);
    // A wrong password never learns that the password expired.
    expectBadLogin(await grant({ grant_type: "password", username: "erin", password: "Wrong#Password-9" }), "erin");

    for (const refused of ["short", erin.password, "erin-Erin-2024!!x"]) {
      const r = await grant({ grant_type: "password", username: "erin", password: erin.password, new_password: refused });
      expect(r.body["error"], refused).toBe("invalid_request");
      expect(r.text).not.toContain(refused);
    }
    const next = password();
    const changed = await login("erin", erin.password, { new_password: next });
    await expectWorks(changed.access_token, "after the change");
    await rejectedToken(earlier.access_token, /^session revoked/);
    await expectWorks((await login("erin", next)).access_token, "the new password alone");
    expectBadLogin(await grant({ grant_type: "password", username: "erin", password: erin.password }), "erin");
  });
});

// ---- API keys -------------------------------------------------------------------------------------------------

describe("API keys", () => {
  let key: { id: string; key: string };
  beforeAll(async () => {
    await gw.gateway.identity.addUser("svc", ["reader"], undefined);
    const created = await gw.gateway.identity.createApiKey("svc", ["fixture.echo"], null);
    key = { id: created.record.id, key: created.key };
  });

  it("work as a Bearer credential on /mcp", async () => {
    expect(key.key).toMatch(/^mcpb_[0-9a-f]{16}_[\w-]{43}$/);
    await expectWorks(key.key, "API key");
  });

  it("client_credentials exchanges one for a JWT, with client_id/client_secret in the form or HTTP Basic; no refresh token", async () => {
    const viaForm = await grant({ grant_type: "client_credentials", client_id: key.id, client_secret: key.key });
    const viaBasic = await grant({ grant_type: "client_credentials" }, { headers: { authorization: `Basic ${Buffer.from(`${key.id}:${key.key}`).toString("base64")}` } });
    for (const r of [viaForm, viaBasic]) {
      expect(r.status, r.text).toBe(200);
      expect(r.body).toMatchObject({ token_type: "Bearer", scope: "fixture.echo" });
      expect(r.body).not.toHaveProperty("refresh_token");
      await expectWorks(r.body["access_token"] as string, "exchanged JWT");
    }
  });

  it("a wrong secret or a client_id of another key is invalid_client (401, Basic challenge), audited", async () => {
    const other = await gw.gateway.identity.createApiKey("svc", ["*"], null);
    const cases: [Record<string, string>, string][] = [
      [{ client_id: key.id, client_secret: `mcpb_${key.id}_${"Z".repeat(43)}` }, "unknown API key"],
      [{ client_id: other.record.id, client_secret: key.key }, "client_id does not match the key"],
      [{ client_id: key.id, client_secret: "guess" }, "unknown API key"],
    ];
    for (const [params, reason] of cases) {
      const mark = auditMark();
      const r = await grant({ grant_type: "client_credentials", ...params });
      expect(r.status).toBe(401);
      expect(r.body).toEqual({ error: "invalid_client", error_description: "client authentication failed" });
      expect(r.headers.get("www-authenticate")).toBe('Basic realm="mcp-bastion"');
      expect(since(mark).map((x) => [x.type, x.reason])).toEqual([["auth.failure", reason]]);
    }
  });

  it("revoked and expired keys are 401 on /mcp and invalid_client on the token endpoint", async () => {
    const revoked = await gw.gateway.identity.createApiKey("svc", ["*"], null);
    await expectWorks(revoked.key);
    await gw.gateway.identity.revokeApiKey(revoked.record.id);
    await rejectedToken(revoked.key, "API key revoked");
    expect((await grant({ grant_type: "client_credentials", client_id: revoked.record.id, client_secret: revoked.key })).status).toBe(401);
    const expired = await gw.gateway.identity.createApiKey("svc", ["*"], Date.now() - 1000);
    await rejectedToken(expired.key, "API key expired");
    expect((await grant({ grant_type: "client_credentials", client_id: expired.record.id, client_secret: expired.key })).status).toBe(401);
  });

  it("revoking a key also ends the access tokens exchanged for it, on the very next request", async () => {
    const k = await gw.gateway.identity.createApiKey("svc", ["*"], null);
    const exchanged = await grant({ grant_type: "client_credentials", client_id: k.record.id, client_secret: k.key });
    await expectWorks(exchanged.body["access_token"] as string, "exchanged JWT");
    await gw.gateway.identity.revokeApiKey(k.record.id);
    await rejectedToken(k.key, "API key revoked");
    const res = await callEcho(exchanged.body["access_token"] as string);
    await res.text();
    expect(res.status, "a JWT exchanged for a revoked API key still works").toBe(401);
  });

  it("a key of a locked or deleted user is 401", async () => {
    await gw.gateway.identity.addUser("svc-locked", ["reader"], undefined);
    const locked = await gw.gateway.identity.createApiKey("svc-locked", ["*"], null);
    const exchanged = await grant({ grant_type: "client_credentials", client_id: locked.record.id, client_secret: locked.key });
    await expectWorks(locked.key);
    await gw.gateway.identity.lock("svc-locked");
    await rejectedToken(locked.key, "API key owner locked or deleted");
    await rejectedToken(exchanged.body["access_token"] as string, /^session revoked/);
    await gw.gateway.identity.addUser("svc-deleted", ["reader"], undefined);
    const deleted = await gw.gateway.identity.createApiKey("svc-deleted", ["*"], null);
    await expectWorks(deleted.key);
    await gw.gateway.identity.deleteUser("svc-deleted");
    await rejectedToken(deleted.key, /^(unknown API key|API key owner locked or deleted)$/);
  });
});

// ---- MCP sessions belong to their principal --------------------------------------------------------------------

describe("session hijack", () => {
  let a: { id: string; token: string };
  let b: { id: string; token: string };
  let owner: ClientV1;
  let transport: HttpV1;
  let sid: string;

  beforeAll(async () => {
    const ua = await user("session-owner");
    const ub = await user("session-thief");
    a = { id: ua.id, token: (await login(ua.name, ua.password)).access_token };
    b = { id: ub.id, token: (await login(ub.name, ub.password)).access_token };
    owner = new ClientV1({ name: "owner", version: "1.0.0" }, { capabilities: {} });
    transport = new HttpV1(new URL(gw.url), { requestInit: { headers: { authorization: `Bearer ${a.token}` } } });
    await owner.connect(transport);
    sid = transport.sessionId ?? "";
    expect(sid).not.toBe("");
  });
  afterAll(async () => {
    await owner.close();
  });

  const legacy = (bearer: string, extra: Record<string, string> = {}): Record<string, string> => ({ "content-type": "application/json", accept: "application/json, text/event-stream", "mcp-session-id": sid, ...auth(bearer), ...extra });

  /** One refusal: 404 "Session not found" (as for an unknown id) and one session.hijack record naming both principals. */
  async function expectHijackRefused(res: Response, mark: number): Promise<void> {
    const text = await res.text();
    expect(res.status, text).toBe(404);
    if (text !== "") expect((JSON.parse(text) as { error: { message: string } }).error.message).toBe("Session not found");
    expect(text).not.toContain(a.id);
    const hijacks = since(mark).filter((r) => r.type === "session.hijack");
    expect(hijacks.map((r) => r.reason), JSON.stringify(since(mark))).toEqual([`session of ${a.id} presented by ${b.id}`]);
  }

  it("a request on A's session with B's token is 404 and audited as session.hijack; A's next request still works", async () => {
    const mark = auditMark();
    const res = await fetch(gw.url, { method: "POST", headers: legacy(b.token), body: JSON.stringify({ jsonrpc: "2.0", id: 99, method: "tools/call", params: { name: "fixture.echo", arguments: { message: "stolen" } } }) });
    await expectHijackRefused(res, mark);
    expect((await owner.callTool({ name: "fixture.echo", arguments: { message: "mine" } })).content).toEqual([{ type: "text", text: "Echo: mine" }]);
  });

  it("so is a notification, a GET stream and a DELETE; the session survives them all", async () => {
    for (const [label, init] of [
      ["notification", { method: "POST", headers: legacy(b.token), body: JSON.stringify({ jsonrpc: "2.0", method: "notifications/cancelled", params: { requestId: 1, reason: "x" } }) }],
      ["GET", { method: "GET", headers: legacy(b.token, { accept: "text/event-stream" }) }],
      ["DELETE", { method: "DELETE", headers: legacy(b.token) }],
    ] as const) {
      const mark = auditMark();
      const res = await fetch(gw.url, init as RequestInit);
      await expectHijackRefused(res, mark).catch((err: unknown) => {
        throw new Error(`${label}: ${(err as Error).message}`);
      });
    }
    expect((await owner.listTools()).tools.map((t) => t.name)).toContain("fixture.echo");
  });

  it("is refused as a hijack before anything about the session is revealed (a protocol version that does not match it)", async () => {
    const mark = auditMark();
    const res = await fetch(gw.url, { method: "POST", headers: legacy(b.token, { "mcp-protocol-version": "2025-03-26" }), body: JSON.stringify({ jsonrpc: "2.0", id: 7, method: "tools/list" }) });
    await expectHijackRefused(res, mark);
  });

  it("without credentials it is 401 (not a session answer), and A's API key is A: it may use the session", async () => {
    const mark = auditMark();
    const res = await fetch(gw.url, { method: "POST", headers: legacy(""), body: JSON.stringify({ jsonrpc: "2.0", id: 8, method: "tools/list" }) });
    expect(res.status).toBe(401);
    await res.text();
    expect(since(mark).map((r) => r.type)).toEqual(["auth.failure"]);
    const keyOfA = await gw.gateway.identity.createApiKey("session-owner", ["*"], null);
    const withKey = await fetch(gw.url, { method: "POST", headers: legacy(keyOfA.key, { "mcp-protocol-version": transport.protocolVersion ?? "2025-11-25" }), body: JSON.stringify({ jsonrpc: "2.0", id: 9, method: "tools/list" }) });
    expect(withKey.status).toBe(200);
    await withKey.text();
  });

  it("after A's token is revoked, A's SDK client is refused on its very next request", async () => {
    expect(await revoke(a.token)).toBe(200);
    await expect(owner.listTools()).rejects.toThrow();
  });
});

// ---- external OAuth 2.1 issuers --------------------------------------------------------------------------------

describe("external issuer", () => {
  const externalToken = (opts: { iss?: string; aud?: string | undefined; alg?: "RS256" | "ES256"; kid?: string; key?: CryptoKey; exp?: number; roles?: unknown; name?: string; scope?: string } = {}): Promise<string> => {
    const alg = opts.alg ?? "RS256";
    const now = Math.floor(Date.now() / 1000);
    const jwt = new SignJWT({ roles: opts.roles ?? ["mcp-admins"], preferred_username: opts.name ?? "olivia", scope: opts.scope ?? "fixture.echo" })
      .setProtectedHeader({ alg, kid: opts.kid ?? (alg === "RS256" ? "rsa-1" : "ec-1"), typ: "at+jwt" })
      .setIssuer(opts.iss ?? iss.main)
      .setSubject("ext-olivia")
      .setIssuedAt(now - 60)
      .setExpirationTime(opts.exp ?? now + 300);
    if (!("aud" in opts)) jwt.setAudience(gw.url);
    else if (opts.aud !== undefined) jwt.setAudience(opts.aud);
    return jwt.sign(opts.key ?? (alg === "RS256" ? rsa.privateKey : ec.privateKey));
  };

  it("a token with the gateway's canonical URL as audience is accepted (RS256 and ES256); the call is audited under the mapped name", async () => {
    for (const alg of ["RS256", "ES256"] as const) {
      const mark = auditMark();
      await expectWorks(await externalToken({ alg, name: `olivia-${alg}` }), alg);
      const calls = since(mark).filter((r) => r.type === "tool.call");
      expect(calls.map((r) => [r.actor.user, r.outcome])).toEqual([[`olivia-${alg}`, "success"]]);
    }
  });

  it("a token lacking a scope its issuer requires is 403 insufficient_scope naming the scopes, audited; with them it works", async () => {
    const mark = auditMark();
    const res = await callEcho(await externalToken({ iss: iss.scoped, scope: "fixture.echo" }));
    expect(res.status).toBe(403);
    expect(res.headers.get("www-authenticate")).toBe(`Bearer error="insufficient_scope", scope="mcp:tools fixture.echo", resource_metadata="${RESOURCE_METADATA()}"`);
    expect(((await res.json()) as { error: { message: string } }).error.message).toBe("Forbidden: the token lacks a required scope");
    expect(since(mark).map((r) => [r.type, r.reason])).toEqual([["auth.failure", `${iss.scoped}: token lacks scope mcp:tools`]]);
    await expectWorks(await externalToken({ iss: iss.scoped, scope: "fixture.echo mcp:tools" }), "token with every required scope");
  });

  it("claims map to roles through roleMap (array or space-separated claim); unmapped values grant nothing", async () => {
    const issuers = new ExternalIssuers([{ issuer: iss.main, jwksUrl: `${jwks.base}/jwks/direct`, algorithms: ["RS256", "ES256"], roleClaim: "roles", roleMap: ROLE_MAP, nameClaim: "preferred_username", requiredScopes: [] }], gw.url);
    const token = await externalToken({ roles: ["mcp-admins", "mcp-readers", "unmapped"] });
    expect(issuers.claims(token)).toBe(true);
    expect(await issuers.principal(token)).toEqual({ id: `${iss.main}#ext-olivia`, name: "olivia", kind: "oauth", roles: ["admin", "reader"], scopes: ["fixture.echo"], sessionId: undefined });
    expect((await issuers.principal(await externalToken({ roles: "mcp-readers unmapped" }))).roles).toEqual(["reader"]);
    expect((await issuers.principal(await externalToken({ roles: ["admin", "unmapped"] }))).roles).toEqual([]);
  });

  it("another audience, an unknown kid, an algorithm not in the issuer's list, an expired token and an unlisted issuer are 401", async () => {
    const stranger = await generateKeyPair("RS256");
    const now = Math.floor(Date.now() / 1000);
    const rsaPem = Buffer.from(await exportSPKI(rsa.publicKey));
    const hsConfused = await new SignJWT({ roles: ["mcp-admins"] }).setProtectedHeader({ alg: "HS256", kid: "rsa-1" }).setIssuer(iss.main).setAudience(gw.url).setSubject("x").setIssuedAt().setExpirationTime("5m").sign(rsaPem);
    const cases: [string, string, RegExp][] = [
      ["another audience", await externalToken({ aud: "https://api.example.com/mcp" }), /ERR_JWT_CLAIM_VALIDATION_FAILED$/],
      ["no audience", await externalToken({ aud: undefined }), /ERR_JWT_CLAIM_VALIDATION_FAILED$/],
      ["the gateway's origin, not /mcp", await externalToken({ aud: origin }), /ERR_JWT_CLAIM_VALIDATION_FAILED$/],
      ["unknown kid", await externalToken({ kid: "rsa-2", key: stranger.privateKey }), /ERR_JWKS_NO_MATCHING_KEY$/],
      ["a known kid, another key", await externalToken({ key: stranger.privateKey }), /ERR_JWS_SIGNATURE_VERIFICATION_FAILED$/],
      ["RS256 for an ES256-only issuer", await externalToken({ iss: iss.esOnly }), /ERR_JOSE_ALG_NOT_ALLOWED$/],
      ["HS256 keyed with the issuer's public key", hsConfused, /ERR_JOSE_ALG_NOT_ALLOWED$/],
      ["expired", await externalToken({ exp: now - 120 }), /ERR_JWT_EXPIRED$/],
      ["an unlisted issuer (so the gateway's own EdDSA-only verifier sees it)", await externalToken({ iss: "https://login.example.com/" }), /^ERR_JOSE_ALG_NOT_ALLOWED/],
      ["the gateway's own issuer, signed by this one", await externalToken({ iss: origin }), /^ERR_JOSE_ALG_NOT_ALLOWED/],
    ];
    for (const [label, token, reason] of cases) {
      const mark = auditMark();
      await expectInvalidToken(await callEcho(token), reason, mark).catch((err: unknown) => {
        throw new Error(`${label}: ${(err as Error).message}`);
      });
    }
  });

  it("keys are cached, and a flood of unknown kids refetches the JWKS at most once per cooldown", async () => {
    const before = jwks.fetches.get("/jwks/main") ?? 0;
    expect(before).toBeGreaterThanOrEqual(1);
    for (let i = 0; i < 3; i++) await expectWorks(await externalToken());
    expect(jwks.fetches.get("/jwks/main")).toBe(before);
    const stranger = await generateKeyPair("RS256");
    for (let i = 0; i < 6; i++) {
      const res = await callEcho(await externalToken({ kid: `flood-${i}`, key: stranger.privateKey }));
      await res.text();
      expect(res.status).toBe(401);
    }
    expect(jwks.fetches.get("/jwks/main") ?? 0).toBeLessThanOrEqual(before + 1);
  });

  it("an unreachable JWKS is a quick 401, a JWKS that never answers a 401 after the fetch timeout, not a hang", async () => {
    let started = Date.now();
    let mark = auditMark();
    await expectInvalidToken(await callEcho(await externalToken({ iss: iss.dead })), new RegExp(`^${iss.dead}: `), mark);
    expect(Date.now() - started).toBeLessThan(2_000);
    started = Date.now();
    mark = auditMark();
    await expectInvalidToken(await callEcho(await externalToken({ iss: iss.hang })), new RegExp(`^${iss.hang}: ERR_JWKS_TIMEOUT$`), mark);
    expect(Date.now() - started).toBeLessThan(7_000);
    expect(jwks.fetches.get("/hang")).toBe(1);
  }, 15_000);
});

// ---- timing ---------------------------------------------------------------------------------------------------

describe("timing at the default scrypt cost", () => {
  it("an unknown user costs about what a wrong password costs (a guard, not a benchmark)", async () => {
    const dir = mkdtempSync(path.join(tmpdir(), "bastion-timing-"));
    const loaded = loadConfigObject({ auth: { anonymous: false } }, {}, dir);
    const { store, identity } = await openIdentity(loaded, {}, "http://127.0.0.1:9/mcp");
    try {
      const pw = password();
      await identity.addUser("known", ["reader"], pw); // one hash at the default cost: also warms scrypt up
      const attempt = async (username: string): Promise<number> => {
        const started = process.hrtime.bigint();
        const err = await identity.passwordGrant({ username, password: "Wrong#Password-1", ip: "192.0.2.1" }).then(
          () => undefined,
          (e: unknown) => e,
        );
        expect(err).toBeInstanceOf(OAuthError);
        expect((err as OAuthError).error).toBe("invalid_grant");
        return Number(process.hrtime.bigint() - started) / 1e6;
      };
      const unknown: number[] = [];
      const wrong: number[] = [];
      // Three of each, interleaved; three failures on "known" stay below the first growing delay.
      for (let i = 0; i < 3; i++) {
        unknown.push(await attempt(`ghost-${i}`));
        wrong.push(await attempt("known"));
      }
      const median = (xs: number[]): number => [...xs].sort((x, y) => x - y)[1] ?? 0;
      const ratio = median(unknown) / median(wrong);
      expect(median(wrong), `wrong ${wrong.join(", ")} ms`).toBeGreaterThan(50);
      expect(ratio, `unknown ${unknown.map(Math.round).join(", ")} ms vs wrong ${wrong.map(Math.round).join(", ")} ms`).toBeGreaterThan(0.5);
      expect(ratio).toBeLessThan(2);
    } finally {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    }
  }, 30_000);
});
