/**
 * Our own evaluation of every step kind, with kubectl's semantics. The reference evaluator uses it
 * for the steps jsonpath-plus cannot express faithfully (slices, key unions, filters, odd keys)
 * and as a fallback when jsonpath-plus throws (e.g. stack exhaustion on absurdly deep data).
 *
 * Where kubectl fails with an error (an index out of range, `[*]` on a map, a comparison between
 * different types) the step yields nothing for that value: a path never fails on data. Every value
 * produced or looked at is charged to a Budget, which throws JsonPathLimitError past the caps.
 */
import type { Comparison, FilterStep, SliceStep, Step } from "./ast.js";
import { Budget } from "./errors.js";

export type JsonMap = Record<string, unknown>;

export function isMap(value: unknown): value is JsonMap {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

export function evaluateSteps(
  steps: readonly Step[],
  root: unknown,
  budget: Budget = new Budget("<path>"),
): unknown[] {
  let current: unknown[] = [root];
  for (const step of steps) {
    const next: unknown[] = [];
    applyStepToAll(step, current, next, budget);
    current = next;
    if (current.length === 0) break;
  }
  return current;
}

/**
 * One step over the whole current result list. Unions are list-wise in kubectl: each part runs
 * over every value before the next part (`[*]['name','phase']` gives all names, then all phases).
 */
export function applyStepToAll(
  step: Step,
  values: readonly unknown[],
  out: unknown[],
  budget: Budget = new Budget("<path>"),
): void {
  if (step.kind === "union") {
    for (const part of step.parts) {
      for (const value of values) applyStep(part, value, out, budget);
    }
    return;
  }
  for (const value of values) applyStep(step, value, out, budget);
}

/** One step on one value; a union here is the per-value form, used only for single values. */
export function applyStep(step: Step, value: unknown, out: unknown[], budget: Budget): void {
  switch (step.kind) {
    case "field":
      if (isMap(value) && Object.hasOwn(value, step.name)) budget.push(out, value[step.name]);
      return;
    case "wildcard":
      if (Array.isArray(value)) {
        pushAll(value, out, budget);
      } else if (isMap(value)) {
        for (const key of Object.keys(value)) budget.push(out, value[key]);
      }
      // kubectl also iterates the bytes of a string here; nobody wants that, we yield nothing.
      return;
    case "each":
      if (Array.isArray(value)) pushAll(value, out, budget);
      return;
    case "index":
      if (Array.isArray(value)) {
        const i = step.index < 0 ? step.index + value.length : step.index;
        if (i >= 0 && i < value.length) budget.push(out, value[i]);
      }
      return;
    case "slice":
      if (Array.isArray(value)) applySlice(step, value, out, budget);
      return;
    case "union":
      for (const part of step.parts) applyStep(part, value, out, budget);
      return;
    case "descendant":
      collectDescendants(step.name, value, out, budget);
      return;
    case "filter":
      if (Array.isArray(value)) {
        for (const element of value as unknown[]) {
          budget.visit();
          if (filterMatches(step, element, budget)) budget.push(out, element);
        }
      }
      return;
  }
}

function pushAll(values: readonly unknown[], out: unknown[], budget: Budget): void {
  // A loop rather than push(...values): spreading a huge list overflows the argument stack.
  for (const v of values) budget.push(out, v);
}

/** kubectl's bounds rules, where any violation is an error (hence nothing), not a clamp. */
function applySlice(step: SliceStep, list: readonly unknown[], out: unknown[], budget: Budget): void {
  const length = list.length;
  let start = step.start ?? 0;
  if (start < 0) start += length;
  let end = step.end ?? length;
  if (end < 0) end += length;
  if (start === end) return;
  if (start < 0 || start >= length || end < 0 || end > length || start > end) return;
  const stride = step.step ?? 1;
  for (let i = start; i < end; i += stride) budget.push(out, list[i]);
}

/**
 * Pre-order over the value and every map and list below it, like kubectl's `..`. Iterative, so
 * deep data cannot exhaust the stack, and cycle-safe for inputs that did not come from JSON.
 */
function collectDescendants(name: string, root: unknown, out: unknown[], budget: Budget): void {
  const stack: unknown[] = [root];
  const seen = new Set<object>();
  while (stack.length > 0) {
    const value = stack.pop();
    if (typeof value !== "object" || value === null || seen.has(value)) continue;
    budget.visit();
    seen.add(value);
    if (Array.isArray(value)) {
      for (let i = value.length - 1; i >= 0; i--) stack.push(value[i]);
      continue;
    }
    const map = value as JsonMap;
    if (Object.hasOwn(map, name)) budget.push(out, map[name]);
    const keys = Object.keys(map);
    for (let i = keys.length - 1; i >= 0; i--) stack.push(map[keys[i]!]);
  }
}

/** Charges every container under `root` (itself included) to the budget: the cost of a `..` walk. */
export function chargeDescendants(root: unknown, budget: Budget): void {
  const stack: unknown[] = [root];
  const seen = new Set<object>();
  while (stack.length > 0) {
    const value = stack.pop();
    if (typeof value !== "object" || value === null || seen.has(value)) continue;
    budget.visit();
    seen.add(value);
    if (Array.isArray(value)) {
      for (const v of value as unknown[]) stack.push(v);
    } else {
      for (const key of Object.keys(value)) stack.push((value as JsonMap)[key]);
    }
  }
}

export function filterMatches(step: FilterStep, element: unknown, budget: Budget): boolean {
  const lefts = evaluateSteps(step.path, element, budget);
  if (step.test === undefined) return lefts.length > 0;
  // kubectl skips elements without the field, and fails on several values: both mean no match.
  if (lefts.length !== 1) return false;
  return compareLiteral(lefts[0], step.test);
}

/**
 * Type-strict like kubectl's template comparisons: a number never equals a string, and a
 * mismatch is not "unequal" but an error there, so even `!=` does not match across types.
 */
export function compareLiteral(left: unknown, test: Comparison): boolean {
  const right = test.value;
  let order: number;
  if (typeof left === "number" && typeof right === "number") {
    if (Number.isNaN(left)) return false;
    order = left < right ? -1 : left > right ? 1 : 0;
  } else if (typeof left === "string" && typeof right === "string") {
    order = compareCodePoints(left, right);
  } else if (typeof left === "boolean" && typeof right === "boolean") {
    order = left === right ? 0 : 1;
  } else {
    return false;
  }
  switch (test.op) {
    case "==":
      return order === 0;
    case "!=":
      return order !== 0;
    case "<":
      return order < 0;
    case ">":
      return order > 0;
    case "<=":
      return order <= 0;
    case ">=":
      return order >= 0;
  }
}

/**
 * Go compares strings bytewise in UTF-8, which is code point order; JavaScript's `<` compares
 * UTF-16 units, which puts U+E000..U+FFFF after astral characters. Fix up the first difference.
 */
export function compareCodePoints(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x !== y) return utf16ToCodePointRank(x) - utf16ToCodePointRank(y);
  }
  return a.length - b.length;
}

function utf16ToCodePointRank(unit: number): number {
  if (unit >= 0xe000) return unit - 0x800;
  if (unit >= 0xd800) return unit + 0x2000;
  return unit;
}
