import { describe, expect, it } from "@jest/globals";
import fc from "fast-check";
import { compileConfiguration } from "../src/config/compile.js";
import type { CompiledConfiguration } from "../src/config/compiled.js";
import type { Diagnostic } from "../src/config/types.js";
import { renderObject, type EvaluationHooks } from "../src/engine/evaluate.js";
import { renderObjectReference } from "./support/reference-render.js";
import { buildPlan } from "../src/engine/plan.js";
import type { ExpositionFormat } from "../src/exposition/format.js";
import { compileExpression, ExpressionError, ABSENT } from "../src/expression/index.js";
import { compilePath, formatResults, JsonPathError, JsonPathLimitError } from "../src/jsonpath/index.js";
import { renderOffline, type OfflineObject } from "../src/store/offline.js";
import {
  hasOpenMetricsParser,
  hasPromtool,
  openMetricsParse,
  promtoolCheck,
  requireTool,
} from "./support/exposition-tools.js";
import {
  edgeNumber,
  edgeString,
  expressionSource,
  goodExpression,
  goodPath,
  jsonValue,
  PARAM_NAMES,
  pathSource,
  SEED,
} from "./props.arbitraries.js";

/**
 * Property-based tests over bad input (issue 7, "Bad input"). Seeds are fixed (SEED, printed by
 * fast-check with any counterexample), run counts moderate. The engine never throws past its
 * boundary, every exposition parses under promtool and the strict OpenMetrics parser, and every
 * diagnostic names its location.
 */

const FIELD_TYPES = ["Integer", "DateTime", "Array", "String"] as const;

const labelSpec = (keys: fc.Arbitrary<string>): fc.Arbitrary<unknown> =>
  fc.oneof(
    fc.record({ key: keys, valuePath: pathSource }),
    fc.record({ key: keys, value: edgeString }),
    fc.record({ key: keys, value: fc.oneof(edgeNumber, fc.boolean(), jsonValue) }, { requiredKeys: [] }),
    jsonValue,
  );

const labelKey = fc.oneof(
  {
    arbitrary: fc.constantFrom("a", "b", "type", "status", "namespace", "widget", "le", "quantile"),
    weight: 4,
  },
  { arbitrary: fc.constantFrom("__name__", "__proto__", "1x", "a-b", "", "constructor"), weight: 1 },
  { arbitrary: edgeString, weight: 1 },
);

const metricValueSpec: fc.Arbitrary<unknown> = fc.oneof(
  fc.record({ value: fc.oneof(edgeNumber, edgeString) }),
  fc.record({ valueFromPath: pathSource }),
  fc.record({ valueFromExpression: expressionSource }),
  fc.record(
    { value: edgeNumber, valueFromPath: pathSource, valueFromExpression: expressionSource },
    { requiredKeys: [] },
  ),
  jsonValue,
);

const metricName = fc.oneof(
  { arbitrary: fc.constantFrom("m", "phase", "info", "size_bytes", "created", "count_total"), weight: 4 },
  { arbitrary: edgeString, weight: 1 },
);

const metricSpec: fc.Arbitrary<unknown> = fc.oneof(
  {
    weight: 8,
    arbitrary: fc.record(
      {
        name: metricName,
        help: fc.oneof(edgeString, fc.constantFrom("Help text.", 'has \\ and \n and " in it')),
        type: fc.oneof(fc.constant("gauge"), fc.constant("gauge"), fc.constantFrom("counter", ""), jsonValue),
        field: fc.oneof(
          fc.record({ path: pathSource, type: fc.constantFrom(...FIELD_TYPES, "Bogus") }),
          jsonValue,
        ),
        labels: fc.array(labelSpec(labelKey), { maxLength: 4 }),
        params: fc.array(labelSpec(fc.oneof(fc.constantFrom(...PARAM_NAMES), labelKey)), { maxLength: 3 }),
        states: fc.record({
          labelKey: labelKey,
          values: fc.array(fc.record({ labelValue: edgeString, metricValue: metricValueSpec }), {
            maxLength: 4,
          }),
        }),
        metricValue: metricValueSpec,
        extra: jsonValue,
      },
      { requiredKeys: ["name", "help", "type"] },
    ),
  },
  { weight: 1, arbitrary: jsonValue },
);

/** Mostly valid metrics: good names, keys and shapes, with generated paths, expressions and text. */
// No identity labels (namespace, the kind's): overriding them can make two objects' series collide
// across the exposition, which lint warns about and which is not deduplicated (docs/security.md).
const goodKey = fc.constantFrom("a", "b", "type", "status", "phase");
const goodLabel = fc.oneof(
  fc.record({ key: goodKey, valuePath: goodPath }),
  fc.record({ key: goodKey, value: edgeString }),
);
const goodValue = fc.oneof(
  { weight: 3, arbitrary: fc.record({ value: edgeNumber }) },
  { weight: 1, arbitrary: fc.record({ valueFromPath: goodPath }) },
  { weight: 1, arbitrary: fc.record({ valueFromExpression: goodExpression }) },
);
const validishMetric: fc.Arbitrary<unknown> = fc
  .record(
    {
      name: fc.constantFrom("m", "phase", "info", "size_bytes", "created", "count_total"),
      help: fc.oneof(edgeString, fc.constant('has \\ and \n and " in it')),
      field: fc.option(fc.record({ path: goodPath, type: fc.constantFrom(...FIELD_TYPES) }), {
        nil: undefined,
        freq: 3,
      }),
      labels: fc.array(goodLabel, { maxLength: 3 }),
      params: fc.array(
        fc.oneof(
          fc.record({ key: fc.constantFrom(...PARAM_NAMES), valuePath: goodPath }),
          fc.record({ key: fc.constantFrom(...PARAM_NAMES), value: edgeString }),
        ),
        { maxLength: 3 },
      ),
      states: fc.record({
        labelKey: fc.constantFrom("state", "phase"),
        values: fc.array(fc.record({ labelValue: edgeString, metricValue: goodValue }), {
          minLength: 1,
          maxLength: 3,
        }),
      }),
      metricValue: goodValue,
    },
    { requiredKeys: ["name", "help", "field", "metricValue"] },
  )
  .map((m) => ({ ...m, type: "gauge" }));

/** A configuration whose target is fixed (so objects can match it), with generated metrics. */
const metricsArb = fc.array(
  fc.oneof({ weight: 3, arbitrary: validishMetric }, { weight: 1, arbitrary: metricSpec }),
  { minLength: 1, maxLength: 4 },
);
const commonLabelsArb = fc.option(fc.array(labelSpec(labelKey), { maxLength: 3 }), { nil: undefined });

function configFor(kind: string, metrics: unknown[], commonLabels: unknown[] | undefined): unknown {
  return {
    apiVersion: "metrics.appscode.com/v1alpha1",
    kind: "MetricsConfiguration",
    metadata: { name: `c-${kind}` },
    spec: {
      targetRef: { apiVersion: "example.com/v1", kind },
      ...(commonLabels === undefined ? {} : { commonLabels }),
      metrics,
    },
  };
}

/** Objects shaped so that generated paths find something, with edge values everywhere. */
const objectBody = fc.record(
  {
    name: fc.oneof(
      { weight: 2, arbitrary: fc.constantFrom("o1", "o2", "o3") },
      { weight: 1, arbitrary: edgeString },
    ),
    namespace: fc.oneof(
      { weight: 2, arbitrary: fc.constantFrom("ns", "") },
      { weight: 1, arbitrary: edgeString },
    ),
    spec: fc.record(
      {
        a: jsonValue,
        b: jsonValue,
        items: fc.oneof(
          fc.array(fc.record({ a: jsonValue, b: jsonValue }, { requiredKeys: [] }), { maxLength: 5 }),
          jsonValue,
        ),
        extra: jsonValue,
      },
      { requiredKeys: [] },
    ),
    status: jsonValue,
  },
  { requiredKeys: ["name"] },
);

function objectFor(
  kind: string,
  body: { name: string; namespace?: string; spec?: unknown; status?: unknown },
) {
  return {
    apiVersion: "example.com/v1",
    kind,
    metadata: { name: body.name, ...(body.namespace === undefined ? {} : { namespace: body.namespace }) },
    ...(body.spec === undefined ? {} : { spec: body.spec }),
    ...(body.status === undefined ? {} : { status: body.status }),
  };
}

function locationProblems(diagnostics: readonly Diagnostic[]): string[] {
  const problems: string[] = [];
  for (const d of diagnostics) {
    const where = JSON.stringify(d);
    if (!d.file) problems.push(`no file: ${where}`);
    if (!d.configuration) problems.push(`no configuration: ${where}`);
    if (!d.field) problems.push(`no field: ${where}`);
    if (!d.message) problems.push(`no message: ${where}`);
    if (d.field.startsWith("spec.metrics[") && !d.metric) problems.push(`no metric: ${where}`);
  }
  return problems;
}

describe("configurations", () => {
  it("compileConfiguration never throws, and every diagnostic names file, configuration, field (and metric)", () => {
    const doc = fc.oneof(
      {
        weight: 6,
        arbitrary: fc.tuple(metricsArb, commonLabelsArb).map(([m, c]) => configFor("Widget", m, c)),
      },
      {
        weight: 2,
        arbitrary: fc.record(
          {
            apiVersion: fc.oneof(fc.constant("metrics.appscode.com/v1alpha1"), edgeString),
            kind: fc.oneof(fc.constant("MetricsConfiguration"), edgeString),
            metadata: fc.oneof(fc.record({ name: edgeString }), jsonValue),
            spec: fc.oneof(
              fc.record(
                {
                  targetRef: fc.oneof(
                    fc.record({ apiVersion: edgeString, kind: edgeString }, { requiredKeys: [] }),
                    jsonValue,
                  ),
                  metrics: fc.oneof(metricsArb, jsonValue),
                  commonLabels: jsonValue,
                },
                { requiredKeys: [] },
              ),
              jsonValue,
            ),
            "": jsonValue,
          },
          { requiredKeys: [] },
        ),
      },
      { weight: 1, arbitrary: jsonValue },
      { weight: 1, arbitrary: fc.anything() },
    );
    fc.assert(
      fc.property(doc, (d) => {
        const compiled = compileConfiguration(d, { file: "props.yaml", document: 0 });
        expect(locationProblems(compiled.diagnostics)).toEqual([]);
        expect(locationProblems(buildPlan([compiled]).diagnostics)).toEqual([]);
      }),
      { seed: SEED, numRuns: 400 },
    );
  });
});

describe("paths", () => {
  it("compilePath throws only JsonPathError; evaluate and formatResults only JsonPathLimitError", () => {
    fc.assert(
      fc.property(pathSource, fc.array(jsonValue, { maxLength: 4 }), (source, inputs) => {
        let compiled;
        try {
          compiled = compilePath(source);
        } catch (err) {
          expect(err).toBeInstanceOf(JsonPathError);
          expect((err as Error).message).not.toBe("");
          return;
        }
        for (const input of [...inputs, objectFor("W", { name: "x", spec: inputs[0], status: inputs[1] })]) {
          try {
            const results = compiled.evaluate(input);
            expect(Array.isArray(results)).toBe(true);
            const text = formatResults(results);
            expect(text === undefined || typeof text === "string").toBe(true);
          } catch (err) {
            expect(err).toBeInstanceOf(JsonPathLimitError);
          }
        }
      }),
      { seed: SEED, numRuns: 600 },
    );
  });
});

describe("expressions", () => {
  it("compile and evaluate throw nothing but ExpressionError, whatever the source and bindings", () => {
    const binding = fc.oneof(jsonValue, fc.constant(ABSENT));
    fc.assert(
      fc.property(expressionSource, fc.tuple(binding, binding, binding), (source, values) => {
        let compiled;
        try {
          compiled = compileExpression(source, { knownParams: new Set(PARAM_NAMES) });
        } catch (err) {
          expect(err).toBeInstanceOf(ExpressionError);
          return;
        }
        const env = new Map<string, unknown>(PARAM_NAMES.map((p, i) => [p, values[i]]));
        try {
          const v = compiled.evaluate(env);
          expect(typeof v === "function").toBe(false);
        } catch (err) {
          expect(err).toBeInstanceOf(ExpressionError);
          expect((err as Error).message).not.toMatch(/internal error/);
        }
      }),
      { seed: SEED, numRuns: 800 },
    );
  });
});

describe("rendering", () => {
  const runs: { configuration: CompiledConfiguration; objects: OfflineObject[] }[] = [];

  it("renderObject never throws, for any configuration and object", () => {
    let run = 0;
    fc.assert(
      fc.property(
        metricsArb,
        fc.option(fc.array(goodLabel, { maxLength: 3 }), { nil: undefined }),
        fc.array(fc.oneof({ weight: 6, arbitrary: objectBody }, { weight: 1, arbitrary: jsonValue }), {
          minLength: 1,
          maxLength: 5,
        }),
        (metrics, common, bodies) => {
          // Mostly-valid common labels here: junk ones invalidate every metric (tested above).
          // A kind per run: its families are unique, so every run can share one exposition below.
          const kind = `W${run++}`;
          const configuration = compileConfiguration(configFor(kind, metrics, common), {
            file: "props.yaml",
          });
          const objects = bodies.map((b) =>
            typeof b === "object" && b !== null && "name" in b
              ? objectFor(kind, b as { name: string })
              : { apiVersion: "example.com/v1", kind, metadata: b },
          );
          const target = buildPlan([configuration]).targets.values().next().value;
          if (target !== undefined) {
            for (const obj of objects) {
              const out = renderObject(target, obj, {});
              expect(out).toHaveLength(target.families.length);
            }
          }
          runs.push({ configuration, objects: objects.map((value) => ({ value })) });
          if (process.env.PROPS_DEBUG)
            console.log(
              configuration.metrics.length,
              configuration.diagnostics
                .filter((d) => d.severity === "error")
                .map((d) => d.field + " " + d.message.slice(0, 80)),
            );
        },
      ),
      { seed: SEED, numRuns: 250 },
    );
    expect(runs.length).toBe(250);
  });

  it("renderObject gives the bytes, series counts and reports of the plain reference evaluation", () => {
    const recorder = (): { calls: string[]; hooks: EvaluationHooks } => {
      const calls: string[] = [];
      return {
        calls,
        hooks: {
          onError: (metric, reason, message) => calls.push(`error ${metric.name} ${reason} ${message}`),
          onDuplicate: (family) => calls.push(`duplicate ${family}`),
        },
      };
    };
    // Common labels of every kind here (row-relative ones included when a metric has an Array
    // field), and label keys that collide with the identity labels, each other and the states
    // label, so both the direct and the pairs rendering are compared.
    const collidingLabel = labelSpec(fc.constantFrom("a", "b", "namespace", "d0", "phase", "state"));
    fc.assert(
      fc.property(
        fc.array(fc.oneof({ weight: 3, arbitrary: validishMetric }, { weight: 1, arbitrary: metricSpec }), {
          minLength: 1,
          maxLength: 6,
        }),
        fc.option(fc.array(fc.oneof(goodLabel, collidingLabel), { maxLength: 4 }), { nil: undefined }),
        fc.array(objectBody, { minLength: 1, maxLength: 4 }),
        fc.boolean(),
        fc.option(fc.array(goodLabel, { maxLength: 2 }), { nil: undefined }),
        (metrics, common, bodies, repeat, secondCommon) => {
          const configuration = compileConfiguration(configFor("D", metrics, common), { file: "p.yaml" });
          // A second configuration with the first metric: one family fed twice (merged, SPEC
          // §3.7): its series duplicate the first one's where their common labels agree.
          const second = {
            ...(configFor("D", metrics.slice(0, 1), secondCommon) as object),
            metadata: { name: "c-D2" },
          };
          const configurations = repeat ? [configuration, compileConfiguration(second)] : [configuration];
          const target = buildPlan(configurations).targets.values().next().value;
          if (target === undefined) return;
          for (const body of bodies) {
            const obj = objectFor("D", body);
            const fast = recorder();
            const counts: number[] = [];
            const out = renderObject(target, obj, fast.hooks, counts);
            const ref = recorder();
            expect(out).toEqual(renderObjectReference(target, obj, ref.hooks));
            expect(fast.calls).toEqual(ref.calls);
            expect(counts).toEqual(out.map((f) => (f === undefined ? 0 : f.split("\n").length - 1)));
          }
        },
      ),
      { seed: SEED, numRuns: 600 },
    );
  });

  /** Long generated strings would drown the report: keep the start of every long line. */
  const short = (text: string): string =>
    text
      .split("\n")
      .map((l) => (l.length > 300 ? `${l.slice(0, 300)}… (${l.length} characters)` : l))
      .join("\n");

  /** First run (in generation order) whose own exposition fails the check, for the message. */
  function culprit(format: ExpositionFormat, check: (text: string) => boolean): string {
    for (const r of runs) {
      const text = renderOffline([r.configuration], r.objects, format);
      if (!check(text)) return short(text);
    }
    return "no single run fails on its own";
  }

  it("every exposition parses under promtool (text format)", () => {
    if (!requireTool(hasPromtool, "promtool")) return;
    const text = renderOffline(
      runs.map((r) => r.configuration),
      runs.flatMap((r) => r.objects),
      "text",
    );
    expect(text.split("\n").filter((l) => l !== "" && !l.startsWith("#")).length).toBeGreaterThan(100);
    const result = promtoolCheck(text);
    if (!result.ok) expect([short(result.output), culprit("text", (t) => promtoolCheck(t).ok)]).toEqual([]);
  });

  it("every exposition parses under the strict OpenMetrics parser", () => {
    if (!requireTool(hasOpenMetricsParser, "python3-prometheus-client")) return;
    const text = renderOffline(
      runs.map((r) => r.configuration),
      runs.flatMap((r) => r.objects),
      "openmetrics",
    );
    const result = openMetricsParse(text);
    if (!result.ok)
      expect([short(result.output), culprit("openmetrics", (t) => openMetricsParse(t).ok)]).toEqual([]);
    expect(result.samples).toBeGreaterThan(100);
  });
});

describe("edge cases the properties found", () => {
  it("values differing only in lone surrogates are one series (both become U+FFFD on the wire)", () => {
    const config = compileConfiguration(
      configFor(
        "Widget",
        [
          {
            name: "m",
            help: "h",
            type: "gauge",
            field: { path: ".spec.items", type: "Array" },
            labels: [{ key: "v", valuePath: ".spec.items[*].v" }],
            metricValue: { value: 1 },
          },
        ],
        undefined,
      ),
      { file: "edge.yaml" },
    );
    const target = buildPlan([config]).targets.values().next().value!;
    let duplicates = 0;
    const obj = objectFor("Widget", {
      name: "o",
      spec: { items: [{ v: "a\ud800" }, { v: "a\udc00" }, { v: "a\ufffd" }] },
    });
    const out = renderObject(target, obj, { onDuplicate: () => duplicates++ });
    expect(out[0]).toBe('example_com_widget_m{widget="o",v="a\ufffd"} 1\n');
    expect(duplicates).toBe(2);
  });
});
