import { describe, expect, it, jest } from "@jest/globals";
import type { CompiledMetric } from "../src/config/compiled.js";
import { EVALUATION_LIMITS, renderObject, type EvaluationErrorReason } from "../src/engine/evaluate.js";
import { buildPlan } from "../src/engine/plan.js";
import { compileExpression, ExpressionError, LIMITS } from "../src/expression/index.js";
import {
  compilePath,
  formatResults,
  JsonPathError,
  JsonPathLimitError,
  PATH_LIMITS,
} from "../src/jsonpath/index.js";
import { compile, widget } from "./support/configs.js";

/**
 * Bounded cost (issue 7): every cap gives a clear error instead of hanging. No wall-clock
 * bounds here: a cap that failed would run into the test timeout.
 */

function limitError(path: string, data: unknown): string {
  const compiled = compilePath(path);
  try {
    compiled.evaluate(data);
  } catch (err) {
    expect(err).toBeInstanceOf(JsonPathLimitError);
    return (err as Error).message;
  }
  throw new Error(`${path} stayed within the limits`);
}

/** A list nested `levels` deep whose every level holds `width` copies of the level below. */
function nestedLists(levels: number, width: number): unknown {
  let v: unknown = 1;
  for (let i = 0; i < levels; i++) v = Array.from({ length: width }, () => v);
  return v;
}

describe("JSONPath caps", () => {
  it("rejects paths longer than the source cap when they are loaded", () => {
    const long = `.a${"['x']".repeat(PATH_LIMITS.maxSourceLength)}`;
    expect(() => compilePath(long)).toThrow(JsonPathError);
    expect(() => compilePath(long)).toThrow(`the limit is ${PATH_LIMITS.maxSourceLength}`);
    expect(() => compilePath(`.a${"['x']".repeat(100)}`)).not.toThrow();
  });

  it("stops a union explosion at the result cap, quickly", () => {
    // Each union multiplies the values in flight by 100: 100^3 = one million without the cap.
    const union = `[${Array.from({ length: 100 }, () => "0").join(",")}]`;
    const path = `.a${union}${union}${union}`;
    const message = limitError(path, { a: nestedLists(3, 1) });
    expect(message).toContain(`more than ${PATH_LIMITS.maxResults} results`);
    expect(message).toContain(JSON.stringify(path));
  });

  it("caps [*] and .* results, on the fast path too", () => {
    const many = { items: Array.from({ length: PATH_LIMITS.maxResults + 1 }, (_, i) => i) };
    expect(limitError(".items[*]", many)).toContain("results");
    expect(limitError(".items.*", many)).toContain("results");
    const exact = { items: Array.from({ length: PATH_LIMITS.maxResults }, (_, i) => i) };
    expect(compilePath(".items[*]").evaluate(exact)).toHaveLength(PATH_LIMITS.maxResults);
  });

  it("stops chained recursive descent over a large object at the visit cap", () => {
    // 200,000 maps; `..a..a..a` would walk each of them once per result of the previous step.
    let chain: unknown = { a: 1 };
    for (let i = 0; i < 2000; i++) chain = { a: chain };
    const wide = { list: Array.from({ length: 100 }, () => chain) };
    expect(limitError("..a..a..a", wide)).toMatch(/more than \d+ (results|values)/);
  });

  it("stops filters over huge lists at the caps", () => {
    const list = { l: Array.from({ length: 20_000 }, (_, i) => ({ x: i })) };
    expect(limitError(".l[?(@.x >= 0)]", list)).toContain("results");
    expect(compilePath(".l[?(@.x == 5)].x").evaluate(list)).toEqual([5]);
  });

  it("refuses to write out a value nested deeper than the format cap", () => {
    let deep: unknown = 1;
    for (let i = 0; i < PATH_LIMITS.maxFormatDepth + 5; i++) deep = [deep];
    expect(() => formatResults([deep])).toThrow(JsonPathLimitError);
    let shallow: unknown = 1;
    for (let i = 0; i < 10; i++) shallow = [shallow];
    expect(formatResults([shallow])).toBe("[[[[[[[[[[1]]]]]]]]]]");
  });
});

describe("expression caps", () => {
  it("rejects long sources and deep nesting when loaded", () => {
    expect(() => compileExpression("1+".repeat(LIMITS.maxSourceLength) + "1")).toThrow(
      `the limit is ${LIMITS.maxSourceLength}`,
    );
    expect(() =>
      compileExpression(
        "(".repeat(LIMITS.maxNestingDepth + 1) + "1" + ")".repeat(LIMITS.maxNestingDepth + 1),
      ),
    ).toThrow(ExpressionError);
  });

  it("stops evaluation at the step cap with an ExpressionError", () => {
    const e = compileExpression("x IN l", { knownParams: new Set(["x", "l"]) });
    const l = Array.from({ length: LIMITS.maxSteps * 2 }, (_, i) => i);
    expect(() =>
      e.evaluate(
        new Map<string, unknown>([
          ["x", -1],
          ["l", l],
        ]),
      ),
    ).toThrow(`exceeded ${LIMITS.maxSteps} steps`);
  });

  it("caps regex pattern length, and matches in linear time", () => {
    const e = compileExpression("s =~ p", { knownParams: new Set(["s", "p"]) });
    expect(() =>
      e.evaluate(
        new Map([
          ["s", "a"],
          ["p", "a".repeat(300)],
        ]),
      ),
    ).toThrow("the limit is 256");
    // A backtracking engine would not finish this before the test's timeout.
    const value = e.evaluate(
      new Map([
        ["s", `${"a".repeat(4000)}!`],
        ["p", "^(a+)+$"],
      ]),
    );
    expect(value).toBe(false);
  });
});

describe("per-object budgets", () => {
  function render(metrics: unknown[], obj: unknown) {
    const config = compile(metrics);
    expect(config.diagnostics.filter((d) => d.severity === "error")).toEqual([]);
    const target = [...buildPlan([config]).targets.values()][0]!;
    const errors: { metric: string; reason: EvaluationErrorReason; message: string }[] = [];
    const out = renderObject(target, obj, {
      onError: (m: CompiledMetric, reason, message) => errors.push({ metric: m.name, reason, message }),
    });
    return { families: target.families, out, errors };
  }

  it("keeps the first series of a metric that produces too many for one object", () => {
    const n = EVALUATION_LIMITS.maxSeriesPerObject + 50;
    const obj = widget("big", { spec: { items: Array.from({ length: n }, (_, i) => ({ i })) } });
    const r = render(
      [
        {
          name: "rows",
          help: "h",
          type: "gauge",
          field: { path: ".spec.items", type: "Array" },
          labels: [{ key: "i", valuePath: ".spec.items[*].i" }],
          metricValue: { value: 1 },
        },
        { name: "other", help: "h", type: "gauge", metricValue: { value: 2 } },
      ],
      obj,
    );
    const lines = (r.out[0] ?? "").split("\n").filter((l) => l !== "");
    expect(lines).toHaveLength(EVALUATION_LIMITS.maxSeriesPerObject);
    expect(lines[0]).toBe('example_com_widget_rows{namespace="ns",widget="big",i="0"} 1');
    expect(r.errors.map((e) => [e.metric, e.reason])).toEqual([["rows", "limit"]]);
    expect(r.errors[0]?.message).toContain(`more than ${EVALUATION_LIMITS.maxSeriesPerObject} series`);
    // The other metric of the same object is unaffected.
    expect(r.out[1]).toBe('example_com_widget_other{namespace="ns",widget="big"} 2\n');
  });

  it("drops a metric whose path goes over a cap, reports it, and renders the others", () => {
    const obj = widget("w", {
      spec: { items: Array.from({ length: PATH_LIMITS.maxResults + 1 }, () => "x") },
    });
    const r = render(
      [
        {
          name: "all",
          help: "h",
          type: "gauge",
          labels: [{ key: "items", valuePath: ".spec.items[*]" }],
          metricValue: { value: 1 },
        },
        { name: "fine", help: "h", type: "gauge", metricValue: { value: 1 } },
      ],
      obj,
    );
    expect(r.out[0]).toBeUndefined();
    expect(r.out[1]).toBe('example_com_widget_fine{namespace="ns",widget="w"} 1\n');
    expect(r.errors.map((e) => [e.metric, e.reason])).toEqual([["all", "path"]]);
    expect(r.errors[0]?.message).toContain(`more than ${PATH_LIMITS.maxResults} results`);
  });

  it("cuts off a metric that spends too long on one object, without stalling the next one", () => {
    // A clock that moves 1 ms per reading: the budget runs out after ~2,000 rows, on any
    // machine, without the test having to be slow.
    let t = 0;
    const clock = jest.spyOn(performance, "now").mockImplementation(() => ++t);
    const rows = 5_000;
    const obj = widget("slow", { spec: { items: Array.from({ length: rows }, (_, i) => ({ i })) } });
    let r: ReturnType<typeof render>;
    try {
      r = render(
        [
          {
            name: "slow",
            help: "h",
            type: "gauge",
            field: { path: ".spec.items", type: "Array" },
            labels: [{ key: "i", valuePath: ".spec.items[*].i" }],
            metricValue: { value: 2 },
          },
          { name: "fast", help: "h", type: "gauge", metricValue: { value: 1 } },
        ],
        obj,
      );
    } finally {
      clock.mockRestore();
    }
    expect(t).toBeGreaterThan(EVALUATION_LIMITS.maxMillisecondsPerObject);
    expect(t).toBeLessThan(rows + 100); // it stopped early, not after the last row
    expect(r.out[0]).toBeUndefined();
    expect(r.errors.map((e) => [e.metric, e.reason])).toEqual([["slow", "limit"]]);
    expect(r.errors[0]?.message).toContain(`longer than ${EVALUATION_LIMITS.maxMillisecondsPerObject} ms`);
    // The next metric starts with a fresh budget.
    expect(r.out[1]).toBe('example_com_widget_fast{namespace="ns",widget="slow"} 1\n');
  });
});
