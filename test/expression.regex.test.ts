import { describe, expect, it } from "@jest/globals";
import { ExpressionError } from "../src/expression/index.js";
import { compileRegex } from "../src/expression/regex.js";
import { errorOf, run } from "./expression.helpers.js";

const matches = (pattern: string, subject: string): boolean => compileRegex(pattern, 1).test(subject);

describe("regex matcher", () => {
  it.each<[string, string, boolean]>([
    ["", "", true],
    ["", "abc", true],
    ["b", "abc", true],
    ["^b", "abc", false],
    ["^a", "abc", true],
    ["c$", "abc", true],
    ["c$", "abc\n", false], // Go: $ is end of text without (?m); JavaScript would match
    ["(?m)c$", "abc\nd", true],
    ["(?m)^d", "abc\nd", true],
    ["^d", "abc\nd", false],
    ["a.c", "abc", true],
    ["a.c", "a\nc", false],
    ["(?s)a.c", "a\nc", true],
    ["^a*$", "", true],
    ["^a+$", "", false],
    ["^a?b$", "b", true],
    ["^a{2}$", "aa", true],
    ["^a{2}$", "aaa", false],
    ["^a{2,}$", "aaaa", true],
    ["^a{2,3}$", "aaaa", false],
    ["^a{0,1}b$", "ab", true],
    ["a{,2}", "a{,2}", true], // not a repetition: literal, as in Go
    ["^(ab|cd)+$", "abcdab", true],
    ["^(ab|cd)+$", "abce", false],
    ["^(?:x|y)z$", "yz", true],
    ["^(?P<n>\\d+)-(?<m>\\w+)$", "12-ab_c", true],
    ["^[a-c]+$", "abcabc", true],
    ["^[a-c]+$", "abcd", false],
    ["^[^a-c]+$", "xyz", true],
    ["^[]a]+$", "]a]", true],
    ["^[a-]+$", "a-a", true],
    ["^[\\d.]+$", "1.2.3", true],
    ["^[\\]]$", "]", true],
    ["\\d+", "v12", true],
    ["^\\D+$", "v12", false],
    ["^\\w+$", "snake_case9", true],
    ["^\\W$", "-", true],
    ["\\s", "a b", true],
    ["^\\S+$", "a b", false],
    ["\\bfoo\\b", "a foo b", true],
    ["\\bfoo\\b", "afoob", false],
    ["\\Bfoo", "afoo", true],
    ["\\Aab", "abc", true],
    ["bc\\z", "abc", true],
    ["^\\.$", ".", true],
    ["^\\.$", "x", false],
    ["^a\\*$", "a*", true],
    ["^\\x41\\x{42}$", "AB", true],
    ["^\\t$", "\t", true],
    ["(?i)^abc$", "ABC", true],
    ["(?i)^[a-c]+$", "AbC", true],
    ["(?i)^[^a]$", "A", false],
    ["^a(?i)b$", "aB", true],
    ["^a(?i)b$", "AB", false],
    ["^(?i:a)b$", "Ab", true],
    ["^(?i:a)b$", "AB", false],
    ["^a+?$", "aaa", true],
    ["^é+$", "éé", true],
    ["^.$", "😀", true], // one code point, as Go's UTF-8 runes
    ["^[😀-😂]$", "😁", true],
    ["Running|Pending", "Pending", true],
    ["^(Running|Pending)$", "Failed", false],
  ])("%j on %j → %j", (pattern, subject, expected) => {
    expect(matches(pattern, subject)).toBe(expected);
  });

  it("agrees with JavaScript on patterns where the dialects coincide", () => {
    const patterns = [
      "^a(b|c)*d$",
      "x[0-9]{2,3}y",
      "(foo|bar)baz",
      "^\\w+@\\w+\\.com$",
      "a.?b",
      "(a|ab)(c|bcd)(d*)",
    ];
    const alphabet = ["a", "b", "c", "d", "x", "1", "2", "@", ".", "o", "f", "r", "z", "y", "m"];
    let seed = 7;
    const rand = (k: number): number => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return seed % k;
    };
    const mismatches: string[] = [];
    for (const p of patterns) {
      const js = new RegExp(p);
      const ours = compileRegex(p, 1);
      for (let k = 0; k < 400; k++) {
        const s = Array.from({ length: rand(10) }, () => alphabet[rand(alphabet.length)]).join("");
        if (ours.test(s) !== js.test(s)) mismatches.push(`${p} on ${s}`);
      }
    }
    expect(mismatches).toEqual([]);
  });

  it.each<[string, string]>([
    ["(a", 'missing ")"'],
    ["a)", 'unexpected ")" at offset 1'],
    ["[a", 'missing "]"'],
    ["*a", 'missing argument to repetition operator "*"'],
    ["a**", "invalid nested repetition operator"],
    ["a{2}{3}", "invalid nested repetition operator"],
    ["a{1001}", "invalid repeat count {1001}"],
    ["a{3,2}", "invalid repeat count {3,2}"],
    ["(a)\\1", "backreferences are not supported"],
    ["a(?=b)", "lookaround is not supported"],
    ["(?<!a)b", "lookaround is not supported"],
    ["(?#x)", "invalid or unsupported group syntax"],
    ["\\p{L}", "unsupported escape \\p"],
    ["[[:alpha:]]", "POSIX classes like [:alpha:] are not supported"],
    ["[z-a]", "invalid character class range"],
    ["a\\", "trailing backslash"],
    ["((((a{100}){100}){100}))", "pattern is too large once repetitions are expanded"],
    ["x".repeat(257), "pattern is 257 characters long, the limit is 256"],
  ])("rejects %j: %s", (pattern, why) => {
    expect(() => compileRegex(pattern, 1)).toThrow(ExpressionError);
    expect(() => compileRegex(pattern, 1)).toThrow(why);
  });

  it.each(["(a+)+$", "(a|aa)+$", "^a*a*a*a*a*$", "(.*){1,20}=x", "(x+x+)+y", "(\\w+\\s?)+$"])(
    "matches %j against a hostile 4096-character subject in linear time",
    (pattern) => {
      const subject = "a".repeat(4095) + "!";
      const started = performance.now();
      expect(matches(pattern, subject)).toBe(false);
      expect(performance.now() - started).toBeLessThan(2000);
    },
  );
});

describe("=~ and !~ in expressions", () => {
  it.each<[string, Record<string, unknown>, boolean]>([
    ["phase =~ '^Succ'", { phase: "Succeeded" }, true],
    ["phase !~ '^Succ'", { phase: "Succeeded" }, false],
    ["name =~ '\\d+$'", { name: "backup-123" }, true],
    ["name =~ p", { name: "backup-123", p: "^backup-" }, true],
    ["name =~ p", { name: "backup-123", p: "^restore-" }, false],
    ["n =~ '^4'", { n: 42 }, true],
    ["b =~ 'ru'", { b: true }, true],
    ["x =~ '^$'", { x: "" }, true],
  ])("%s with %j → %j", (source, params, value) => {
    expect(run(source, params)).toBe(value);
  });

  it("compiles literal patterns at load time", () => {
    expect(errorOf("x =~ '(a'").message).toBe('invalid regular expression "(a": missing ")" at 6');
  });

  it("bounds patterns and subjects that come from parameters", () => {
    expect(errorOf("x =~ p", { x: "a", p: "(b" }).message).toBe(
      'invalid regular expression "(b": missing ")" at 6',
    );
    expect(errorOf("x =~ p", { x: "a", p: "a".repeat(300) }).message).toMatch(/limit is 256 at 6$/);
    expect(errorOf("x =~ p", { x: "a", p: 3 }).message).toBe(
      "the pattern of =~ must be a string, got number 3 at 6",
    );
    expect(errorOf("x =~ 'a'", { x: "a".repeat(5000) }).message).toBe(
      "=~: string is longer than 4096 characters at 3",
    );
    expect(errorOf("x =~ 'a'", { x: { a: 1 } }).message).toBe("=~ expects a string, got map at 3");
  });

  it("reuses regexes built from parameter values", () => {
    const started = performance.now();
    for (let k = 0; k < 2000; k++) run("x =~ p", { x: `v${k % 40}`, p: `^v${k % 40}$` });
    expect(performance.now() - started).toBeLessThan(5000);
  });
});
