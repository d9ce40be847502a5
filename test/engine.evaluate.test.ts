import { describe, expect, it, jest } from "@jest/globals";
import type { CompiledConfiguration } from "../src/config/compiled.js";
import { buildPlan } from "../src/engine/plan.js";
import { renderObject } from "../src/engine/evaluate.js";
import { renderOffline } from "../src/store/offline.js";
import { compile, widget } from "./support/configs.js";

const gauge = (extra: Record<string, unknown>) => ({ name: "m", help: "h", type: "gauge", ...extra });

function lines(configs: CompiledConfiguration[], objects: unknown[], hooks = {}): string[] {
  return renderOffline(
    configs,
    objects.map((value) => ({ value })),
    "text",
    hooks,
  )
    .split("\n")
    .filter((l) => l !== "" && !l.startsWith("#"));
}

function one(metric: Record<string, unknown>, obj: unknown, hooks = {}): string[] {
  const c = compile([gauge(metric)]);
  expect(c.diagnostics.filter((d) => d.severity === "error")).toEqual([]);
  return lines([c], [obj], hooks);
}

describe("rows (SPEC §3.1)", () => {
  it("yields one series without a field", () => {
    expect(one({ metricValue: { value: 1 } }, widget("a"))).toEqual([
      'example_com_widget_m{namespace="ns",widget="a"} 1',
    ]);
  });

  it.each([
    ["absent", {}],
    ["null", { status: { phase: null } }],
  ])("yields nothing when a non-Array field is %s", (_what, body) => {
    expect(
      one({ field: { path: ".status.phase", type: "String" }, metricValue: { value: 1 } }, widget("a", body)),
    ).toEqual([]);
  });

  it.each([
    ["absent", {}],
    ["null", { spec: { items: null } }],
    ["not a list", { spec: { items: { a: 1 } } }],
    ["empty", { spec: { items: [] } }],
  ])("yields nothing when an Array field is %s", (_what, body) => {
    expect(
      one({ field: { path: ".spec.items", type: "Array" }, metricValue: { value: 1 } }, widget("a", body)),
    ).toEqual([]);
  });

  it("yields one series per element, in list order, and elements lacking a sub-field only lose that label", () => {
    const out = one(
      {
        field: { path: ".status.conditions", type: "Array" },
        labels: [
          { key: "type", valuePath: ".status.conditions[*].type" },
          { key: "status", valuePath: ".status.conditions[*].status" },
        ],
        metricValue: { value: 1 },
      },
      widget("a", {
        status: {
          conditions: [{ type: "B", status: "True" }, { type: "A" }, { status: "False", type: "C" }],
        },
      }),
    );
    expect(out).toEqual([
      'example_com_widget_m{namespace="ns",widget="a",type="B",status="True"} 1',
      'example_com_widget_m{namespace="ns",widget="a",type="A"} 1',
      'example_com_widget_m{namespace="ns",widget="a",type="C",status="False"} 1',
    ]);
  });

  it("takes a row value through a row-relative valueFromPath", () => {
    const out = one(
      {
        field: { path: ".spec.items", type: "Array" },
        labels: [{ key: "n", valuePath: ".spec.items[*].name" }],
        metricValue: { valueFromPath: ".spec.items[*].count" },
      },
      widget("a", {
        spec: {
          items: [
            { name: "x", count: 3 },
            { name: "y", count: "4.5" },
          ],
        },
      }),
    );
    expect(out).toEqual([
      'example_com_widget_m{namespace="ns",widget="a",n="x"} 3',
      'example_com_widget_m{namespace="ns",widget="a",n="y"} 4.5',
    ]);
  });
});

describe("labels (SPEC §2, §3.3)", () => {
  it("stringifies like kubectl and omits labels with no result", () => {
    const out = one(
      {
        labels: [
          { key: "b", valuePath: ".spec.flag" },
          { key: "n", valuePath: ".spec.num" },
          { key: "f", valuePath: ".spec.frac" },
          { key: "m", valuePath: ".spec.map" },
          { key: "l", valuePath: ".spec.list[*]" },
          { key: "missing", valuePath: ".spec.nope" },
          { key: "lit", value: "x" },
        ],
        metricValue: { value: 1 },
      },
      widget("a", { spec: { flag: true, num: 3, frac: 0.5, map: { k: "v" }, list: ["p", "q"] } }),
    );
    expect(out).toEqual([
      'example_com_widget_m{namespace="ns",widget="a",b="true",n="3",f="0.5",m="{\\"k\\":\\"v\\"}",l="p q",lit="x"} 1',
    ]);
  });

  it("omits namespace for cluster-scoped objects", () => {
    expect(one({ metricValue: { value: 1 } }, widget("a", {}, ""))).toEqual([
      'example_com_widget_m{widget="a"} 1',
    ]);
  });

  it("applies precedence: defaults < commonLabels < metric labels < state label", () => {
    const c = compile(
      [
        gauge({
          labels: [{ key: "x", value: "metric" }],
          params: [{ key: "p", value: "a" }],
          states: {
            labelKey: "x",
            values: [{ labelValue: "state", metricValue: { valueFromExpression: "int(p == 'a')" } }],
          },
        }),
        gauge({ name: "n", labels: [{ key: "x", value: "metric" }], metricValue: { value: 1 } }),
        gauge({ name: "o", labels: [{ key: "widget", value: "override" }], metricValue: { value: 1 } }),
      ],
      { commonLabels: [{ key: "x", value: "common" }] },
    );
    expect(lines([c], [widget("a")])).toEqual([
      'example_com_widget_m{namespace="ns",widget="a",x="state"} 1',
      'example_com_widget_n{namespace="ns",widget="a",x="metric"} 1',
      'example_com_widget_o{namespace="ns",widget="override",x="common"} 1',
    ]);
  });

  it("keeps the earlier value when an overriding valuePath has no result", () => {
    const c = compile([gauge({ labels: [{ key: "x", valuePath: ".nope" }], metricValue: { value: 1 } })], {
      commonLabels: [{ key: "x", value: "common" }],
    });
    expect(lines([c], [widget("a")])).toEqual([
      'example_com_widget_m{namespace="ns",widget="a",x="common"} 1',
    ]);
  });

  it("escapes quotes, backslashes and newlines in label values", () => {
    expect(
      one(
        { labels: [{ key: "v", valuePath: ".spec.s" }], metricValue: { value: 1 } },
        widget("a", { spec: { s: 'a"b\\c\nd' } }),
      ),
    ).toEqual(['example_com_widget_m{namespace="ns",widget="a",v="a\\"b\\\\c\\nd"} 1']);
  });
});

describe("values (SPEC §3.4–3.5)", () => {
  const byType = (type: string | undefined, v: unknown, hooks = {}): string[] =>
    one(
      type === undefined
        ? { metricValue: { valueFromPath: ".spec.v" } }
        : { field: { path: ".spec.v", type }, metricValue: { valueFromPath: ".spec.v" } },
      widget("a", { spec: { v } }),
      hooks,
    ).map((l) => l.split(" ")[1]!);

  it.each([
    ["DateTime", "2023-12-14T08:40:01Z", "1702543201"],
    ["DateTime", "2023-12-14T08:40:01.25Z", "1702543201.25"],
    ["DateTime", "2023-12-14T10:40:01+02:00", "1702543201"],
    ["Integer", 42, "42"],
    ["Integer", "17", "17"],
    ["Integer", true, "1"],
    ["Integer", false, "0"],
    ["String", "3.5", "3.5"],
    [undefined, 7, "7"],
    [undefined, true, "1"],
    [undefined, "1e3", "1000"],
    [undefined, "2023-12-14T08:40:01Z", "1702543201"],
  ])("converts a %s field %p to %s", (type, v, expected) => {
    expect(byType(type, v)).toEqual([expected]);
  });

  it.each([
    ["DateTime", "yesterday"],
    ["DateTime", 1702543201],
    ["Integer", "12abc"],
    ["Integer", { a: 1 }],
    ["String", "Running"],
    [undefined, "n/a"],
    [undefined, [1]],
  ])("skips and counts a %s field holding %p", (type, v) => {
    const onError = jest.fn();
    expect(byType(type, v, { onError })).toEqual([]);
    expect(onError).toHaveBeenCalledTimes(1);
    expect(onError.mock.calls[0]?.[1]).toBe("conversion");
  });

  it("fails when valueFromPath yields several results", () => {
    const onError = jest.fn();
    const out = one({ metricValue: { valueFromPath: ".spec.v[*]" } }, widget("a", { spec: { v: [1, 2] } }), {
      onError,
    });
    expect(out).toEqual([]);
    expect(onError.mock.calls[0]?.[1]).toBe("path");
  });

  it("converts expression results: number, boolean, numeric string", () => {
    const c = compile([
      gauge({
        params: [{ key: "d", valuePath: ".spec.d" }],
        metricValue: { valueFromExpression: "toSecond(d)" },
      }),
      gauge({
        name: "b",
        params: [{ key: "p", valuePath: ".spec.p" }],
        metricValue: { valueFromExpression: "p == 'x'" },
      }),
    ]);
    expect(lines([c], [widget("a", { spec: { d: "1m30.5s", p: "x" } })])).toEqual([
      'example_com_widget_b{namespace="ns",widget="a"} 1',
      'example_com_widget_m{namespace="ns",widget="a"} 90.5',
    ]);
  });

  it("binds an absent parameter equal to '' and 'nil' (upstream guards)", () => {
    const c = compile([
      gauge({
        params: [{ key: "x", valuePath: ".spec.missing" }],
        metricValue: { valueFromExpression: "x == '' && x == 'nil' ? 1 : 0" },
      }),
    ]);
    expect(lines([c], [widget("a")])).toEqual(['example_com_widget_m{namespace="ns",widget="a"} 1']);
  });

  it("binds maps as structures and `.` as the whole object", () => {
    const c = compile([
      gauge({ params: [{ key: "o", valuePath: "." }], metricValue: { valueFromExpression: "o.spec.n * 2" } }),
    ]);
    expect(lines([c], [widget("a", { spec: { n: 21 } })])).toEqual([
      'example_com_widget_m{namespace="ns",widget="a"} 42',
    ]);
  });
});

describe("states and duplicates (SPEC §3.6–3.7)", () => {
  it("emits one series per state in order and skips a failing entry alone", () => {
    const onError = jest.fn();
    const c = compile([
      gauge({
        params: [
          { key: "phase", valuePath: ".status.phase" },
          { key: "size", valuePath: ".status.size" },
        ],
        states: {
          labelKey: "phase",
          values: [
            { labelValue: "Running", metricValue: { valueFromExpression: "int(phase == 'Running')" } },
            { labelValue: "Broken", metricValue: { valueFromExpression: "bytes(size)" } },
            { labelValue: "Done", metricValue: { valueFromExpression: "int(phase == 'Done')" } },
          ],
        },
      }),
    ]);
    expect(lines([c], [widget("a", { status: { phase: "Running" } })], { onError })).toEqual([
      'example_com_widget_m{namespace="ns",widget="a",phase="Running"} 1',
      'example_com_widget_m{namespace="ns",widget="a",phase="Done"} 0',
    ]);
    expect(onError).toHaveBeenCalledTimes(1);
  });

  it("keeps the first of two rows with the same label set and counts the duplicate", () => {
    const onDuplicate = jest.fn();
    const out = one(
      {
        field: { path: ".spec.items", type: "Array" },
        labels: [{ key: "n", valuePath: ".spec.items[*].name" }],
        metricValue: { valueFromPath: ".spec.items[*].v" },
      },
      widget("a", {
        spec: {
          items: [
            { name: "x", v: 1 },
            { name: "x", v: 2 },
          ],
        },
      }),
      { onDuplicate },
    );
    expect(out).toEqual(['example_com_widget_m{namespace="ns",widget="a",n="x"} 1']);
    expect(onDuplicate).toHaveBeenCalledWith("example_com_widget_m");
  });

  it("evaluates an expression for each object's own parameters (no result reused across other values)", () => {
    // Parameter pairs that read alike when joined, absent against empty, and repeats (reused).
    const pairs: [unknown, unknown][] = [
      ["ab", "c"],
      ["a", "bc"],
      ["ab", "c"],
      [undefined, "x"],
      ["", "x"],
      ["a\u0000b", ""],
      ["a", "\u0000b"],
    ];
    const c = compile([
      gauge({
        params: [
          { key: "p0", valuePath: ".spec.p0" },
          { key: "p1", valuePath: ".spec.p1" },
        ],
        metricValue: {
          valueFromExpression:
            "(p0 == 'ab' ? 1 : 0) + (p1 == 'bc' ? 2 : 0) + (p0 == 'a' ? 4 : 0) + (p1 == '' ? 8 : 0)",
        },
      }),
    ]);
    const objects = pairs.map(([p0, p1], i) => widget(`w${i}`, { spec: { p0, p1 } }));
    expect(lines([c], objects).map((l) => l.split(" ")[1])).toEqual(["1", "6", "1", "0", "0", "8", "4"]);
  });

  it("keeps the first of two states with the same label value and counts the duplicate", () => {
    const onDuplicate = jest.fn();
    const out = one(
      {
        states: {
          labelKey: "phase",
          values: [
            { labelValue: "Done", metricValue: { value: 1 } },
            { labelValue: "Done", metricValue: { value: 2 } },
            { labelValue: "Failed", metricValue: { value: 0 } },
          ],
        },
      },
      widget("a"),
      { onDuplicate },
    );
    expect(out).toEqual([
      'example_com_widget_m{namespace="ns",widget="a",phase="Done"} 1',
      'example_com_widget_m{namespace="ns",widget="a",phase="Failed"} 0',
    ]);
    expect(onDuplicate).toHaveBeenCalledTimes(1);
  });

  it("merges a family defined by two configurations with the same help, and dedupes their series", () => {
    const a = compile([gauge({ metricValue: { value: 1 } })], { name: "a" });
    const b = compile([gauge({ metricValue: { value: 2 } })], { name: "b" });
    const plan = buildPlan([b, a]);
    expect(plan.diagnostics).toEqual([]);
    expect(plan.families.get("example_com_widget_m")?.configurations).toEqual(["a", "b"]);
    expect(lines([a, b], [widget("x")])).toEqual(['example_com_widget_m{namespace="ns",widget="x"} 1']);
  });

  it("drops the later configuration's metric when help text differs", () => {
    const older = {
      ...compile([gauge({ metricValue: { value: 1 } })], { name: "z-old" }),
      source: { creationTimestamp: "2024-01-01T00:00:00Z" },
    };
    const newer = {
      ...compile([gauge({ help: "other", metricValue: { value: 2 } })], { name: "a-new" }),
      source: { creationTimestamp: "2024-02-01T00:00:00Z" },
    };
    const plan = buildPlan([newer, older]);
    expect(plan.diagnostics).toEqual([
      expect.objectContaining({ configuration: "a-new", metric: "m", severity: "error" }),
    ]);
    expect(lines([newer, older], [widget("x")])).toEqual([
      'example_com_widget_m{namespace="ns",widget="x"} 1',
    ]);
  });
});

describe("robustness", () => {
  it.each([null, 42, "str", [], { metadata: {} }, { metadata: { name: 5 } }])(
    "renders nothing for a malformed object %p",
    (obj) => {
      const c = compile([gauge({ metricValue: { value: 1 } })]);
      const plan = buildPlan([c]).targets.get("example.com/v1/Widget")!;
      expect(renderObject(plan, obj)).toEqual([undefined]);
    },
  );

  it("gives the same bytes whatever order objects arrive in", () => {
    const c = compile([gauge({ metricValue: { value: 1 } })]);
    const objs = [widget("b", {}, "y"), widget("a", {}, "y"), widget("c", {}, "x"), widget("z", {}, "")];
    const forward = lines([c], objs);
    expect(lines([c], [...objs].reverse())).toEqual(forward);
    expect(forward.map((l) => /widget="(\w)"/.exec(l)?.[1])).toEqual(["z", "c", "a", "b"]);
  });
});
