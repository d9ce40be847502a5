/**
 * The reference evaluator: the validated AST translated to jsonpath-plus paths (SPEC §4), always
 * with `eval: "safe"`. jsonpath-plus differs from kubectl in ways the translation has to avoid:
 *
 * - `[n]` also reads a key "n" of a map, and of a string; `['0']` and `['length']` read array and
 *   string internals. Indices therefore become one-element slices (`[2:3]`, `[-1:]`), which only
 *   apply to arrays, and all-digit or "length" keys are evaluated natively.
 * - It has no negative indices; the slice form covers them.
 * - Slices clamp out-of-range bounds and treat an end of 0 as "to the end"; kubectl fails on out of
 *   range bounds. Slices are evaluated natively.
 * - `*` over a map follows a key literally named "*" instead when the previous step was a property
 *   (its "literal priority"); the same holds for `:`, `..` and slice syntax. Every such selector
 *   therefore starts a fresh jsonpath-plus call, where that priority is off.
 * - Key syntax: `'`, `]`, `;`, `^`, `~`, `%`, `#`, `,`, backticks and a few more have meaning inside
 *   its bracket notation; keys containing them are evaluated natively.
 * - Unions apply each part to every value per call; kubectl applies a part to the whole list
 *   before the next part. Unions are evaluated natively, list-wise.
 * - Filters would run as (sandboxed) JavaScript with JS comparison and inherited properties;
 *   they are evaluated natively with kubectl's type-strict comparison.
 *
 * Cost is capped (PATH_LIMITS): every result counts against the result and visit caps, and a
 * segment with `..` is charged, before jsonpath-plus walks it, for every container it will walk.
 */
import { JSONPath } from "jsonpath-plus";
import type { PathAst, Step } from "./ast.js";
import { Budget, JsonPathLimitError } from "./errors.js";
import { applyStepToAll, chargeDescendants, evaluateSteps } from "./native.js";

interface PlusSegment {
  readonly kind: "plus";
  /** The jsonpath-plus path, applied to each value the previous segment produced. */
  readonly path: string;
  /** The same steps, for the native fallback. */
  readonly steps: Step[];
  /** Whether the path walks a whole subtree (`..`), which is charged to the budget up front. */
  readonly descends: boolean;
}

interface NativeSegment {
  readonly kind: "native";
  readonly step: Step;
}

export type Segment = PlusSegment | NativeSegment;

const PLUS_SAFE_KEY = /^[\p{L}\p{N}\p{M}_\-/. +]+$/u;

/** Whether jsonpath-plus reads `['name']` as exactly an own property `name` of a map. */
export function isPlusSafeKey(name: string): boolean {
  return PLUS_SAFE_KEY.test(name) && !/^\d+$/.test(name) && !/^\.+$/.test(name) && name !== "length";
}

function indexAsSlice(index: number): string {
  return index === -1 ? "-1:" : `${index}:${index + 1}`;
}

/** A selector that must open a jsonpath-plus call, or undefined if it must be native. */
function leadingSelector(step: Step): string | undefined {
  switch (step.kind) {
    case "wildcard":
      return "[*]";
    case "each":
      return "[:]";
    case "index":
      return `[${indexAsSlice(step.index)}]`;
    case "descendant":
      return isPlusSafeKey(step.name) ? `..['${step.name}']` : undefined;
    case "field":
    case "slice":
    case "union":
    case "filter":
      return undefined;
  }
}

export function planSegments(ast: PathAst): Segment[] {
  const segments: Segment[] = [];
  let open: { path: string; steps: Step[] } | undefined;
  const close = (): void => {
    if (open !== undefined) {
      const descends = open.steps.some((s) => s.kind === "descendant");
      segments.push({ kind: "plus", path: open.path, steps: open.steps, descends });
    }
    open = undefined;
  };
  for (const step of ast.steps) {
    if (step.kind === "field" && isPlusSafeKey(step.name)) {
      open ??= { path: "$", steps: [] };
      open.path += `['${step.name}']`;
      open.steps.push(step);
      continue;
    }
    const selector = leadingSelector(step);
    close();
    if (selector === undefined) {
      segments.push({ kind: "native", step });
    } else {
      open = { path: `$${selector}`, steps: [step] };
    }
  }
  close();
  return segments;
}

function runPlus(segment: PlusSegment, value: unknown, out: unknown[], budget: Budget): void {
  // No selector finds anything inside a scalar, and jsonpath-plus returns undefined rather than
  // [] for falsy documents (0, "", false), so scalars never reach it.
  if (typeof value !== "object" || value === null) return;
  if (segment.descends) chargeDescendants(value, budget);
  let results: unknown;
  try {
    results = JSONPath({ path: segment.path, json: value, eval: "safe", wrap: true });
  } catch {
    // Only pathological data gets here (e.g. nesting deeper than the stack for `..`).
    for (const v of evaluateSteps(segment.steps, value, budget)) budget.push(out, v);
    return;
  }
  if (Array.isArray(results)) {
    for (const r of results as unknown[]) budget.push(out, r);
  }
}

/** `source` only names the path in limit errors. */
export function compileReference(ast: PathAst, source = "<path>"): (root: unknown) => unknown[] {
  const segments = planSegments(ast);
  return (root) => {
    const budget = new Budget(source);
    let current: unknown[] = [root];
    try {
      for (const segment of segments) {
        const next: unknown[] = [];
        if (segment.kind === "plus") {
          for (const value of current) runPlus(segment, value, next, budget);
        } else {
          applyStepToAll(segment.step, current, next, budget);
        }
        current = next;
        if (current.length === 0) break;
      }
    } catch (err) {
      // Over a cap: the caller reports it. Anything else is the last line of defence for the
      // "never fails on data" contract (e.g. exotic non-JSON objects).
      if (err instanceof JsonPathLimitError) throw err;
      return [];
    }
    return current;
  };
}
