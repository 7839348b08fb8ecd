// Matching a URI against an RFC 6570 URI template, to route `resources/read` of a templated resource to the upstream that declared it.

const escape = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

/** What each RFC 6570 operator may expand to, as a regular expression fragment (no quantified group whose body can match its own delimiter, so no catastrophic backtracking). */
const OPERATOR: Record<string, string> = {
  "": "[^/?#]*", // simple string expansion: reserved characters are percent-encoded
  "+": "[^#]*", // reserved expansion
  "#": "(?:#.*)?",
  ".": "(?:\\.[^/?#]*)?",
  "/": "(?:/[^/?#]*)*",
  ";": "(?:;[^/?#]*)?",
  "?": "(?:\\?[^#]*)?",
  "&": "(?:&[^#]*)?",
};

/** A predicate telling whether a URI could have been produced by `template`. */
export function compileTemplate(template: string): (uri: string) => boolean {
  let source = "^";
  let last = 0;
  for (const m of template.matchAll(/\{([+#./;?&]?)[^}]*\}/g)) {
    source += escape(template.slice(last, m.index)) + (OPERATOR[m[1] ?? ""] ?? "[^/?#]*");
    last = m.index + m[0].length;
  }
  source += `${escape(template.slice(last))}$`;
  const re = new RegExp(source);
  return (uri) => re.test(uri);
}
