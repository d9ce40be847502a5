import { afterAll, beforeEach, describe, expect, it } from "@jest/globals";
import { existsSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { compileConfiguration } from "../src/config/compile.js";
import { loadConfigurations } from "../src/config/load.js";
import { parseManifests } from "../src/config/manifests.js";
import { compileExpression, ExpressionError } from "../src/expression/index.js";
import { compilePath, JsonPathError } from "../src/jsonpath/index.js";
import { renderOffline } from "../src/store/offline.js";
import { cli, ROOT } from "./support/cli.js";
import { configDoc } from "./support/configs.js";

/**
 * No code execution through configurations (issue 7, "Security"): payloads in the style of the
 * jsonpath-plus RCE advisories, expression sandbox escapes and `__proto__` writes, against the
 * engine, `render` and `lint`. Every payload is written for this corpus; its effect, were it ever
 * run, would be visible: a canary global set, Object.prototype polluted, a process exit or a file.
 */

const FIXTURES = join(ROOT, "test", "fixtures", "security");
const PWNED = ["/tmp/csm-pwned", "/tmp/csm-pwned-cli", "/tmp/csm-pwned-yaml"];
const CANARY = "__csmCanary";

function noSideEffects(): void {
  expect((Object.prototype as Record<string, unknown>).polluted).toBeUndefined();
  expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  expect((globalThis as Record<string, unknown>)[CANARY]).toBeUndefined();
  for (const f of PWNED) expect(existsSync(f)).toBe(false);
}

beforeEach(() => {
  for (const f of PWNED) rmSync(f, { force: true });
});
afterAll(() => {
  noSideEffects();
});

const SET_CANARY = `globalThis.${CANARY}=1`;
const WRITE_FILE = "require('fs').writeFileSync('/tmp/csm-pwned','x')";

/** JSONPath payloads; all must be rejected at load (JsonPathError), none evaluated. */
const PATH_PAYLOADS = [
  // Script and filter expressions reaching the Function constructor.
  `$..[?(@.constructor.constructor('${SET_CANARY}')())]`,
  `$[?(@.constructor.constructor('${SET_CANARY}')())]`,
  `.items[?(@.constructor.constructor("${WRITE_FILE}")())]`,
  `$[(@.constructor.constructor('${SET_CANARY}')())]`,
  `.a[(this.constructor.constructor('${SET_CANARY}')())]`,
  `$..*[?(@.constructor.constructor('${SET_CANARY}')())]`,
  `$..*[?(process.exit(1))]`,
  `$[?(require('child_process').execSync('touch /tmp/csm-pwned'))]`,
  `$[?(this.process)]`,
  `$[?(globalThis.${CANARY}=1)]`,
  `$[?(@.a && (${SET_CANARY}))]`,
  `$[?(@.a == 1 || (${SET_CANARY}))]`,
  `$[?(!@.a)]`,
  `$[?(@.a.toString())]`,
  `$[?(@.a == \`x\`)]`,
  // Prototype reads and walks.
  "$..[?(@.__proto__)]",
  // jsonpath-plus extensions.
  "$..[?(@property === 'x')]",
  "$..[?(@parentProperty === 'x')]",
  "$..[?(@path)]",
  "$..[?(@root)]",
  "$.a^",
  "$.a~",
  "$.*~",
  "$..`constructor",
  "$.a.length",
  "$..*",
  "$..[*]",
  // Templates and text outside braces.
  "{range .items[*]}{.name}{end}",
  "x{.a}",
  "{.a}{.b}",
];

/** Paths that are valid dialect but name prototype members: they read own data only. */
const PROTO_READS = [
  ".constructor",
  ".constructor.constructor",
  ".__proto__",
  "['__proto__']",
  "['__proto__'].polluted",
  ".a.constructor.prototype",
  "..constructor",
  "..__proto__",
  ".a['toString']",
  ".a.hasOwnProperty",
  "[?(@.constructor)]",
  "[?(@.__proto__)]",
  "$[?(@.__proto__.polluted)]..x",
];

/** Expression payloads: rejected at load (ExpressionError) with a message. */
const EXPRESSION_PAYLOADS = [
  "constructor.constructor('return process')()",
  `p.constructor.constructor('${SET_CANARY}')()`,
  "this",
  "this.constructor",
  "process.exit(1)",
  "process",
  "globalThis",
  `globalThis.${CANARY} = 1`,
  "import('fs')",
  "require('fs')",
  "eval('1')",
  "Function('return 1')()",
  "p.__proto__.polluted = true",
  "p['constructor']",
  "`${1}`",
  "(() => 1)()",
  "new Error('x')",
  "p; process.exit(1)",
  "toString()",
  "p.toString()",
];

describe("JSONPath payloads (engine)", () => {
  it.each(PATH_PAYLOADS)("rejects %s at load with a JsonPathError", (payload) => {
    expect(() => compilePath(payload)).toThrow(JsonPathError);
    noSideEffects();
  });

  it.each(PROTO_READS)("%s reads own data only: nothing on plain objects", (path) => {
    const compiled = compilePath(path);
    for (const data of [{}, { a: {} }, { a: [] }, [{ a: 1 }], JSON.parse('{"a":{"b":1}}') as unknown]) {
      expect(compiled.evaluate(data)).toEqual([]);
    }
    noSideEffects();
  });

  it("reads __proto__ and constructor keys that are really in the data, as data", () => {
    const data = JSON.parse('{"__proto__":{"polluted":true},"constructor":{"prototype":"p"}}') as unknown;
    expect(compilePath("['__proto__'].polluted").evaluate(data)).toEqual([true]);
    expect(compilePath(".constructor.prototype").evaluate(data)).toEqual(["p"]);
    expect(compilePath("..polluted").evaluate(data)).toEqual([true]);
    noSideEffects();
  });

  it("names the configuration, metric and field of a rejected path", () => {
    const c = compileConfiguration(
      configDoc([{ name: "m", help: "h", type: "gauge", metricValue: { valueFromPath: PATH_PAYLOADS[0] } }], {
        name: "evil",
      }),
      { file: "evil.yaml" },
    );
    expect(c.metrics).toEqual([]);
    expect(c.diagnostics).toEqual([
      expect.objectContaining({
        severity: "error",
        file: "evil.yaml",
        configuration: "evil",
        metric: "m",
        field: "spec.metrics[0].metricValue.valueFromPath",
      }),
    ]);
  });
});

describe("expression payloads (engine)", () => {
  it.each(EXPRESSION_PAYLOADS)("rejects %s at load with an ExpressionError", (payload) => {
    expect(() => compileExpression(payload, { knownParams: new Set(["p"]) })).toThrow(ExpressionError);
    noSideEffects();
  });

  it("field access on parameters reads own data only", () => {
    const e = compileExpression("p.constructor ?? 'none'", { knownParams: new Set(["p"]) });
    expect(e.evaluate(new Map([["p", {}]]))).toBe("none");
    const proto = compileExpression("p.__proto__ ?? 'none'", { knownParams: new Set(["p"]) });
    expect(proto.evaluate(new Map([["p", {}]]))).toBe("none");
    expect(proto.evaluate(new Map([["p", JSON.parse('{"__proto__":"own"}') as unknown]]))).toBe("own");
    expect(() =>
      compileExpression("p.x.y", { knownParams: new Set(["p"]) }).evaluate(new Map([["p", "s"]])),
    ).toThrow(ExpressionError);
    noSideEffects();
  });

  it("strings that look like code are only strings", () => {
    const e = compileExpression("p + '!'", { knownParams: new Set(["p"]) });
    expect(e.evaluate(new Map([["p", `${SET_CANARY}; ${WRITE_FILE}`]]))).toBe(
      `${SET_CANARY}; ${WRITE_FILE}!`,
    );
    noSideEffects();
  });
});

describe("__proto__ keys in YAML and JSON input", () => {
  it("stay own data keys in objects and configurations read from files", async () => {
    const objects = [
      ...parseManifests(readFileSync(join(FIXTURES, "objects.yaml"), "utf8"), "objects.yaml"),
      ...parseManifests(readFileSync(join(FIXTURES, "objects.json"), "utf8"), "objects.json"),
    ];
    noSideEffects();
    const spec = (objects[0]!.value as { spec: Record<string, unknown> }).spec;
    expect(Object.hasOwn(spec, "__proto__")).toBe(true);
    expect(Object.getPrototypeOf(spec)).toBe(Object.prototype);

    const loaded = await loadConfigurations([join(FIXTURES, "config-proto.yaml")]);
    noSideEffects();
    const [config] = loaded.configurations;
    expect(config?.metrics.map((m) => m.name)).toEqual(["phase", "items"]);
    const unknown = config!.diagnostics.filter((d) => d.message.includes('unknown field "__proto__"'));
    expect(unknown.map((d) => d.field).sort()).toEqual(
      [
        "__proto__",
        "spec.__proto__",
        "spec.metrics[0].__proto__",
        "spec.metrics[0].labels[0].__proto__",
        "spec.targetRef.__proto__",
      ].sort(),
    );

    const text = renderOffline(
      loaded.configurations,
      objects.map((m) => ({ value: m.value })),
      "text",
    );
    noSideEffects();
    expect(text).toContain(
      `example_com_widget_phase{namespace="ns",widget="w1",phase="require('child_process').execSync('touch /tmp/csm-pwned-yaml')",proto="true",ctor="true"} 1`,
    );
    expect(text).toContain(
      'example_com_widget_items{namespace="ns",widget="w1",item="${process.exit(3)}"} 1',
    );
    expect(text).toContain(
      'example_com_widget_phase{namespace="ns",widget="w2",phase="Ready",proto="true",ctor="true"} 1',
    );
  });

  it("a metadata.__proto__ cannot fake an object's name or namespace", () => {
    const doc = JSON.parse(
      '{"apiVersion":"example.com/v1","kind":"Widget","metadata":{"__proto__":{"name":"fake","namespace":"x"}}}',
    ) as unknown;
    const text = renderOffline(
      [compileConfiguration(configDoc([{ name: "m", help: "h", type: "gauge", metricValue: { value: 1 } }]))],
      [{ value: doc }],
      "text",
    );
    expect(text).toBe("");
  });
});

describe("through the built CLI", () => {
  it("lint rejects every payload with its location and runs none", () => {
    const r = cli(["lint", "-c", join(FIXTURES, "config-payloads.yaml")]);
    expect(r.status).toBe(2);
    const errors = r.stdout.split("\n").filter((l) => l.startsWith("error: "));
    expect(errors).toHaveLength(5);
    for (const [metric, field] of [
      ["filter_ctor", "spec.metrics[0].metricValue.valueFromPath"],
      ["script_ctor", "spec.metrics[1].labels[0].valuePath"],
      ["proto_filter", "spec.metrics[2].field.path"],
      ["expr_ctor", "spec.metrics[3].metricValue.valueFromExpression"],
      ["expr_import", "spec.metrics[4].metricValue.valueFromExpression"],
    ] as const) {
      expect(errors.some((l) => l.includes(`metric "${metric}": ${field}: invalid`))).toBe(true);
    }
    expect(r.stderr).not.toMatch(/at .*\.js:\d+/);
    noSideEffects();
  });

  it("render serves what is valid, refuses the payloads, and runs none", () => {
    const r = cli([
      "render",
      "-c",
      join(FIXTURES, "config-payloads.yaml"),
      "-c",
      join(FIXTURES, "config-proto.yaml"),
      "-f",
      FIXTURES,
    ]);
    noSideEffects();
    expect(r.stdout).toContain('example_com_widget_items{namespace="ns",widget="w1",item="a"} 1');
    expect(r.stdout).not.toContain("filter_ctor");
    expect(r.stdout).not.toContain("expr_ctor");
    expect(`${r.stdout}${r.stderr}`).not.toMatch(/polluted=/);
    expect([0, 2]).toContain(r.status);
  });
});
