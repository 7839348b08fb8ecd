// The SSRF detector: URLs in text judged by the address they really reach, whatever encoding hides it.
import { promises as dns } from "node:dns";
import ipaddr from "ipaddr.js";
import type { Finding } from "./finding.ts";
import { normalizeForMatching } from "./normalize.ts";

export type AddressRange =
  | "loopback"
  | "private"
  | "linkLocal"
  | "metadata"
  | "unspecified"
  | "multicast"
  | "reserved"
  | "carrierGradeNat"
  | "uniqueLocal"
  | "broadcast"
  | "documentation"
  | "public";

export interface SsrfOptions {
  /** Resolve host names with DNS (dns.promises.lookup, all: true) and check every address. Default true. */
  resolve?: boolean;
  /** DNS timeout in ms. Default 2000. A lookup that fails or times out is a finding with rule "unresolvable" (callers decide fail-open/closed). */
  timeoutMs?: number;
  /**
   * Host names or CIDRs that are allowed even though private (e.g. an intranet service). A name
   * matches exactly (case and a trailing dot aside); `*.corp.example` or `.corp.example` also match
   * its subdomains. A cloud metadata address is exempted only by a name or by a CIDR that names
   * that one address (`/32`, `/128`): allowing `169.254.0.0/16` for a link-local service must not
   * open the credentials endpoint too.
   */
  allow?: readonly string[];
  /**
   * URL schemes checked; default ["http","https","ftp","ws","wss","gopher","file","dict","ldap","sftp","tftp"].
   * gopher/dict/file/ldap/tftp are always findings (rule "dangerous-scheme"). For isPublicUrl, the
   * schemes accepted instead (default ["http","https"]).
   */
  schemes?: readonly string[];
}

/**
 * One URL as the detector judged it. `range` is the most severe range among the addresses known
 * for the host ("public" when none is known to be otherwise, including a host that did not
 * resolve: read `findings`, which carry the "unresolvable" verdict).
 */
export interface UrlVerdict {
  url: string;
  host: string;
  addresses: string[];
  range: AddressRange;
  findings: Finding[];
}

const DEFAULT_SCHEMES = ["http", "https", "ftp", "ws", "wss", "gopher", "file", "dict", "ldap", "sftp", "tftp"] as const;
/** Schemes that exist in SSRF mostly to smuggle raw bytes to another protocol (gopher, dict) or to read local files. */
const DANGEROUS_SCHEMES = new Set(["gopher", "dict", "file", "ldap", "tftp"]);
/** WHATWG "special" schemes: their hosts are parsed as IPv4/IPv6/domains and `\` ends the authority. */
const SPECIAL_SCHEMES = new Set(["http", "https", "ws", "wss", "ftp", "file"]);
const DEFAULT_TIMEOUT_MS = 2000;
/** Distinct host names resolved per text: a text with thousands of names cannot turn the gateway into a resolver flood. Names past it are "unresolvable". */
const MAX_LOOKUPS = 32;
/** Longer than any real host name (253) plus brackets and encodings; longer input is not an address. */
const MAX_HOST_LENGTH = 512;

/** Names that always mean this machine or a cloud metadata service, resolved or not (RFC 6761 `.localhost`; the providers' documented names). */
const LOOPBACK_NAME = /^(?:localhost|[a-z0-9-]{1,63}(?:\.[a-z0-9-]{1,63}){0,8}\.localhost)$/;
const METADATA_NAMES = new Set(["metadata", "metadata.google.internal", "metadata.goog", "instance-data", "instance-data.ec2.internal"]);

// ---------------------------------------------------------------------------------------------
// Parsing an address

interface ParsedHost {
  address: string;
  family: 4 | 6;
  /** False when an IPv4 address was written other than as four dotted decimal numbers (hex, octal, one number, short form, percent-encoded). */
  canonicalForm: boolean;
}

/**
 * Parses a host as an IP address in every encoding browsers/curl/inet_aton accept: dotted decimal, single 32-bit decimal (2130706433), hex (0x7f000001, 0x7f.0.0.1), octal (0177.0.0.1, 017700000001), mixed, short forms (127.1, 10.1.1), IPv6 incl. brackets, zone ids, IPv4-mapped/compatible (::ffff:127.0.0.1, ::ffff:7f00:1), NAT64 64:ff9b::/96, 6to4 2002::/16 embedding, trailing dot. Returns the canonical address string or undefined if not an IP.
 */
export function parseHostAddress(host: string): { address: string; family: 4 | 6 } | undefined {
  const parsed = parseHost(host);
  return parsed === undefined ? undefined : { address: parsed.address, family: parsed.family };
}

/** NFKC plus the dots UTS 46 maps to "." (ideographic and half-width full stops), as URL parsers do for hosts. */
function foldHost(host: string): string {
  return host.normalize("NFKC").replace(/[\u3002\uFF0E\uFF61]/g, ".").trim();
}

function parseHost(host: string): ParsedHost | undefined {
  let h = foldHost(host);
  if (h.length === 0 || h.length > MAX_HOST_LENGTH) return undefined;
  if (h.startsWith("[")) return h.endsWith("]") ? parseV6(h.slice(1, -1)) : undefined;
  if (h.includes(":")) return parseV6(h);
  let decoded = false;
  if (h.includes("%")) {
    try {
      h = foldHost(decodeURIComponent(h));
    } catch {
      return undefined;
    }
    decoded = true;
    if (h.includes(":")) return parseV6(h);
  }
  h = h.toLowerCase();
  if (h.endsWith(".")) h = h.slice(0, -1);
  const value = parseV4Number(h);
  if (value === undefined) return undefined;
  const address = [value >>> 24, (value >>> 16) & 255, (value >>> 8) & 255, value & 255].join(".");
  return { address, family: 4, canonicalForm: !decoded && h === address };
}

/**
 * An IPv6 literal without brackets; a zone id (`%eth0`, `%25eth0`) names an interface, not an
 * address, and is dropped. A dotted IPv4 tail is turned into two hex groups first: ipaddr.js reads
 * `::127.0.0.1` as `::ffff:127.0.0.1`, and the canonical string must be the address written.
 */
function parseV6(text: string): ParsedHost | undefined {
  const zone = text.indexOf("%");
  let bare = (zone === -1 ? text : text.slice(0, zone)).toLowerCase();
  const tail = /^([0-9a-f:]*:)(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(bare);
  if (tail !== null) {
    const octets = tail.slice(2, 6).map(Number);
    if (octets.some((o) => o > 255)) return undefined;
    const [a = 0, b = 0, c = 0, d = 0] = octets;
    bare = `${tail[1] ?? ""}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  if (!ipaddr.IPv6.isValid(bare)) return undefined;
  return { address: ipaddr.IPv6.parse(bare).toString(), family: 6, canonicalForm: true };
}

/**
 * The WHATWG URL IPv4 parser (which follows inet_aton): one to four parts, each decimal, octal
 * (leading 0) or hex (0x, possibly with no digits), the last filling the remaining bytes.
 */
function parseV4Number(h: string): number | undefined {
  const parts = h.split(".");
  if (parts.length > 4) return undefined;
  const numbers: number[] = [];
  for (const part of parts) {
    const n = parseV4Part(part);
    if (n === undefined) return undefined;
    numbers.push(n);
  }
  const last = numbers.pop();
  if (last === undefined || numbers.some((n) => n > 255)) return undefined;
  if (last >= 256 ** (4 - numbers.length)) return undefined;
  let value = last;
  numbers.forEach((n, i) => (value += n * 256 ** (3 - i)));
  return value;
}

function parseV4Part(part: string): number | undefined {
  if (part.length === 0 || part.length > 40) return undefined;
  if (/^0x[0-9a-f]*$/.test(part)) return part.length === 2 ? 0 : Number.parseInt(part.slice(2), 16);
  if (/^0[0-7]+$/.test(part)) return Number.parseInt(part.slice(1), 8);
  if (/^(?:0|[1-9][0-9]*)$/.test(part)) return Number.parseInt(part, 10);
  return undefined;
}

// ---------------------------------------------------------------------------------------------
// Classifying an address

type Cidr = [ipaddr.IPv4 | ipaddr.IPv6, number];

/** First match wins: the metadata endpoints sit inside link-local, CGNAT and IETF ranges and must be named as what they are. */
const V4_RANGES: readonly (readonly [AddressRange, readonly Cidr[]])[] = table((c) => ipaddr.IPv4.parseCIDR(c), [
  // AWS/GCP/Azure IMDS, AWS ECS task credentials, EKS Pod Identity, Alibaba, Oracle.
  ["metadata", ["169.254.169.254/32", "169.254.170.2/32", "169.254.170.23/32", "100.100.100.200/32", "192.0.0.192/32"]],
  // "This network": 0.0.0.0 reaches the local host on Linux and macOS.
  ["unspecified", ["0.0.0.0/8"]],
  ["loopback", ["127.0.0.0/8"]],
  ["private", ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"]],
  ["linkLocal", ["169.254.0.0/16"]],
  ["carrierGradeNat", ["100.64.0.0/10"]],
  ["documentation", ["192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24"]],
  ["broadcast", ["255.255.255.255/32"]],
  ["multicast", ["224.0.0.0/4"]],
  // Future use, IETF protocol assignments, benchmarking, the retired 6to4 relay anycast.
  ["reserved", ["240.0.0.0/4", "192.0.0.0/24", "198.18.0.0/15", "192.88.99.0/24"]],
]);

const V6_RANGES: readonly (readonly [AddressRange, readonly Cidr[]])[] = table((c) => ipaddr.IPv6.parseCIDR(c), [
  ["metadata", ["fd00:ec2::254/128", "fd00:ec2::23/128"]],
  ["unspecified", ["::/128"]],
  ["loopback", ["::1/128"]],
  ["linkLocal", ["fe80::/10"]],
  ["uniqueLocal", ["fc00::/7"]],
  // Local-use NAT64 (RFC 8215): reaches whatever the operator's translator reaches.
  ["private", ["64:ff9b:1::/48"]],
  ["multicast", ["ff00::/8"]],
  ["documentation", ["2001:db8::/32", "3fff::/20"]],
  // Deprecated site-local, discard-only, benchmarking, ORCHID, SRv6 SIDs.
  ["reserved", ["fec0::/10", "100::/64", "2001:2::/48", "2001:10::/28", "2001:20::/28", "5f00::/16"]],
]);
/** Global unicast: IPv6 outside it is not routable on the internet. */
const GLOBAL_UNICAST = ipaddr.IPv6.parseCIDR("2000::/3");
const NAT64 = ipaddr.IPv6.parseCIDR("64:ff9b::/96");
const TRANSLATED = ipaddr.IPv6.parseCIDR("::ffff:0:0:0/96");
const SIX_TO_FOUR = ipaddr.IPv6.parseCIDR("2002::/16");

function table(parse: (cidr: string) => Cidr, rows: readonly (readonly [AddressRange, readonly string[]])[]) {
  return rows.map(([range, cidrs]) => [range, cidrs.map(parse)] as const);
}

/**
 * Classifies an address (the embedded IPv4 for mapped/NAT64/6to4 forms). metadata = 169.254.169.254, fd00:ec2::254, 100.100.100.200 (Alibaba), 192.0.0.192 (Oracle).
 * Also accepts any encoding parseHostAddress accepts; throws a TypeError for a string that is not an address.
 */
export function classifyAddress(address: string): AddressRange {
  const ip = toIp(address);
  if (ip === undefined) throw new TypeError(`not an IP address: ${address.slice(0, 100)}`);
  return classifyIp(ip);
}

function toIp(address: string): ipaddr.IPv4 | ipaddr.IPv6 | undefined {
  const parsed = parseHost(address);
  if (parsed === undefined) return undefined;
  return parsed.family === 4 ? ipaddr.IPv4.parse(parsed.address) : ipaddr.IPv6.parse(parsed.address);
}

function classifyIp(ip: ipaddr.IPv4 | ipaddr.IPv6): AddressRange {
  if (ip.kind() === "ipv6") {
    const v6 = ip as ipaddr.IPv6;
    const v4 = embeddedIPv4(v6);
    if (v4 !== undefined) return classifyIp(v4);
    const found = V6_RANGES.find(([, cidrs]) => cidrs.some((c) => v6.match(c)));
    if (found !== undefined) return found[0];
    return v6.match(GLOBAL_UNICAST) ? "public" : "reserved";
  }
  return V4_RANGES.find(([, cidrs]) => cidrs.some((c) => ip.match(c)))?.[0] ?? "public";
}

/**
 * The IPv4 address an IPv6 address carries and that a dual-stack host, a NAT64 translator or a
 * 6to4 relay would reach: IPv4-mapped (::ffff:a.b.c.d), IPv4-compatible (::a.b.c.d, deprecated
 * but still parsed), IPv4-translated (::ffff:0:a.b.c.d), NAT64 (64:ff9b::/96) and 6to4
 * (2002:AABB:CCDD::/48). Teredo is left to its prefix: its client address is that of a NAT.
 */
function embeddedIPv4(v6: ipaddr.IPv6): ipaddr.IPv4 | undefined {
  const p = v6.parts;
  const fromWords = (hi: number, lo: number) => new ipaddr.IPv4([hi >> 8, hi & 255, lo >> 8, lo & 255]);
  const w = (i: number) => p[i] ?? 0;
  if (v6.isIPv4MappedAddress() || v6.match(NAT64) || v6.match(TRANSLATED)) return fromWords(w(6), w(7));
  const compatible = p.slice(0, 6).every((x) => x === 0) && (w(6) !== 0 || w(7) > 1);
  if (compatible) return fromWords(w(6), w(7));
  if (v6.match(SIX_TO_FOUR)) return fromWords(w(1), w(2));
  return undefined;
}

/** Most severe first: the range a verdict reports when a host has addresses in several. */
const SEVERITY: readonly AddressRange[] = [
  "metadata",
  "loopback",
  "unspecified",
  "linkLocal",
  "private",
  "uniqueLocal",
  "carrierGradeNat",
  "broadcast",
  "multicast",
  "reserved",
  "documentation",
  "public",
];

function worst(ranges: readonly AddressRange[]): AddressRange {
  return SEVERITY.find((r) => ranges.includes(r)) ?? "public";
}

const RULES: Record<Exclude<AddressRange, "public">, { rule: string; label: string }> = {
  metadata: { rule: "metadata", label: "a cloud metadata service" },
  loopback: { rule: "loopback", label: "a loopback address" },
  unspecified: { rule: "unspecified", label: "the unspecified address (this host)" },
  linkLocal: { rule: "link-local", label: "a link-local address" },
  private: { rule: "private", label: "a private-network address" },
  uniqueLocal: { rule: "unique-local", label: "an IPv6 unique-local address" },
  carrierGradeNat: { rule: "carrier-grade-nat", label: "a carrier-grade NAT (shared) address" },
  broadcast: { rule: "broadcast", label: "the broadcast address" },
  multicast: { rule: "multicast", label: "a multicast address" },
  reserved: { rule: "reserved", label: "a reserved address" },
  documentation: { rule: "documentation", label: "a documentation-only address" },
};

// ---------------------------------------------------------------------------------------------
// The allow list

interface AllowList {
  names: Set<string>;
  suffixes: string[];
  cidrs: Cidr[];
}

function parseAllow(entries: readonly string[]): AllowList {
  const list: AllowList = { names: new Set(), suffixes: [], cidrs: [] };
  for (const raw of entries) {
    const entry = raw.trim().toLowerCase();
    if (ipaddr.isValidCIDR(entry)) list.cidrs.push(ipaddr.parseCIDR(entry));
    else if (ipaddr.isValid(entry.replace(/^\[|\]$/g, ""))) {
      const ip = ipaddr.parse(entry.replace(/^\[|\]$/g, ""));
      list.cidrs.push([ip, ip.kind() === "ipv4" ? 32 : 128]);
    } else if (entry.startsWith("*.") || entry.startsWith(".")) list.suffixes.push(entry.slice(entry.indexOf(".")).replace(/\.$/, ""));
    else list.names.add(entry.replace(/\.$/, ""));
  }
  return list;
}

function nameAllowed(list: AllowList, host: string): boolean {
  return list.names.has(host) || list.suffixes.some((s) => host.endsWith(s));
}

function addressAllowed(list: AllowList, ip: ipaddr.IPv4 | ipaddr.IPv6, range: AddressRange): boolean {
  const v4 = ip.kind() === "ipv6" ? embeddedIPv4(ip as ipaddr.IPv6) : undefined;
  return list.cidrs.some(([net, bits]) => {
    if (range === "metadata" && bits !== (net.kind() === "ipv4" ? 32 : 128)) return false;
    if (net.kind() === ip.kind() && ip.match(net, bits)) return true;
    return v4 !== undefined && net.kind() === "ipv4" && v4.match(net, bits);
  });
}

// ---------------------------------------------------------------------------------------------
// Finding URLs in text

/** One inspection: its options resolved once, and the DNS answers it has asked for (one lookup per name). */
interface Context {
  resolve: boolean;
  timeoutMs: number;
  allow: AllowList;
  /** The candidate pattern for the schemes checked. */
  pattern: RegExp;
  lookups: Map<string, Promise<LookupResult>>;
}

type LookupResult = { addresses: string[] } | { error: string };

function context(options: SsrfOptions = {}, schemes?: readonly string[]): Context {
  const given = schemes ?? options.schemes;
  return {
    resolve: options.resolve ?? true,
    timeoutMs: options.timeoutMs ?? DEFAULT_TIMEOUT_MS,
    allow: parseAllow(options.allow ?? []),
    pattern: given === undefined ? DEFAULT_PATTERN : candidatePatternFor(given.map((s) => s.toLowerCase())),
    lookups: new Map(),
  };
}

/** Candidate patterns by scheme list, compiled once each (a configuration names a few lists; the map is bounded all the same). */
const candidatePatterns = new Map<string, RegExp>();

function candidatePatternFor(schemes: readonly string[]): RegExp {
  const key = JSON.stringify(schemes);
  let pattern = candidatePatterns.get(key);
  if (pattern === undefined) {
    pattern = candidatePattern(schemes);
    if (candidatePatterns.size >= 64) candidatePatterns.clear();
    candidatePatterns.set(key, pattern);
  }
  return pattern;
}

/**
 * A URL-looking run: a checked scheme (not preceded by a scheme character, so `xhttp:` is not
 * `http:`) with up to eight slashes or backslashes, or a bare `//` that starts a token; then the
 * authority (up to the first `/`, `\`, `?`, `#`) and the path, each bounded. Every quantifier is
 * bounded and the classes that follow one another barely overlap: matching is linear in the text.
 */
function candidatePattern(schemes: readonly string[]): RegExp {
  const names = [...schemes].sort((a, b) => b.length - a.length).map((s) => s.replace(/[.+]/g, "\\$&"));
  const scheme = names.length > 0 ? `(?<![A-Za-z0-9+.\\-])(${names.join("|")}):([\\\\/]{0,8})` : "(?!)";
  return new RegExp(`(?:${scheme}|(?<![\\w:/\\\\])(//))([^\\s/\\\\?#"'<>\`]{0,512})([^\\s"'<>\`]{0,256})`, "giu");
}

/** The pattern for the default schemes (already lower case), the one nearly every inspection uses. */
const DEFAULT_PATTERN = candidatePattern(DEFAULT_SCHEMES);

interface Candidate {
  /** Lowercase scheme, "" for a protocol-relative `//host`. */
  scheme: string;
  text: string;
  authority: string;
}

function* candidates(text: string, ctx: Context): Generator<Candidate> {
  const re = new RegExp(ctx.pattern.source, ctx.pattern.flags);
  let m: RegExpExecArray | null;
  while ((m = re.exec(text)) !== null) {
    const [, schemeRaw, slashes, protocolRelative, authorityRaw = "", path = ""] = m;
    // Continue after the authority: a URL in this one's path or query (a redirect target) is a URL too.
    re.lastIndex = m.index + m[0].length - path.length;
    const scheme = protocolRelative !== undefined ? "" : (schemeRaw ?? "").toLowerCase();
    const authority = path === "" ? trimTrailing(authorityRaw) : authorityRaw;
    if (authority === "" && scheme !== "file") continue;
    // `http:host` (no slashes) is a URL only for the special schemes; `note:x` with another scheme is prose.
    if (scheme !== "" && slashes === "" && !SPECIAL_SCHEMES.has(scheme)) continue;
    const head = m[0].slice(0, m[0].length - authorityRaw.length - path.length);
    yield { scheme, text: head + authority + trimTrailing(path), authority };
  }
}

/** Prose punctuation after a URL ("see http://10.0.0.1.", "(http://localhost)") is not part of it. */
function trimTrailing(s: string): string {
  let end = s.length;
  let opens = 0;
  let closes = 0;
  for (const c of s) {
    if (c === "(") opens++;
    else if (c === ")") closes++;
  }
  while (end > 0) {
    const c = s[end - 1];
    if (c !== undefined && ".,;:!?".includes(c)) end--;
    else if (c === ")" && closes > opens) {
      end--;
      closes--;
    } else break;
  }
  return s.slice(0, end);
}

/** The host as written in an authority: after the last `@`, without the port. */
function writtenHost(authority: string): string {
  const afterAt = authority.slice(authority.lastIndexOf("@") + 1);
  if (afterAt.startsWith("[")) {
    const close = afterAt.indexOf("]");
    return close === -1 ? afterAt : afterAt.slice(0, close + 1);
  }
  const colon = afterAt.lastIndexOf(":");
  return colon === -1 ? afterAt : afterAt.slice(0, colon);
}

/**
 * Every URL-looking thing in text (scheme://… and also bare host[:port]/path forms starting with // or a known scheme), decoded (percent-decoding of the host, IDNA via new URL), checked.
 * Each distinct URL is judged once; the text is normalized (NFKC, invisible characters removed) first.
 */
export async function inspectUrls(text: string, options?: SsrfOptions): Promise<UrlVerdict[]> {
  const normalized = normalizeForMatching(text);
  // Every candidate holds the `:` after its scheme or a leading `//`: text with neither has no URL.
  if (!normalized.includes(":") && !normalized.includes("//")) return [];
  const ctx = context(options);
  const seen = new Map<string, Promise<UrlVerdict | undefined>>();
  for (const c of candidates(normalized, ctx)) {
    if (!seen.has(c.text)) seen.set(c.text, judge(c, ctx));
  }
  const verdicts = await Promise.all(seen.values());
  return verdicts.filter((v): v is UrlVerdict => v !== undefined);
}

/**
 * The verdict on one URL. The host is the one WHATWG URL parsing finds (what fetch and Node's
 * clients connect to, so `http://public.com@127.0.0.1` is 127.0.0.1); for a URL WHATWG refuses
 * (an IPv6 zone id, say) the written host is used when it is an address, and anything else is not
 * a URL.
 *
 * An IPv4 address written in any form but four dotted decimals (`0x7f.1`, `2130706433`,
 * `%31%32%37.0.0.1`) is a "non-canonical-ip" finding even when the address is public: no client
 * writes one by accident, and the forms exist to slip past filters that compare strings. The
 * address is classified by its real value as well.
 */
async function judge(c: Candidate, ctx: Context): Promise<UrlVerdict | undefined> {
  const findings: Finding[] = [];
  const add = (rule: string, message: string) => {
    if (!findings.some((f) => f.rule === rule && f.message === message)) findings.push({ detector: "ssrf", rule, message });
  };
  let url: URL | undefined;
  try {
    url = new URL(c.scheme === "" ? `http:${c.text}` : c.text);
  } catch {
    url = undefined;
  }
  const written = parseHost(writtenHost(c.authority));
  let host: string;
  if (url !== undefined) host = url.hostname.replace(/^\[|\]$/g, "");
  else if (written !== undefined) host = written.address;
  else return undefined;

  // Non-special schemes keep an opaque, percent-encoded host: decode and read it as curl would.
  const ip = parseHost(host);
  const nameHost = host.toLowerCase().replace(/\.$/, "");
  // `//word` in prose (a comment, a path) is no URL; `//10.0.0.1`, `//localhost`, `//example.com/x` are.
  if (c.scheme === "" && ip === undefined && !nameHost.includes(".") && !LOOPBACK_NAME.test(nameHost) && !METADATA_NAMES.has(nameHost)) return undefined;

  const scheme = c.scheme === "" ? "http" : c.scheme;
  if (DANGEROUS_SCHEMES.has(scheme)) add("dangerous-scheme", `${scheme}: URLs reach local files or other protocols and are never fetched on a caller's behalf`);
  if ((url !== undefined && (url.username !== "" || url.password !== "")) || (url === undefined && c.authority.includes("@")))
    add("credentials-in-url", `the URL carries user info before "@"; its real host is ${clip(host)}`);

  if (written !== undefined && written.family === 4 && !written.canonicalForm)
    add("non-canonical-ip", `the host is the IPv4 address ${written.address} written in a non-standard encoding`);

  const addresses: string[] = [];
  const ranges: AddressRange[] = [];
  const judgeAddress = (address: string, how: string) => {
    const parsed = toIp(address);
    if (parsed === undefined) return;
    const range = classifyIp(parsed);
    ranges.push(range);
    if (range === "public" || addressAllowed(ctx.allow, parsed, range)) return;
    const said = how === "is" && address === host ? `host ${address} is` : `host ${clip(host)} ${how} ${address},`;
    add(RULES[range].rule, `${said} ${RULES[range].label}`);
  };

  if (host === "") {
    // file:///path: no host to reach; the scheme finding says it all.
  } else if (ip !== undefined) {
    addresses.push(ip.address);
    judgeAddress(ip.address, "is");
  } else if (!nameAllowed(ctx.allow, nameHost)) {
    const named: AddressRange | undefined = LOOPBACK_NAME.test(nameHost) ? "loopback" : METADATA_NAMES.has(nameHost) ? "metadata" : undefined;
    if (named !== undefined) {
      ranges.push(named);
      add(RULES[named].rule, `host ${clip(host)} is ${RULES[named].label} by name`);
    }
    if (ctx.resolve) {
      const result = await lookup(nameHost, ctx);
      if ("error" in result) add("unresolvable", `host ${clip(host)} could not be resolved (${result.error})`);
      else
        for (const a of result.addresses) {
          addresses.push(a);
          judgeAddress(a, "resolves to");
        }
    }
  }
  return { url: c.text, host, addresses, range: worst(ranges), findings };
}

function clip(s: string): string {
  return s.length > 100 ? `${s.slice(0, 100)}…` : s;
}

/** One lookup per name per inspection, at most MAX_LOOKUPS names, each bounded by the timeout. */
function lookup(name: string, ctx: Context): Promise<LookupResult> {
  const known = ctx.lookups.get(name);
  if (known !== undefined) return known;
  const result: Promise<LookupResult> =
    ctx.lookups.size >= MAX_LOOKUPS
      ? Promise.resolve({ error: `not looked up: more than ${MAX_LOOKUPS} host names in one text` })
      : lookupAll(name, ctx.timeoutMs);
  ctx.lookups.set(name, result);
  return result;
}

async function lookupAll(name: string, timeoutMs: number): Promise<LookupResult> {
  if (!/^[a-z0-9_.-]{1,253}$/.test(name)) return { error: "not a valid host name" };
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(Object.assign(new Error("timed out"), { code: "ETIMEOUT" })), timeoutMs);
    timer.unref();
  });
  try {
    const answers = await Promise.race([dns.lookup(name, { all: true }), timeout]);
    if (answers.length === 0) return { error: "no addresses" };
    return { addresses: answers.map((a) => a.address) };
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    return { error: typeof code === "string" ? code : "lookup failed" };
  } finally {
    clearTimeout(timer);
  }
}

/** The detector the validate stage runs: every finding of every URL in the text. */
export function ssrfDetector(options?: SsrfOptions): { readonly name: "ssrf"; detect(text: string): Promise<Finding[]> } {
  return {
    name: "ssrf",
    async detect(text: string): Promise<Finding[]> {
      const verdicts = await inspectUrls(text, options);
      return verdicts.flatMap((v) => v.findings);
    },
  };
}

/**
 * True when `url` is an https? URL whose host is public by the same rules (used by argument rules like "only public https URLs"); resolves DNS per options.
 * `schemes` are the schemes accepted (default http and https). User info in the URL is refused:
 * it only ever serves to make the real host hard to read.
 */
export async function isPublicUrl(url: string, options?: SsrfOptions & { schemes?: readonly string[] }): Promise<{ ok: boolean; reason: string }> {
  const accepted = (options?.schemes ?? ["http", "https"]).map((s) => s.toLowerCase());
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return { ok: false, reason: "not a valid absolute URL" };
  }
  const scheme = parsed.protocol.slice(0, -1);
  if (!accepted.includes(scheme)) return { ok: false, reason: `scheme ${scheme} is not accepted (accepted: ${accepted.join(", ")})` };
  const ctx = context(options, [scheme]);
  // The authority as written, for the encoding check; the host itself is the one WHATWG parsing found.
  const written = /^[a-z][a-z0-9+.-]{0,31}:[\\/]{0,8}([^/\\?#]{0,512})/i.exec(normalizeForMatching(url).trim());
  const candidate: Candidate = { scheme, text: url, authority: written?.[1] ?? parsed.host };
  const verdict = await judge(candidate, ctx);
  if (verdict === undefined) return { ok: false, reason: "the URL has no host that can be judged" };
  if (verdict.host === "") return { ok: false, reason: "the URL has no host" };
  if (verdict.findings.length > 0) return { ok: false, reason: verdict.findings.map((f) => f.message).join("; ") };
  return { ok: true, reason: verdict.addresses.length > 0 ? `public host (${verdict.addresses.join(", ")})` : "public host (not resolved)" };
}
