import { describe, expect, it } from "@jest/globals";
import { compileConfiguration } from "../src/config/compile.js";
import { formatDiagnostic } from "../src/config/types.js";
import { familyName, groupPrefix, labelNameProblem } from "../src/config/naming.js";
import { compile, configDoc } from "./support/configs.js";

const gauge = (extra: Record<string, unknown>) => ({ name: "m", help: "h", type: "gauge", ...extra });

describe("naming (SPEC §2)", () => {
  it("builds family names from group, lower-cased kind and metric name", () => {
    expect(familyName("core.kubestash.com", "BackupSession", "phase")).toBe(
      "core_kubestash_com_backupsession_phase",
    );
    expect(familyName("", "Pod", "info")).toBe("core_pod_info");
    expect(groupPrefix("my-group.io")).toBe("my_group_io");
  });
  it("rejects label names outside the Prometheus grammar and the reserved prefix", () => {
    expect(labelNameProblem("ok_1")).toBeUndefined();
    expect(labelNameProblem("1bad")).toMatch(/must match/);
    expect(labelNameProblem("has-dash")).toMatch(/must match/);
    expect(labelNameProblem("__reserved")).toMatch(/must not start with "__"/);
  });
});

describe("compileConfiguration", () => {
  it("compiles a valid metric with no diagnostics", () => {
    const c = compile([gauge({ metricValue: { value: 1 } })]);
    expect(c.diagnostics).toEqual([]);
    expect(c.metrics.map((m) => m.family)).toEqual(["example_com_widget_m"]);
    expect(c.target).toEqual({
      apiVersion: "example.com/v1",
      group: "example.com",
      version: "v1",
      kind: "Widget",
    });
  });

  it.each([
    [
      "missing help",
      { name: "m", type: "gauge", metricValue: { value: 1 } },
      "spec.metrics[0].help",
      /is required/,
    ],
    [
      "unsupported type",
      gauge({ type: "counter", metricValue: { value: 1 } }),
      "spec.metrics[0].type",
      /only "gauge"/,
    ],
    ["no value and no states", gauge({}), "spec.metrics[0]", /needs "states" or "metricValue"/],
    [
      "bad name",
      gauge({ name: "bad-name", metricValue: { value: 1 } }),
      "spec.metrics[0].name",
      /must match/,
    ],
    [
      "bad field type",
      gauge({ field: { path: ".a", type: "Float" }, metricValue: { value: 1 } }),
      "spec.metrics[0].field.type",
      /not one of/,
    ],
    [
      "bad path",
      gauge({ metricValue: { valueFromPath: ".a[" } }),
      "spec.metrics[0].metricValue.valueFromPath",
      /invalid JSONPath/,
    ],
    [
      "script path",
      gauge({ metricValue: { valueFromPath: "$..[?(@.constructor)]" } }),
      "spec.metrics[0].metricValue.valueFromPath",
      /invalid JSONPath/,
    ],
    [
      "unknown function",
      gauge({ params: [{ key: "x", value: "1" }], metricValue: { valueFromExpression: "byts(x)" } }),
      "spec.metrics[0].metricValue.valueFromExpression",
      /unknown function/,
    ],
    [
      "unknown parameter",
      gauge({ metricValue: { valueFromExpression: "int(phse == 'x')" } }),
      "spec.metrics[0].metricValue.valueFromExpression",
      /phse/,
    ],
    [
      "bad label key",
      gauge({ labels: [{ key: "bad-key", value: "v" }], metricValue: { value: 1 } }),
      "spec.metrics[0].labels[0].key",
      /must match/,
    ],
    [
      "label without value",
      gauge({ labels: [{ key: "k" }], metricValue: { value: 1 } }),
      "spec.metrics[0].labels[0]",
      /needs "value" or "valuePath"/,
    ],
    [
      "non-numeric value",
      gauge({ metricValue: { value: "one" } }),
      "spec.metrics[0].metricValue.value",
      /must be a number/,
    ],
    [
      "states without labelKey",
      gauge({ states: { values: [] } }),
      "spec.metrics[0].states.labelKey",
      /is required/,
    ],
    [
      "state without metricValue",
      gauge({ states: { labelKey: "s", values: [{ labelValue: "a" }] } }),
      "spec.metrics[0].states.values[0].metricValue",
      /is required/,
    ],
  ])("reports %s at its field and skips only that metric", (_what, bad, field, message) => {
    const c = compile([bad, { name: "good", help: "h", type: "gauge", metricValue: { value: 1 } }]);
    const errors = c.diagnostics.filter((d) => d.severity === "error");
    expect(errors).toHaveLength(1);
    expect(errors[0]).toEqual(
      expect.objectContaining({
        file: "test.yaml",
        configuration: "test",
        field,
        message: expect.stringMatching(message),
      }),
    );
    expect(c.metrics.map((m) => m.name)).toEqual(["good"]);
  });

  it("names file, configuration, metric and field in the printed message", () => {
    const c = compile([gauge({ name: "phase", metricValue: { valueFromExpression: "nope(" } })]);
    expect(formatDiagnostic(c.diagnostics[0]!)).toMatch(
      /^error: test\.yaml: configuration "test": metric "phase": spec\.metrics\[0\]\.metricValue\.valueFromExpression: invalid expression/,
    );
  });

  it.each([
    [
      "states wins over metricValue",
      gauge({
        params: [{ key: "p", valuePath: ".p" }],
        states: {
          labelKey: "s",
          values: [{ labelValue: "a", metricValue: { valueFromExpression: "int(p == 'a')" } }],
        },
        metricValue: { value: 1 },
      }),
      /ignored because "states" is set/,
    ],
    [
      "value wins over valueFromPath",
      gauge({ metricValue: { value: 1, valueFromPath: ".a" } }),
      /only "value" is used/,
    ],
    [
      "label value wins over valuePath",
      gauge({ labels: [{ key: "k", value: "v", valuePath: ".a" }], metricValue: { value: 1 } }),
      /ignored because "value" is set/,
    ],
    ["unknown field", gauge({ metricValue: { value: 1 }, colour: "red" }), /unknown field "colour"/],
    [
      "identity label override",
      gauge({ labels: [{ key: "namespace", value: "x" }], metricValue: { value: 1 } }),
      /overrides a default identity label/,
    ],
    [
      "unused parameter",
      gauge({ params: [{ key: "p", value: "1" }], metricValue: { value: 1 } }),
      /not used/,
    ],
  ])("warns when %s, and still serves the metric", (_what, metric, message) => {
    const c = compile([metric]);
    expect(c.diagnostics.filter((d) => d.severity === "error")).toEqual([]);
    expect(c.diagnostics.map((d) => d.message)).toContainEqual(expect.stringMatching(message));
    expect(c.metrics).toHaveLength(1);
  });

  it("rejects a document that is not a MetricsConfiguration", () => {
    const c = compileConfiguration({ apiVersion: "v1", kind: "ConfigMap", metadata: { name: "x" } });
    expect(c.metrics).toEqual([]);
    expect(c.diagnostics[0]?.message).toMatch(/expected apiVersion/);
  });

  it("rejects a bad targetRef", () => {
    const c = compile([gauge({ metricValue: { value: 1 } })], { apiVersion: "a/b/c" });
    expect(c.target).toBeUndefined();
    expect(c.diagnostics[0]).toEqual(expect.objectContaining({ field: "spec.targetRef.apiVersion" }));
  });

  it("requires at least one metric", () => {
    const c = compileConfiguration(configDoc([]));
    expect(c.diagnostics).toContainEqual(
      expect.objectContaining({ field: "spec.metrics", severity: "error" }),
    );
  });

  it("reports a duplicate metric name once and keeps the first", () => {
    const c = compile([gauge({ metricValue: { value: 1 } }), gauge({ metricValue: { value: 2 } })]);
    expect(c.metrics).toHaveLength(1);
    expect(c.diagnostics).toEqual([
      expect.objectContaining({
        field: "spec.metrics[1].name",
        message: expect.stringMatching(/duplicates/),
      }),
    ]);
  });

  it("reports a broken common label once, not once per metric", () => {
    const c = compile(
      [gauge({ metricValue: { value: 1 } }), gauge({ name: "n", metricValue: { value: 1 } })],
      {
        commonLabels: [{ key: "bad key", value: "x" }],
      },
    );
    expect(c.diagnostics.filter((d) => d.field.startsWith("spec.commonLabels"))).toHaveLength(1);
  });

  it("binds paths under the Array field to the row", () => {
    const c = compile([
      gauge({
        field: { path: ".status.conditions", type: "Array" },
        labels: [
          { key: "t", valuePath: ".status.conditions[*].type" },
          { key: "n", valuePath: ".metadata.name" },
        ],
        metricValue: { value: 1 },
      }),
    ]);
    const labels = c.metrics[0]!.labels;
    expect(labels.map((l) => (l.kind === "path" ? l.path.rowRelative : "const"))).toEqual([true, false]);
  });
});
