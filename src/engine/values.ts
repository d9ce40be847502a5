import type { FieldType } from "../config/types.js";
import { ABSENT, parseRfc3339, toNumber } from "../expression/index.js";
import { formatResults } from "../jsonpath/index.js";

/** Value conversion of SPEC §3.5 and parameter binding of §3.4. */

export type Conversion = { ok: true; value: number } | { ok: false; reason: string };

/** Numeric strings follow the expression language's rule, so a path and an expression agree. */
export function parseNumericString(s: string): number | undefined {
  return toNumber(s);
}

function fail(reason: string): Conversion {
  return { ok: false, reason };
}

/**
 * What a bad value is, never what it holds: messages reach logs and status, and object fields
 * may be sensitive.
 */
function describe(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "a list";
  if (typeof v === "string") return v === "" ? "an empty string" : `a string of ${v.length} characters`;
  return typeof v === "object" ? "an object" : `a ${typeof v}`;
}

/** Convert a valueFromPath result according to the metric's field type. */
export function convertPathValue(v: unknown, fieldType: FieldType | undefined): Conversion {
  switch (fieldType) {
    case "DateTime": {
      if (typeof v === "string") {
        const t = parseRfc3339(v);
        if (t !== undefined) return { ok: true, value: t };
      }
      return fail(`DateTime value is not an RFC 3339 time: ${describe(v)}`);
    }
    case "Integer": {
      if (typeof v === "number") return { ok: true, value: v };
      if (typeof v === "boolean") return { ok: true, value: v ? 1 : 0 };
      if (typeof v === "string") {
        const n = parseNumericString(v);
        if (n !== undefined) return { ok: true, value: n };
      }
      return fail(`Integer value is not a number: ${describe(v)}`);
    }
    case "String": {
      if (typeof v === "string") {
        const n = parseNumericString(v);
        if (n !== undefined) return { ok: true, value: n };
      }
      if (typeof v === "number") return { ok: true, value: v };
      return fail(`String value is not numeric: ${describe(v)}`);
    }
    default: {
      if (typeof v === "number") return { ok: true, value: v };
      if (typeof v === "boolean") return { ok: true, value: v ? 1 : 0 };
      if (typeof v === "string") {
        const n = parseNumericString(v);
        if (n !== undefined) return { ok: true, value: n };
        const t = parseRfc3339(v);
        if (t !== undefined) return { ok: true, value: t };
      }
      return fail(`value is not a number, boolean, numeric string or RFC 3339 time: ${describe(v)}`);
    }
  }
}

/** An expression's result: number as is, boolean 1/0, numeric string parsed. */
export function convertExpressionResult(v: unknown): Conversion {
  if (typeof v === "number") return { ok: true, value: v };
  if (typeof v === "boolean") return { ok: true, value: v ? 1 : 0 };
  if (typeof v === "string") {
    const n = parseNumericString(v);
    if (n !== undefined) return { ok: true, value: n };
  }
  if (v === ABSENT) return fail("expression result is absent (a parameter had no value)");
  return fail(`expression result is not a number: ${describe(v)}`);
}

function isScalar(v: unknown): boolean {
  return typeof v !== "object" || v === null;
}

/**
 * A parameter's value from its path results: no result (or only nulls) → ABSENT; scalars → the
 * same text a label would get; one map or list → the structure itself; several with structures →
 * the list of results.
 */
export function bindParam(results: readonly unknown[]): unknown {
  if (results.length === 1) {
    // One result, as most parameters have: no filtered copy.
    const r = results[0];
    if (r === null || r === undefined) return ABSENT;
    return isScalar(r) ? (formatResults(results) ?? ABSENT) : r;
  }
  const present = results.filter((r) => r !== null && r !== undefined);
  if (present.length === 0) return ABSENT;
  if (present.every(isScalar)) return formatResults(present) ?? ABSENT;
  return present.length === 1 ? present[0] : present;
}
