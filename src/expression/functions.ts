/**
 * The built-in functions of SPEC §5. Each receives evaluated arguments and returns a value or
 * throws FunctionError (the evaluator adds the position and the argument's origin). ABSENT is
 * rejected by every function: a missing field is not 0 bytes or 0 seconds, and silently
 * inventing a value would publish a wrong series. `x ?? default` states a default explicitly.
 */
import { parseBytes } from "./bytes.js";
import { parseGoDuration } from "./duration.js";
import { parseQuantity } from "./quantity.js";
import { parseRfc3339 } from "./time.js";
import { describe, isNothing, toBoolean, toNumber } from "./values.js";

export class FunctionError extends Error {
  constructor(
    message: string,
    /** 0-based index of the argument at fault, when one is. */
    readonly argIndex?: number,
    /** The argument is ABSENT/null rather than of a wrong kind. */
    readonly absent = false,
  ) {
    super(message);
  }
}

export interface FunctionSpec {
  readonly minArgs: number;
  readonly maxArgs: number;
  /** Shown in arity messages, e.g. "percentage(p, total, roundUp?)". */
  readonly signature: string;
  readonly call: (args: readonly unknown[]) => unknown;
}

function arg(args: readonly unknown[], i: number): unknown {
  const v = args[i];
  if (isNothing(v)) throw new FunctionError(`argument ${i + 1} has no value`, i, true);
  return v;
}

/** Strings parsed by `parse`; finite numbers accepted as they are. */
function unitFunction(name: string, what: string, parse: (s: string) => number | undefined) {
  return (args: readonly unknown[]): number => {
    const v = arg(args, 0);
    if (typeof v === "number") {
      if (!Number.isFinite(v))
        throw new FunctionError(`${name}() expects a finite number, got ${describe(v)}`, 0);
      return v;
    }
    if (typeof v !== "string") throw new FunctionError(`${name}() expects a string, got ${describe(v)}`, 0);
    const n = parse(v);
    if (n === undefined) throw new FunctionError(`${name}(): ${describe(v)} is not ${what}`, 0);
    return n;
  };
}

function intOf(args: readonly unknown[]): number {
  const v = arg(args, 0);
  const b = toBoolean(v);
  if (b !== undefined) return b ? 1 : 0;
  const n = toNumber(v);
  if (n === undefined || !Number.isFinite(n)) {
    throw new FunctionError(`int() expects a boolean, a number or a numeric string, got ${describe(v)}`, 0);
  }
  return Math.trunc(n) + 0; // + 0 turns -0 into 0
}

function unixOf(args: readonly unknown[]): number {
  const v = arg(args, 0);
  if (typeof v === "number" && Number.isFinite(v)) return v;
  if (typeof v !== "string")
    throw new FunctionError(`unix() expects an RFC 3339 string, got ${describe(v)}`, 0);
  const t = parseRfc3339(v);
  if (t === undefined) throw new FunctionError(`unix(): ${describe(v)} is not an RFC 3339 date-time`, 0);
  return t;
}

const PERCENT = /^([+-]?(?:\d+\.?\d*|\.\d+))%$/;

/**
 * Like Kubernetes' GetScaledValueFromIntOrPercent, which Panopticon uses: "25%" of total,
 * rounded down (or up when asked); a plain number (or numeric string) is returned as is.
 * Decimal percentages ("12.5%") are accepted, a small superset of Kubernetes.
 */
function percentageOf(args: readonly unknown[]): number {
  const p = arg(args, 0);
  const total = toNumber(arg(args, 1));
  if (total === undefined || !Number.isFinite(total)) {
    throw new FunctionError(`percentage() expects a number as total, got ${describe(args[1])}`, 1);
  }
  let roundUp = false;
  if (args.length > 2) {
    const r = toBoolean(arg(args, 2));
    if (r === undefined)
      throw new FunctionError(`percentage() expects a boolean as roundUp, got ${describe(args[2])}`, 2);
    roundUp = r;
  }
  const plain = toNumber(p);
  if (plain !== undefined && Number.isFinite(plain)) return plain;
  const m = typeof p === "string" ? PERCENT.exec(p) : null;
  if (m === null) throw new FunctionError(`percentage() expects "N%" or a number, got ${describe(p)}`, 0);
  // Multiply first: 25 * 4 / 100 is exact where 0.25 * 4 might not be for other values.
  const scaled = (Number(m[1]) * total) / 100;
  return (roundUp ? Math.ceil(scaled) : Math.floor(scaled)) + 0;
}

export const FUNCTIONS: ReadonlyMap<string, FunctionSpec> = new Map<string, FunctionSpec>([
  ["int", { minArgs: 1, maxArgs: 1, signature: "int(x)", call: intOf }],
  [
    "bytes",
    {
      minArgs: 1,
      maxArgs: 1,
      signature: "bytes(size)",
      call: unitFunction("bytes", "a byte size", parseBytes),
    },
  ],
  [
    "toSecond",
    {
      minArgs: 1,
      maxArgs: 1,
      signature: "toSecond(duration)",
      call: unitFunction("toSecond", "a Go duration", parseGoDuration),
    },
  ],
  ["unix", { minArgs: 1, maxArgs: 1, signature: "unix(time)", call: unixOf }],
  [
    "cpu_cores",
    {
      minArgs: 1,
      maxArgs: 1,
      signature: "cpu_cores(quantity)",
      call: unitFunction("cpu_cores", "a CPU quantity", parseQuantity),
    },
  ],
  [
    "quantity",
    {
      minArgs: 1,
      maxArgs: 1,
      signature: "quantity(q)",
      call: unitFunction("quantity", "a Kubernetes quantity", parseQuantity),
    },
  ],
  ["percentage", { minArgs: 2, maxArgs: 3, signature: "percentage(p, total, roundUp?)", call: percentageOf }],
]);
