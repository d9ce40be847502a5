import { describe, expect, it } from "@jest/globals";
import { compilePath, JsonPathError, relativeToArray } from "../src/jsonpath/index.js";
import { parsePath } from "../src/jsonpath/parse.js";
import { printSteps } from "../src/jsonpath/print.js";
import { stepsEqual } from "../src/jsonpath/ast.js";

function rejection(source: string): JsonPathError {
  try {
    compilePath(source);
  } catch (e) {
    if (e instanceof JsonPathError) return e;
    throw e;
  }
  throw new Error(`expected ${source} to be rejected`);
}

describe("jsonpath parser", () => {
  it("accepts the spellings of the dialect", () => {
    const same = [".status.phase", "{.status.phase}", "$.status.phase", "{$.status.phase}"];
    const ref = parsePath(".status.phase").steps;
    for (const s of same) expect(stepsEqual(parsePath(s).steps, ref)).toBe(true);
    expect(stepsEqual(parsePath(".status['phase']").steps, ref)).toBe(true);
    expect(stepsEqual(parsePath('["status"]["phase"]').steps, ref)).toBe(true);
    expect(parsePath(" { .a } ").steps).toHaveLength(1);
  });

  it("reads the root in every spelling", () => {
    for (const s of [".", "$", "{.}", "{$}", " . "]) expect(parsePath(s).steps).toEqual([]);
  });

  it("reads escaped dots and Kubernetes key characters in bare names", () => {
    const steps = parsePath(".metadata.labels.app\\.kubernetes\\.io/name").steps;
    expect(steps.map((s) => (s.kind === "field" ? s.name : s.kind))).toEqual([
      "metadata",
      "labels",
      "app.kubernetes.io/name",
    ]);
    expect(parsePath(".a-b.c_d.e:f").steps).toHaveLength(3);
  });

  it("keeps quoted keys literal, with or without escaped dots", () => {
    for (const s of [".l['a.b/c']", ".l['a\\.b/c']", '.l["a.b/c"]']) {
      const last = parsePath(s).steps.at(-1);
      expect(last).toMatchObject({ kind: "field", name: "a.b/c" });
    }
    expect(parsePath(".l['it\\'s']").steps.at(-1)).toMatchObject({ name: "it's" });
  });

  it("reads indices, slices, unions, wildcards, descent and filters", () => {
    expect(parsePath(".a[-1]").steps.at(-1)).toMatchObject({ kind: "index", index: -1 });
    expect(parsePath(".a[1:]").steps.at(-1)).toMatchObject({ kind: "slice", start: 1, end: undefined });
    expect(parsePath(".a[::2]").steps.at(-1)).toMatchObject({ kind: "slice", step: 2 });
    expect(parsePath(".a[0, 2]").steps.at(-1)).toMatchObject({ kind: "union" });
    expect(parsePath(".a['x','y']").steps.at(-1)).toMatchObject({ kind: "union" });
    expect(parsePath(".a[*]").steps.at(-1)).toMatchObject({ kind: "each" });
    expect(parsePath(".a.*").steps.at(-1)).toMatchObject({ kind: "wildcard" });
    expect(parsePath("..name").steps.at(-1)).toMatchObject({ kind: "descendant", name: "name" });
    expect(parsePath(".a[?(@.b == 'x')]").steps.at(-1)).toMatchObject({
      kind: "filter",
      test: { op: "==", value: "x" },
    });
    expect(parsePath(".a[?(@.b>=-1.5e2)]").steps.at(-1)).toMatchObject({
      test: { op: ">=", value: -150 },
    });
    expect(parsePath('.a[?(@.b != "q\\"\\u0041")]').steps.at(-1)).toMatchObject({
      test: { op: "!=", value: 'q"A' },
    });
    expect(parsePath(".a[?(@.ready==true)]").steps.at(-1)).toMatchObject({ test: { value: true } });
    expect(parsePath(".a[?(@.b)]").steps.at(-1)).toMatchObject({ kind: "filter", test: undefined });
    expect(parsePath(".a[?(@ > 1)]").steps.at(-1)).toMatchObject({ path: [] });
    expect(parsePath(".a[?(@.b == ')]')]").steps.at(-1)).toMatchObject({ test: { value: ")]" } });
  });

  const rejected: [string, RegExp, number?][] = [
    ["", /empty path/, 0],
    ["   ", /empty path/],
    ["{}", /empty path/],
    ["{range .items[*]}{.name}{end}", /'range' templates are not supported/],
    ["{.a}{.b}", /multiple \{\} blocks/, 4],
    ["{.a} and more", /text outside the braces/],
    ["name: {.a}", /text outside the braces/, 0],
    ["{.a", /unbalanced braces/, 0],
    [".a}", /unbalanced braces/],
    [".a[0", /unbalanced brackets/, 2],
    [".a]", /unbalanced brackets/],
    [".a[(@.length-1)]", /script expressions/, 2],
    [".a[?(@.b)", /expected '\]'/],
    [".a[?(@.b == 1 && @.c == 2)]", /&& and \|\| are not supported/],
    [".a[?(@property == 'x')]", /'@property' is a jsonpath-plus extension/],
    [".a[?(@parent.x)]", /'@parent' is a jsonpath-plus extension/],
    [".a[?(@path)]", /'@path' is a jsonpath-plus extension/],
    [".a^", /parent selector '\^'/, 2],
    [".a~", /property-name selector '~'/],
    [".a.`b", /backtick/],
    ["$..[?(@.constructor)]", /'\.\.' must be followed by a field name/],
    [".a.length", /'\.length' is not a Kubernetes JSONPath accessor/, 2],
    [".a.toString()", /function calls are not supported/],
    [".a[?(@.b === 1)]", /unknown operator '==='/],
    [".a[?(@.b = 1)]", /unknown operator '='/],
    [".a[?(@.b == null)]", /null literals are not supported/],
    [".a[?(@.b == @.c)]", /must be a literal/],
    [".a[?(@.b < true)]", /cannot compare booleans/],
    [".a[?(!@.b)]", /negation/],
    [".a[?(@.b == x)]", /unknown literal 'x'/],
    [".a[::0]", /slice step must be > 0/],
    [".a[::-1]", /slice step must be > 0/],
    [".a[]", /empty brackets/],
    [".a[b]", /keys in brackets must be quoted/],
    [".a['b]", /unterminated quoted key/],
    ["a.b", /did you mean '\.a'/],
    ["@.a", /only valid inside a filter/],
    [".a.", /expected a field name after '\.'/],
    [".a.[0]", /write \[\.\.\.\] directly/],
    [".a .b", /unexpected space/],
    [".a..*", /'\.\.\*' is not supported/],
    [".a...b", /'\.\.\.' is not valid/],
    [".a*", /'\*' must stand alone/],
    [".a[*,0]", /'\*' cannot be combined/],
    [".a == 1", /unexpected space/],
    [".a==1", /comparisons are only valid inside a filter/],
    [".a[?(@.b =~ /x/)]", /unknown operator/],
    [".a[?(@..b)]", /recursive descent/],
    [".a[?(@.b[?(@.c)])]", /nested filters/],
  ];

  const rows = rejected.map(([source, message, position]) => ({ source, message, position }));
  it.each(rows)("rejects $source with a precise message", ({ source, message, position }) => {
    const error = rejection(source);
    expect(error.message).toMatch(message);
    expect(error.message).toContain(JSON.stringify(source));
    if (position !== undefined) expect(error.position).toBe(position);
  });

  it("accepts a quoted key named length", () => {
    expect(compilePath(".a['length']").evaluate({ a: { length: 3 } })).toEqual([3]);
    expect(compilePath(".a['length']").evaluate({ a: [1, 2] })).toEqual([]);
  });
});

describe("printSteps", () => {
  const paths = [
    ".a.b",
    ".metadata.labels['app.kubernetes.io/name']",
    ".a['it\\'s']['back\\\\slash']",
    ".a[0][-1][1:][:2][::3][1:5:2]",
    ".a[0,'x',1:2]",
    ".a.*[*]",
    "..name",
    "..['a.b']",
    ".a[?(@.b == 'x\"y')]",
    ".a[?(@.b[0] >= -2.5)]",
    ".a[?(@.ok != false)]",
    ".a[?(@)]",
    ".a['length']",
    ".ünï.çödé",
    ".a['']",
  ];
  it.each(paths)("round-trips %s", (source) => {
    const steps = parsePath(source).steps;
    const printed = printSteps(steps);
    expect(stepsEqual(parsePath(printed).steps, steps)).toBe(true);
  });
});

describe("relativeToArray", () => {
  it("strips the array prefix and [*]", () => {
    expect(relativeToArray(".status.conditions", ".status.conditions[*].type")).toBe(".type");
    expect(relativeToArray(".spec.sessions", ".spec.sessions[*].scheduler.schedule")).toBe(
      ".scheduler.schedule",
    );
    expect(relativeToArray(".status.conditions", ".status.conditions[*]")).toBe(".");
    expect(relativeToArray(".a", ".a[*][0]['x.y']")).toBe("[0]['x.y']");
  });

  it("compares parsed paths, not spellings", () => {
    expect(relativeToArray("{.status.conditions}", "$.status['conditions'][*].type")).toBe(".type");
    expect(relativeToArray("$.status.conditions", "{.status.conditions[*].status}")).toBe(".status");
  });

  it("returns undefined for other paths", () => {
    expect(relativeToArray(".status.conditions", ".status.phase")).toBeUndefined();
    expect(relativeToArray(".status.conditions", ".status.conditions")).toBeUndefined();
    expect(relativeToArray(".status.conditions", ".status.conditions[0].type")).toBeUndefined();
    expect(relativeToArray(".status.conditions", ".status.conditions.*.type")).toBeUndefined();
    expect(relativeToArray(".status.cond", ".status.conditions[*].type")).toBeUndefined();
    expect(relativeToArray(".status", ".metadata.status[*]")).toBeUndefined();
  });

  it("leaves invalid paths to be reported where they are compiled", () => {
    expect(relativeToArray(".a[", ".a[*].b")).toBeUndefined();
    expect(relativeToArray(".a", ".a[*].b[")).toBeUndefined();
  });
});
