/**
 * Runtime values of the expression language and the rules that relate them (equality,
 * numeric strings, boolean context). Kept apart from index.ts so internal modules do not
 * import the public entry point (an import cycle would make load order matter).
 */

/** The value of a parameter whose path had no result; equal to '', 'nil' and itself only. */
export const ABSENT: unique symbol = Symbol("absent");
export type Absent = typeof ABSENT;

export class ExpressionError extends Error {
  constructor(
    message: string,
    readonly position?: number,
  ) {
    super(message);
    this.name = "ExpressionError";
  }
}

/**
 * Decimal number grammar shared by numeric strings: optional sign, digits with an optional
 * fraction (either side of the point may be empty, not both), optional exponent. No
 * whitespace, no hex, no "NaN"/"Infinity" — the same set Go's ParseFloat accepts minus its
 * special spellings, so a string means the same number here as in Panopticon.
 */
const NUMERIC = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;

/** Longest string we try to read as a number; longer inputs are never numeric. */
const MAX_NUMERIC_LENGTH = 400;

/**
 * Numbers as they are; strings that spell a finite decimal number parsed; anything else
 * (booleans included — callers that accept booleans say so explicitly) undefined.
 */
export function toNumber(v: unknown): number | undefined {
  if (typeof v === "number") return v;
  if (typeof v !== "string" || v.length > MAX_NUMERIC_LENGTH || !NUMERIC.test(v)) return undefined;
  const n = Number(v);
  return Number.isFinite(n) ? n : undefined;
}

/** ABSENT and JSON null both mean "no value". */
export function isNothing(v: unknown): boolean {
  return v === ABSENT || v === null || v === undefined;
}

/** Plain JSON-like map: the only objects whose fields expressions may read. */
export function isPlainMap(v: unknown): v is Record<string, unknown> {
  if (typeof v !== "object" || v === null || Array.isArray(v)) return false;
  const proto: unknown = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

/**
 * Field of a plain map, read only when it is an own data property: a getter or anything
 * inherited (`constructor`, `__proto__`, …) reads as ABSENT, so no JS code can run.
 */
export function readOwn(map: Record<string, unknown>, key: string): unknown {
  const d = Object.getOwnPropertyDescriptor(map, key);
  return d !== undefined && "value" in d ? (d.value as unknown) : ABSENT;
}

/**
 * Boolean context (`!`, `&&`, `||`, `? :`, int()): booleans, and the strings "true"/"false"
 * because parameters bound from paths arrive as strings (SPEC §3.4).
 */
export function toBoolean(v: unknown): boolean | undefined {
  if (typeof v === "boolean") return v;
  if (v === "true") return true;
  if (v === "false") return false;
  return undefined;
}

/** Text form used by string concatenation and regex matching. */
export function toText(v: unknown): string | undefined {
  if (typeof v === "string") return v;
  if (typeof v === "number") return Object.is(v, -0) ? "0" : String(v);
  if (typeof v === "boolean") return v ? "true" : "false";
  return undefined;
}

/** Short human description of a value for error messages. */
export function describe(v: unknown): string {
  if (v === ABSENT || v === undefined) return "absent value";
  if (v === null) return "null";
  if (typeof v === "string") {
    const shown = v.length > 40 ? `${v.slice(0, 40)}…` : v;
    return `string ${JSON.stringify(shown)}`;
  }
  if (typeof v === "number") return `number ${String(v)}`;
  if (typeof v === "boolean") return `boolean ${v ? "true" : "false"}`;
  if (Array.isArray(v)) return "list";
  if (isPlainMap(v)) return "map";
  return typeof v === "function" ? "function" : `unsupported ${typeof v}`;
}

/** Counts work so that evaluation stays bounded; shared by the evaluator and deep equality. */
export interface StepBudget {
  spend(n?: number): void;
}

/** Structures deeper than any Kubernetes object are not compared (keeps recursion shallow). */
const MAX_COMPARE_DEPTH = 100;

/**
 * Equality of `==`, `!=` and IN. Like govaluate's DeepEqual on float64 numbers, plus two
 * coercions that exist because parameters are bound as strings: a number equals a numeric
 * string with the same value, and a boolean equals "true"/"false".
 */
export function valuesEqual(a: unknown, b: unknown, budget: StepBudget, depth = 0): boolean {
  budget.spend();
  if (depth > MAX_COMPARE_DEPTH) {
    throw new ExpressionError(`cannot compare values nested more than ${MAX_COMPARE_DEPTH} levels deep`);
  }
  const aNone = isNothing(a);
  const bNone = isNothing(b);
  if (aNone || bNone) {
    const other = aNone ? b : a;
    return isNothing(other) || other === "" || other === "nil";
  }
  if (typeof a === "number" && typeof b === "number") return a === b;
  if (typeof a === "string" && typeof b === "string") return a === b;
  if (typeof a === "number" && typeof b === "string") return toNumber(b) === a;
  if (typeof a === "string" && typeof b === "number") return toNumber(a) === b;
  if (typeof a === "boolean") return toBoolean(b) === a;
  if (typeof b === "boolean") return toBoolean(a) === b;
  if (Array.isArray(a) && Array.isArray(b)) {
    if (a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) {
      if (!valuesEqual(a[i], b[i], budget, depth + 1)) return false;
    }
    return true;
  }
  if (isPlainMap(a) && isPlainMap(b)) {
    const ak = Object.keys(a);
    if (ak.length !== Object.keys(b).length) return false;
    for (const k of ak) {
      const bv = readOwn(b, k);
      if (bv === ABSENT || !valuesEqual(readOwn(a, k), bv, budget, depth + 1)) return false;
    }
    return true;
  }
  return false;
}
