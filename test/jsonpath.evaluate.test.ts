import { describe, expect, it } from "@jest/globals";
import { compilePath, formatResults, JsonPathLimitError } from "../src/jsonpath/index.js";
import { parseValidated } from "../src/jsonpath/index.js";
import { compileFast } from "../src/jsonpath/fast.js";
import { compileReference, planSegments } from "../src/jsonpath/translate.js";

const backupSession = {
  metadata: {
    name: "nightly-1",
    labels: { "app.kubernetes.io/name": "kubestash", "a.b": "dotted-key" },
  },
  spec: { invoker: { kind: "BackupConfiguration", name: "daily" }, session: "s1" },
  status: {
    phase: "Succeeded",
    duration: "32s",
    conditions: [
      { type: "Ready", status: "True", count: 3 },
      { type: "Done", status: "False", count: 1.5 },
      { type: "Other", count: "3" },
    ],
    snapshots: [{ name: "snap-1", appRef: { kind: "StatefulSet" } }, { name: "snap-2" }],
  },
};

function run(path: string, data: unknown = backupSession): unknown[] {
  // Both evaluators must agree on everything these tests look at.
  const ast = parseValidated(path);
  const reference = compileReference(ast)(data);
  const fast = compileFast(ast);
  if (fast !== undefined) expect(fast(data)).toEqual(reference);
  const result = compilePath(path).evaluate(data);
  expect(result).toEqual(reference);
  return result;
}

describe("evaluation", () => {
  it("reads fields, missing fields and the root", () => {
    expect(run(".status.phase")).toEqual(["Succeeded"]);
    expect(run("{.spec.invoker.kind}")).toEqual(["BackupConfiguration"]);
    expect(run(".status.missing")).toEqual([]);
    expect(run(".status.phase.deeper")).toEqual([]);
    expect(run(".")).toEqual([backupSession]);
    expect(run("$")).toEqual([backupSession]);
  });

  it("reads keys with dots both ways", () => {
    expect(run(".metadata.labels.app\\.kubernetes\\.io/name")).toEqual(["kubestash"]);
    expect(run(".metadata.labels['app.kubernetes.io/name']")).toEqual(["kubestash"]);
    expect(run(".metadata.labels['a\\.b']")).toEqual(["dotted-key"]);
  });

  it("iterates lists, indexes from both ends, slices and unions", () => {
    expect(run(".status.conditions[*].type")).toEqual(["Ready", "Done", "Other"]);
    expect(run(".status.conditions[*].status")).toEqual(["True", "False"]);
    expect(run(".status.conditions[-1].type")).toEqual(["Other"]);
    expect(run(".status.conditions[5].type")).toEqual([]);
    expect(run(".status.conditions[-4].type")).toEqual([]);
    expect(run(".status.conditions[0:2].type")).toEqual(["Ready", "Done"]);
    expect(run(".status.conditions[::2].type")).toEqual(["Ready", "Other"]);
    expect(run(".status.conditions[-2:].type")).toEqual(["Done", "Other"]);
    expect(run(".status.conditions[1:1].type")).toEqual([]);
    expect(run(".status.conditions[0:9].type")).toEqual([]); // kubectl: out of bounds
    expect(run(".status.conditions[2,0].type")).toEqual(["Other", "Ready"]);
    expect(run(".status.snapshots[0]['name','appRef']")).toEqual(["snap-1", { kind: "StatefulSet" }]);
    // kubectl runs each union part over the whole list before the next part.
    expect(run(".status.snapshots[*]['name','appRef']")).toEqual([
      "snap-1",
      "snap-2",
      { kind: "StatefulSet" },
    ]);
  });

  it("applies wildcards and [*] like kubectl", () => {
    expect(run(".spec.invoker.*")).toEqual(["BackupConfiguration", "daily"]);
    expect(run(".spec.invoker[*]")).toEqual([]); // [*] is for lists only
    expect(run(".status.snapshots.*.name")).toEqual(["snap-1", "snap-2"]);
    expect(run(".status.phase.*")).toEqual([]);
  });

  it("descends recursively in document order", () => {
    expect(run("..name")).toEqual(["nightly-1", "daily", "snap-1", "snap-2"]);
    expect(run("..kind")).toEqual(["BackupConfiguration", "StatefulSet"]);
    expect(run(".status..['name']")).toEqual(["snap-1", "snap-2"]);
  });

  it("filters type-strictly", () => {
    expect(run(".status.conditions[?(@.type == 'Ready')].status")).toEqual(["True"]);
    expect(run('.status.conditions[?(@.type != "Ready")].type')).toEqual(["Done", "Other"]);
    expect(run(".status.conditions[?(@.count == 3)].type")).toEqual(["Ready"]);
    expect(run(".status.conditions[?(@.count == '3')].type")).toEqual(["Other"]);
    expect(run(".status.conditions[?(@.count != 3)].type")).toEqual(["Done"]);
    expect(run(".status.conditions[?(@.count > 1)].type")).toEqual(["Ready", "Done"]);
    expect(run(".status.conditions[?(@.count <= 1.5)].type")).toEqual(["Done"]);
    expect(run(".status.conditions[?(@.type < 'P')].type")).toEqual(["Done", "Other"]);
    expect(run(".status.conditions[?(@.type >= 'P')].type")).toEqual(["Ready"]);
    expect(run(".status.conditions[?(@.status)].type")).toEqual(["Ready", "Done"]);
    expect(run(".status.snapshots[?(@.appRef.kind)].name")).toEqual(["snap-1"]);
    expect(run(".spec.invoker[?(@.kind)]")).toEqual([]); // maps cannot be filtered
  });

  it("compares booleans and matches null for existence", () => {
    const data = { l: [{ b: true, z: null }, { b: false }, { b: "true" }] };
    expect(run(".l[?(@.b == true)]", data)).toEqual([{ b: true, z: null }]);
    expect(run(".l[?(@.b != true)].b", data)).toEqual([false]);
    expect(run(".l[?(@.z)].b", data)).toEqual([true]);
    expect(run(".l[?(@ == 1)]", { l: [1, "1", 2] })).toEqual([1]);
  });

  it("reads own properties only, never prototype members", () => {
    const data = JSON.parse(
      '{"a":{"__proto__":{"x":1},"constructor":"own","n":[1,2]},"s":"text","e":{}}',
    ) as unknown;
    expect(run(".a.__proto__.x", data)).toEqual([1]);
    expect(run(".a.constructor", data)).toEqual(["own"]);
    for (const path of [
      ".e.constructor",
      ".e.__proto__",
      ".e.toString",
      ".e.hasOwnProperty",
      ".a.n['length']",
      ".a.n['0']",
      ".s['length']",
      ".s[0]",
      ".s['0']",
      ".a.n.constructor",
      ".e..constructor",
      "..toString",
      ".a.n[?(@.constructor)]",
      ".a.n[?(@.toFixed)]",
      ".s.*",
    ]) {
      expect([path, run(path, data)]).toEqual([path, []]);
    }
  });

  it("never throws for any input data, except JsonPathLimitError past the caps", () => {
    let deep: unknown = { leaf: 1 };
    for (let i = 0; i < 20000; i++) deep = { d: deep, l: [i] };
    const inputs: unknown[] = [
      null,
      undefined,
      0,
      "",
      false,
      "string",
      42,
      [],
      {},
      [null, [null]],
      deep,
      JSON.parse('{"__proto__":null,"constructor":{"prototype":1}}'),
      Object.create(null),
    ];
    const paths = [
      ".",
      ".a",
      ".a.b[0]",
      "[*]",
      ".*",
      "..leaf",
      "..d",
      "[0:2]",
      "[?(@.a)]",
      "[?(@ == 1)]",
      ".constructor.prototype",
      "['__proto__']",
      "[0,'a']",
    ];
    const limited: string[] = [];
    for (const path of paths) {
      const compiled = compilePath(path);
      for (const input of inputs) {
        try {
          compiled.evaluate(input);
        } catch (err) {
          expect(err).toBeInstanceOf(JsonPathLimitError);
          limited.push(path);
        }
      }
    }
    // Only `..d` over the 20,000-level chain yields more than PATH_LIMITS.maxResults values.
    expect(limited).toEqual(["..d"]);
    expect(compilePath("..leaf").evaluate(deep)).toEqual([1]);
  });

  it("formats results for labels", () => {
    expect(formatResults(run(".status.conditions[*].type"))).toBe("Ready Done Other");
    expect(formatResults(run(".status.snapshots[0].appRef"))).toBe('{"kind":"StatefulSet"}');
    expect(formatResults(run(".status.missing"))).toBeUndefined();
  });
});

describe("translation to jsonpath-plus", () => {
  it("starts a fresh jsonpath-plus call at every selector and keeps odd keys native", () => {
    const plan = (p: string) =>
      planSegments(parseValidated(p)).map((s) => (s.kind === "plus" ? s.path : `native:${s.step.kind}`));
    expect(plan(".status.conditions[*].type")).toEqual(["$['status']['conditions']", "$[:]['type']"]);
    expect(plan(".a[-1].b[2]")).toEqual(["$['a']", "$[-1:]['b']", "$[2:3]"]);
    expect(plan(".a[0,-2].*")).toEqual(["$['a']", "native:union", "$[*]"]);
    expect(plan(".metadata.labels['app.kubernetes.io/name']")).toEqual([
      "$['metadata']['labels']['app.kubernetes.io/name']",
    ]);
    expect(plan("..name.x")).toEqual(["$..['name']['x']"]);
    expect(plan(".a['it\\'s'].b")).toEqual(["$['a']", "native:field", "$['b']"]);
    expect(plan(".a[1:3][?(@.x)]['0']")).toEqual(["$['a']", "native:slice", "native:filter", "native:field"]);
  });

  it("is not fooled by keys that look like jsonpath-plus selectors", () => {
    const data = JSON.parse('{"a":{"*":1,":":2,"0:1":3,"b":4},"l":[{"*":5}]}') as unknown;
    expect(run(".a.*", data)).toEqual([1, 2, 3, 4]);
    expect(run(".a[*]", data)).toEqual([]);
    expect(run(".a[0]", data)).toEqual([]);
    expect(run(".a['*']", data)).toEqual([1]);
    expect(run(".a[':']", data)).toEqual([2]);
    expect(run(".l[*]['*']", data)).toEqual([5]);
  });
});
