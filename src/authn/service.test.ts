// Permission patterns: an API key's scope must be no wider than a permission of its owner's roles.
import { describe, expect, it } from "vitest";
import { covers } from "./service.ts";

describe("covers", () => {
  it("lets a pattern cover what it matches, and only that", () => {
    for (const [granted, wanted] of [["*", "anything.at.all"], ["*", "*"], ["everything.get*", "everything.get-sum"], ["everything.get*", "everything.get*"], ["fixture.echo", "fixture.echo"], ["files.*", "files.read_file"]] as const)
      expect(covers(granted, wanted), `${granted} ⊇ ${wanted}`).toBe(true);
    for (const [granted, wanted] of [["everything.get*", "*"], ["everything.get*", "everything.echo"], ["fixture.echo", "fixture.echo2"], ["fixture.echo", "fixture.*"], ["files.*", "filesX.read"], ["a.b", "a+b"]] as const)
      expect(covers(granted, wanted), `${granted} ⊉ ${wanted}`).toBe(false);
  });

  it("treats regular-expression characters in a permission literally", () => {
    expect(covers("a.(b)+[c]", "a.(b)+[c]")).toBe(true);
    expect(covers("a.(b)+[c]", "aX(b)+[c]")).toBe(false);
  });
});
