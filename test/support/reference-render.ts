import type { BoundPath, CompiledLabel, CompiledMetric, CompiledValue } from "../../src/config/compiled.js";
import type { CompiledPath } from "../../src/jsonpath/index.js";
import { formatResults, JsonPathLimitError } from "../../src/jsonpath/index.js";
import { ExpressionError } from "../../src/expression/index.js";
import { renderLabels, seriesLine } from "../../src/exposition/format.js";
import type { TargetPlan } from "../../src/engine/plan.js";
import {
  bindParam,
  convertExpressionResult,
  convertPathValue,
  type Conversion,
} from "../../src/engine/values.js";

import {
  BudgetExceeded,
  EVALUATION_LIMITS,
  objectIdentity,
  type EvaluationErrorReason,
  type EvaluationHooks,
  type ObjectIdentity,
} from "../../src/engine/evaluate.js";

/**
 * The evaluation of SPEC §3 written plainly: label pairs per row, later layers overriding earlier
 * ones by key. It is the specification that src/engine/evaluate.ts (what runs) is checked against by
 * test/props.engine; it is not used to serve.
 */

/**
 * Path results for the whole object are shared by every metric of the object: `.metadata.name`
 * and `.status.phase` are read by many labels, and each is evaluated once per object.
 */
class ObjectScope {
  private readonly memo = new Map<CompiledPath, unknown[]>();
  constructor(readonly root: unknown) {}
  read(bound: BoundPath, row: unknown): unknown[] {
    if (bound.rowRelative) return bound.path.evaluate(row);
    let r = this.memo.get(bound.path);
    if (!r) {
      r = bound.path.evaluate(this.root);
      this.memo.set(bound.path, r);
    }
    return r;
  }
}

type Pairs = [string, string][];

/** Later layers win when they yield a value; a key keeps the position it was first given. */
function setLabel(pairs: Pairs, key: string, value: string): void {
  for (const p of pairs) {
    if (p[0] === key) {
      p[1] = value;
      return;
    }
  }
  pairs.push([key, value]);
}

function evaluateLabels(
  scope: ObjectScope,
  labels: readonly CompiledLabel[],
  row: unknown,
  pairs: Pairs,
): void {
  for (const label of labels) {
    if (label.kind === "const") {
      setLabel(pairs, label.key, label.value);
      continue;
    }
    const text = formatResults(scope.read(label.path, row));
    if (text !== undefined) setLabel(pairs, label.key, text);
  }
}

function evaluateParams(scope: ObjectScope, metric: CompiledMetric, row: unknown): Map<string, unknown> {
  const env = new Map<string, unknown>();
  for (const p of metric.params) {
    env.set(p.key, p.kind === "const" ? p.value : bindParam(scope.read(p.path, row)));
  }
  return env;
}

function evaluateValue(
  scope: ObjectScope,
  metric: CompiledMetric,
  value: CompiledValue,
  row: unknown,
  env: () => Map<string, unknown>,
): Conversion & { reason?: string; kind?: EvaluationErrorReason } {
  switch (value.kind) {
    case "const":
      return { ok: true, value: value.value };
    case "path": {
      const results = scope.read(value.path, row).filter((r) => r !== null && r !== undefined);
      if (results.length !== 1) {
        return {
          ok: false,
          kind: "path",
          reason: `valueFromPath ${JSON.stringify(value.path.source)} gave ${results.length} results; exactly one is needed`,
        };
      }
      const c = convertPathValue(results[0], metric.field?.type);
      return c.ok ? c : { ...c, kind: "conversion" };
    }
    case "expression": {
      let result: unknown;
      try {
        result = value.expression.evaluate(env());
      } catch (err) {
        const message = err instanceof ExpressionError ? err.message : "internal error";
        return {
          ok: false,
          kind: "expression",
          reason: `${JSON.stringify(value.expression.source)}: ${message}`,
        };
      }
      const c = convertExpressionResult(result);
      return c.ok ? c : { ...c, kind: "conversion" };
    }
  }
}

/** The rows of SPEC §3.1; an empty list means the metric yields nothing for this object. */
function rowsOf(metric: CompiledMetric, root: unknown): readonly unknown[] {
  const field = metric.field;
  if (!field) return [undefined];
  const results = field.path.evaluate(root);
  if (field.type === "Array") {
    return results.length === 1 && Array.isArray(results[0]) ? (results[0] as unknown[]) : [];
  }
  return results.some((r) => r !== null && r !== undefined) ? [undefined] : [];
}

/**
 * Render one object for every metric of its target plan. Returns, per family slot of the plan,
 * the concatenated series lines (or undefined where the object yields nothing for that family).
 */
export function renderObjectReference(
  plan: TargetPlan,
  obj: unknown,
  hooks: EvaluationHooks = {},
): (string | undefined)[] {
  const out: (string | undefined)[] = new Array<string | undefined>(plan.families.length).fill(undefined);
  const id = objectIdentity(obj);
  if (!id) return out;
  const scope = new ObjectScope(obj);
  const seen: (Set<string> | undefined)[] = [];

  for (const { metric, slot } of plan.metrics) {
    const seenHere = (seen[slot] ??= new Set<string>());
    const added: string[] = [];
    let text = out[slot] ?? "";
    let series = 0;
    const deadline = performance.now() + EVALUATION_LIMITS.maxMillisecondsPerObject;

    const emit = (pairs: Pairs, value: number): void => {
      const labels = renderLabels(pairs);
      if (seenHere.has(labels)) {
        hooks.onDuplicate?.(metric.family);
        return;
      }
      if (series >= EVALUATION_LIMITS.maxSeriesPerObject) {
        throw new BudgetExceeded(
          `more than ${EVALUATION_LIMITS.maxSeriesPerObject} series for one object; the first ${EVALUATION_LIMITS.maxSeriesPerObject} are kept`,
        );
      }
      series++;
      seenHere.add(labels);
      added.push(labels);
      text += seriesLine(metric.family, labels, value);
    };
    const fail = (reason: EvaluationErrorReason, message: string): void => {
      hooks.onError?.(metric, reason, message);
    };

    try {
      renderRows(plan, scope, id, metric, emit, fail, deadline);
    } catch (err) {
      if (err instanceof BudgetExceeded && series >= EVALUATION_LIMITS.maxSeriesPerObject) {
        // Deterministic: the first rows, in list order, are kept.
        fail("limit", err.message);
      } else if (err instanceof BudgetExceeded || err instanceof JsonPathLimitError) {
        // Nothing partial: this metric's series for this object are dropped.
        fail(err instanceof BudgetExceeded ? "limit" : "path", err.message);
        for (const labels of added) seenHere.delete(labels);
        continue;
      } else {
        throw err;
      }
    }
    out[slot] = text === "" ? undefined : text;
  }
  return out;
}

/** Every row of one metric for one object, through `emit`; throws when over a budget. */
function renderRows(
  plan: TargetPlan,
  scope: ObjectScope,
  id: ObjectIdentity,
  metric: CompiledMetric,
  emit: (pairs: Pairs, value: number) => void,
  fail: (reason: EvaluationErrorReason, message: string) => void,
  deadline: number,
): void {
  const rows = rowsOf(metric, scope.root);
  for (const row of rows) {
    if (performance.now() > deadline) {
      throw new BudgetExceeded(
        `took longer than ${EVALUATION_LIMITS.maxMillisecondsPerObject} ms for one object; its series for this object are dropped`,
      );
    }
    const base: Pairs = [];
    if (id.namespace !== "") base.push(["namespace", id.namespace]);
    base.push([plan.objectLabel, id.name]);
    evaluateLabels(scope, metric.labels, row, base);
    let env: Map<string, unknown> | undefined;
    const lazyEnv = (): Map<string, unknown> => (env ??= evaluateParams(scope, metric, row));

    if (metric.states) {
      for (const state of metric.states.values) {
        const v = evaluateValue(scope, metric, state.value, row, lazyEnv);
        if (!v.ok) {
          fail(v.kind ?? "conversion", v.reason);
          continue;
        }
        const pairs: Pairs = base.map(([k, val]) => [k, val]);
        setLabel(pairs, metric.states.labelKey, state.labelValue);
        emit(pairs, v.value);
      }
    } else if (metric.value) {
      const v = evaluateValue(scope, metric, metric.value, row, lazyEnv);
      if (!v.ok) fail(v.kind ?? "conversion", v.reason);
      else emit(base, v.value);
    }
  }
}
