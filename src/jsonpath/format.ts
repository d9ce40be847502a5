/**
 * kubectl's `-o jsonpath` text output (client-go PrintResults), reproduced from observation of
 * kubectl 1.32 (test/fixtures/jsonpath/kubectl-expected.json):
 *
 * - strings are printed as is, booleans as true/false;
 * - numbers: kubectl holds JSON integers as int64 and prints them in full, and other numbers as
 *   float64 with Go's %v (shortest digits, exponent form below 1e-4 and from 1e6 on: `1e+06`,
 *   `1.2345675e+06`, `1e-05`). JavaScript cannot tell `1000000` from `1e6`, so integral values
 *   below 2^63 print as integers and everything else follows the float rule;
 * - maps and lists print as compact JSON the way Go's encoding/json writes it: map keys sorted,
 *   `<`, `>`, `&`, U+2028 and U+2029 escaped;
 * - results are joined with one space.
 *
 * null results are where we deliberately differ: kubectl prints the word `null`, but a label or
 * parameter whose field is null has no value (SPEC §3.3/§3.4, "a valuePath with no result omits
 * the label"), so null results are dropped, and when nothing is left the result is undefined
 * rather than "". Nulls nested inside a map or list are still written as `null`.
 */

import { JsonPathLimitError, PATH_LIMITS } from "./errors.js";
import { compareCodePoints } from "./native.js";

const INT64_LIMIT = 2 ** 63;

export function formatResults(values: readonly unknown[]): string | undefined {
  // One result is the common case (a label's field): no list to join.
  if (values.length === 1) return formatOne(values[0]);
  let out: string | undefined;
  for (const value of values) {
    const text = formatOne(value);
    if (text !== undefined) out = out === undefined ? text : `${out} ${text}`;
  }
  return out;
}

function formatOne(value: unknown): string | undefined {
  switch (typeof value) {
    case "string":
      return value;
    case "boolean":
      return value ? "true" : "false";
    case "number":
      return formatNumber(value);
    case "bigint":
      return value.toString();
    case "object":
      return value === null ? undefined : goJson(value);
    default:
      return undefined;
  }
}

function isInt64(n: number): boolean {
  return Number.isInteger(n) && n < INT64_LIMIT && n >= -INT64_LIMIT;
}

/** A number as kubectl prints a top-level result. */
export function formatNumber(n: number): string {
  if (isInt64(n)) return BigInt(n).toString();
  if (Number.isNaN(n)) return "NaN";
  if (!Number.isFinite(n)) return n > 0 ? "+Inf" : "-Inf";
  // Go's %v on float64 is %g with the shortest digits, which switches to exponent form when the
  // exponent is < -4 or >= 6 (kubectl prints 1e6 as "1e+06"); JavaScript switches only at 21.
  const [mantissa = "", exp = "0"] = n.toExponential().split("e");
  const e = Number(exp);
  if (e < -4 || e >= 6) {
    return `${mantissa}e${e < 0 ? "-" : "+"}${String(Math.abs(e)).padStart(2, "0")}`;
  }
  return String(n);
}

/** A number inside JSON output, as Go's encoding/json writes int64 and float64 values. */
function jsonNumber(n: number): string {
  if (isInt64(n)) return BigInt(n).toString();
  // encoding/json uses the ES6 number format for floats, which is what String() produces.
  return Number.isFinite(n) ? String(n) : "null";
}

const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;
const NEEDS_ESCAPE = /["\\\u0000-\u001f<>&\u2028\u2029]/;
const SHORT_ESCAPES: Readonly<Record<string, string>> = {
  '"': '\\"',
  "\\": "\\\\",
  "\b": "\\b",
  "\f": "\\f",
  "\n": "\\n",
  "\r": "\\r",
  "\t": "\\t",
};

function jsonString(s: string): string {
  // Go would have turned invalid UTF-8 into U+FFFD when decoding; lone surrogates are the
  // JavaScript equivalent.
  const text = s.replace(LONE_SURROGATE, "\ufffd");
  if (!NEEDS_ESCAPE.test(text)) return `"${text}"`;
  let out = '"';
  for (const ch of text) {
    const short = SHORT_ESCAPES[ch];
    if (short !== undefined) {
      out += short;
    } else if (ch < " " || ch === "<" || ch === ">" || ch === "&" || ch === "\u2028" || ch === "\u2029") {
      out += `\\u${ch.charCodeAt(0).toString(16).padStart(4, "0")}`;
    } else {
      out += ch;
    }
  }
  return `${out}"`;
}

/**
 * Compact JSON in Go encoding/json style; values JSON cannot hold are written as null. A map or
 * list nested deeper than PATH_LIMITS.maxFormatDepth throws JsonPathLimitError instead of
 * exhausting the stack.
 */
export function goJson(value: unknown, depth = 0): string {
  switch (typeof value) {
    case "string":
      return jsonString(value);
    case "number":
      return jsonNumber(value);
    case "boolean":
      return value ? "true" : "false";
    case "bigint":
      return value.toString();
    case "object": {
      if (value === null) return "null";
      if (depth >= PATH_LIMITS.maxFormatDepth) {
        throw new JsonPathLimitError(
          `a value nested more than ${PATH_LIMITS.maxFormatDepth} levels deep cannot be written as text`,
        );
      }
      if (Array.isArray(value)) {
        return `[${(value as unknown[]).map((v) => goJson(v, depth + 1)).join(",")}]`;
      }
      // Go sorts map keys by their UTF-8 bytes, i.e. by code point.
      const map = value as Record<string, unknown>;
      const members: string[] = [];
      for (const key of Object.keys(map).sort(compareCodePoints)) {
        const v = map[key];
        if (v === undefined || typeof v === "function" || typeof v === "symbol") continue;
        members.push(`${jsonString(key)}:${goJson(v, depth + 1)}`);
      }
      return `{${members.join(",")}}`;
    }
    default:
      return "null";
  }
}
