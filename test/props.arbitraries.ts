import fc from "fast-check";

/**
 * Generators of bad input for the property tests (test/props.*.test.ts): strings with astral
 * characters, lone surrogates and control characters, numbers at the edges, numeric-looking
 * strings, hostile keys, and token soups that are mostly-but-not-quite paths and expressions.
 */

/** Fixed so failures reproduce; fast-check prints the seed and path of any counterexample. */
export const SEED = 20_250_707;

const TRICKY = [
  "",
  " ",
  "\u0000",
  "a\u0000b",
  "\r",
  "line\r\nbreak",
  "\n",
  "\t",
  "\u007f",
  "\u0085",
  "\u2028",
  "\u2029",
  "\ufeff",
  "\ud800",
  "a\udc00b",
  "\udbff\udfff",
  "😀",
  "e\u0301",
  '"',
  "\\",
  '\\"',
  "\\n",
  "#",
  "# EOF",
  "{",
  "}",
  "=",
  ",",
  "'",
  "`",
  "${x}",
  "<script>",
  "__proto__",
  "constructor",
  "prototype",
  "toString",
  "hasOwnProperty",
] as const;

const NUMERIC_STRINGS = [
  "NaN",
  "nan",
  "Infinity",
  "-Infinity",
  "+Inf",
  "-Inf",
  "inf",
  "0x10",
  "0b1",
  "0o7",
  " 12 ",
  "12 ",
  "1e400",
  "-1e400",
  "1_000",
  "-0",
  "+5",
  ".5",
  "5.",
  "1e-400",
  "9007199254740993",
  "12.222 MiB",
  "806 B",
  "1m30.5s",
  "-1h",
  "150m",
  "5Gi",
  "25%",
  "2024-01-01T00:00:00Z",
  "2024-01-01T00:00:00.123456789+05:30",
  "2024-13-01T00:00:00Z",
  "0000-01-01T00:00:00Z",
  "true",
  "nil",
] as const;

export const EDGE_NUMBERS = [
  0,
  -0,
  1,
  -1,
  0.5,
  1e308,
  -1e308,
  1.7976931348623157e308,
  5e-324,
  -5e-324,
  Number.MAX_SAFE_INTEGER,
  Number.MAX_SAFE_INTEGER + 2,
  -(Number.MAX_SAFE_INTEGER + 2),
  2 ** 63,
  -(2 ** 63),
  2 ** 64,
  1e21,
  1e-7,
  0.1 + 0.2,
  NaN,
  Infinity,
  -Infinity,
] as const;

const controlString = fc.string({
  unit: fc.integer({ min: 0, max: 0x9f }).map((c) => String.fromCharCode(c)),
  maxLength: 8,
});

/** Any code point, lone surrogate halves included (fast-check's "binary" unit). */
const binaryString = fc.string({ unit: "binary", maxLength: 12 });

export const edgeString: fc.Arbitrary<string> = fc.oneof(
  { arbitrary: fc.constantFrom(...TRICKY), weight: 4 },
  { arbitrary: fc.constantFrom(...NUMERIC_STRINGS), weight: 3 },
  { arbitrary: binaryString, weight: 3 },
  { arbitrary: controlString, weight: 2 },
  { arbitrary: fc.string({ unit: "grapheme", maxLength: 6 }), weight: 2 },
  { arbitrary: fc.constantFrom("x".repeat(70_000), "é".repeat(5000)), weight: 1 },
);

export const edgeNumber: fc.Arbitrary<number> = fc.oneof(
  { arbitrary: fc.constantFrom(...EDGE_NUMBERS), weight: 3 },
  { arbitrary: fc.double(), weight: 1 },
  { arbitrary: fc.integer(), weight: 1 },
);

export const hostileKey: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom(
    "a",
    "b",
    "type",
    "status",
    "name",
    "items",
    "__proto__",
    "constructor",
    "prototype",
    "length",
  ),
  edgeString,
);

/** JSON-like values, built with own properties only (Object.fromEntries, never assignment). */
export const jsonValue: fc.Arbitrary<unknown> = fc.letrec<{ value: unknown }>((tie) => ({
  value: fc.oneof(
    { depthSize: "small", withCrossShrink: true },
    edgeString,
    edgeNumber,
    fc.boolean(),
    fc.constant(null),
    fc.array(tie("value"), { maxLength: 4 }),
    fc
      .array(fc.tuple(hostileKey, tie("value")), { maxLength: 4 })
      .map((entries) => Object.fromEntries(entries) as unknown),
  ),
})).value;

const GOOD_PATHS = [
  ".",
  ".metadata.name",
  ".metadata.namespace",
  ".spec",
  ".spec.a",
  ".spec.items",
  ".spec.items[*]",
  ".spec.items[*].a",
  ".spec.items[*].b",
  ".spec.items[0]",
  ".spec.items[-1].a",
  ".spec.items[0:2]",
  ".spec.items[0,1]",
  ".spec.items[?(@.a)]",
  ".spec.items[?(@.a == 'x')].b",
  ".spec.items[?(@.a > 1)].b",
  ".spec.*",
  "..a",
  "{.spec.a}",
  "$.spec.b",
  ".spec['a.b']",
  ".spec['__proto__']",
  ".status.conditions[*].type",
  ".spec.items[*]['a','b']",
] as const;

const PATH_TOKENS = [
  ".",
  "..",
  "[",
  "]",
  "[*]",
  ".*",
  "[0]",
  "[-1]",
  "[1:]",
  "[::2]",
  "[0,1]",
  "['a']",
  '["b"]',
  "[?(@.a)]",
  "[?(@.a=='x')]",
  "[?(",
  ")]",
  "@",
  "$",
  "a",
  "spec",
  "items",
  "{",
  "}",
  "(",
  ")",
  "^",
  "~",
  "`",
  "'",
  "\\",
  " ",
  "==",
  "&&",
  "constructor",
  "__proto__",
  "length",
  "@property",
] as const;

/** Mostly paths of the dialect, sometimes not. */
export const goodPath: fc.Arbitrary<string> = fc.oneof(
  { arbitrary: fc.constantFrom(...GOOD_PATHS), weight: 8 },
  { arbitrary: fc.constantFrom(...PATH_TOKENS).map((t) => `.spec${t}`), weight: 1 },
);

export const pathSource: fc.Arbitrary<string> = fc.oneof(
  { arbitrary: fc.constantFrom(...GOOD_PATHS), weight: 4 },
  {
    arbitrary: fc
      .array(fc.oneof(fc.constantFrom(...PATH_TOKENS), edgeString), { minLength: 1, maxLength: 8 })
      .map((t) => t.join("")),
    weight: 3,
  },
  { arbitrary: edgeString, weight: 1 },
);

export const PARAM_NAMES = ["p0", "p1", "p2"] as const;

const GOOD_EXPRESSIONS = [
  "1",
  "p0",
  "p0 == 'x' ? 1 : 0",
  "p0 != '' && p0 != 'nil'",
  "int(p0)",
  "bytes(p0)",
  "toSecond(p0)",
  "unix(p0)",
  "cpu_cores(p0)",
  "quantity(p0)",
  "percentage(p0, p1)",
  "percentage(p0, p1, true)",
  "p0 + p1",
  "p0 * 2 - p1 / 3 % 4 ** 2",
  "-p0",
  "!p0",
  "p0 =~ '^a+$'",
  "p0 !~ p1",
  "p0 IN ('a', 'b', 1)",
  "p0 IN p1",
  "p0 ?? p1",
  "p0.a.b",
  "p0 < p1",
] as const;

const EXPRESSION_TOKENS = [
  ...PARAM_NAMES,
  "1",
  "-0",
  "1e308",
  "0x10",
  "'s'",
  '"d"',
  "'",
  "true",
  "false",
  "+",
  "-",
  "*",
  "/",
  "%",
  "**",
  "!",
  "==",
  "!=",
  "<",
  ">=",
  "=~",
  "!~",
  "&&",
  "||",
  "?",
  ":",
  "??",
  "(",
  ")",
  ",",
  "IN",
  ".",
  "int(",
  "bytes(",
  "toSecond(",
  "unix(",
  "percentage(",
  "constructor",
  "__proto__",
  "this",
  "process",
  "globalThis",
  "import(",
  "`",
  "[",
  "]",
  " ",
] as const;

export const goodExpression: fc.Arbitrary<string> = fc.oneof(
  { arbitrary: fc.constantFrom(...GOOD_EXPRESSIONS), weight: 4 },
  { arbitrary: fc.constantFrom(...EXPRESSION_TOKENS).map((t) => `p0 ${t} 1`), weight: 1 },
);

export const expressionSource: fc.Arbitrary<string> = fc.oneof(
  { arbitrary: fc.constantFrom(...GOOD_EXPRESSIONS), weight: 3 },
  {
    arbitrary: fc
      .array(fc.oneof(fc.constantFrom(...EXPRESSION_TOKENS), edgeString), { minLength: 1, maxLength: 10 })
      .map((t) => t.join(" ")),
    weight: 3,
  },
  { arbitrary: edgeString, weight: 1 },
);
