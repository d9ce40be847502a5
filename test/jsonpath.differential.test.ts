/**
 * The fast accessors against the jsonpath-plus translation, and the translation against our
 * native step evaluator, over generated paths and documents (seeded, so failures reproduce).
 */
import { describe, expect, it } from "@jest/globals";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { isDeepStrictEqual } from "node:util";
import { parse as parseYaml } from "yaml";
import type { Comparison, Literal, PathAst, Step, UnionPart } from "../src/jsonpath/ast.js";
import { stepsEqual } from "../src/jsonpath/ast.js";
import { compileFast } from "../src/jsonpath/fast.js";
import { parseValidated, relativeToArray } from "../src/jsonpath/index.js";
import { evaluateSteps } from "../src/jsonpath/native.js";
import { printSteps } from "../src/jsonpath/print.js";
import { compileReference } from "../src/jsonpath/translate.js";

function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Ordinary keys, keys jsonpath-plus gives meaning to, and JavaScript prototype member names. */
const KEYS = [
  "a",
  "b",
  "spec",
  "status",
  "name",
  "app.kubernetes.io/name",
  "x-y",
  "a b",
  "ü",
  "__proto__",
  "constructor",
  "toString",
  "hasOwnProperty",
  "length",
  "0",
  "1",
  "-1",
  "*",
  ":",
  "0:1",
  "..",
  "$",
  "@",
  "it's",
  "a]b",
  "a;b",
  "#1",
  "%@%",
  "^",
  "~",
  "`q",
  "?(x)",
  "a,b",
];
const COMMON_KEYS = ["a", "b", "spec", "status", "name", "app.kubernetes.io/name"];

class Gen {
  constructor(readonly next: () => number) {}
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)]!;
  }
  key(): string {
    return this.next() < 0.75 ? this.pick(COMMON_KEYS) : this.pick(KEYS);
  }
  literal(): Literal {
    const r = this.int(3);
    if (r === 0) return this.pick([0, 1, 2, -1, 1.5, 3]);
    if (r === 1) return this.pick(["a", "b", "x", "", "1", "Ready"]);
    return this.next() < 0.5;
  }
  value(depth: number): unknown {
    const r = this.int(depth <= 0 ? 4 : 7);
    switch (r) {
      case 0:
        return this.pick([null, true, false]);
      case 1:
        return this.pick([0, 1, 2, -1, 1.5, 3, 1e21]);
      case 2:
        return this.pick(["a", "b", "x", "", "1", "Ready", "text"]);
      case 3:
        return this.pick([[], {}, "abc"]);
      case 4:
      case 5:
        return this.map(depth);
      default:
        return Array.from({ length: this.int(4) }, () => this.value(depth - 1));
    }
  }
  map(depth: number): Record<string, unknown> {
    // defineProperty, like JSON.parse, so "__proto__" becomes an own key.
    const map: Record<string, unknown> = {};
    const n = 1 + this.int(4);
    for (let i = 0; i < n; i++) {
      Object.defineProperty(map, this.key(), {
        value: this.value(depth - 1),
        enumerable: true,
        writable: true,
        configurable: true,
      });
    }
    return map;
  }
  index(): number {
    return this.pick([0, 1, 2, -1, -2, 5, -5]);
  }
  fastStep(): Step {
    const r = this.int(10);
    if (r < 6) return { kind: "field", name: this.key(), bare: false, pos: 0 };
    if (r < 8) return { kind: "each", pos: 0 };
    return { kind: "index", index: this.index(), pos: 0 };
  }
  unionPart(): UnionPart {
    const r = this.int(3);
    if (r === 0) return { kind: "field", name: this.key(), bare: false, pos: 0 };
    if (r === 1) return { kind: "index", index: this.index(), pos: 0 };
    return this.slice();
  }
  slice(): Extract<Step, { kind: "slice" }> {
    const maybe = (n: number | undefined) => (this.next() < 0.3 ? undefined : n);
    return {
      kind: "slice",
      start: maybe(this.index()),
      end: maybe(this.index()),
      step: this.next() < 0.7 ? undefined : 1 + this.int(3),
      pos: 0,
    };
  }
  /**
   * Steps that mostly follow the shape of a real document (so results are rarely empty), with
   * random detours; `any` adds the step kinds the fast path does not cover.
   */
  guidedPath(doc: unknown, any: boolean): Step[] {
    const steps: Step[] = [];
    let current = doc;
    const n = 1 + this.int(4);
    for (let i = 0; i < n; i++) {
      if (this.next() < 0.1) {
        steps.push(any ? this.anyStep() : this.fastStep());
        current = undefined;
        continue;
      }
      if (Array.isArray(current) && current.length > 0) {
        const at = this.int(current.length);
        if (this.next() < 0.5) {
          steps.push({ kind: "each", pos: 0 });
        } else {
          steps.push({ kind: "index", index: this.next() < 0.5 ? at : at - current.length, pos: 0 });
        }
        current = current[at];
      } else if (typeof current === "object" && current !== null) {
        const keys = Object.keys(current);
        const key = keys.length > 0 ? this.pick(keys) : this.key();
        steps.push({ kind: "field", name: key, bare: false, pos: 0 });
        current = (current as Record<string, unknown>)[key];
      } else {
        steps.push(any ? this.anyStep() : this.fastStep());
      }
    }
    return steps;
  }
  anyStep(inFilter = false): Step {
    const r = this.int(inFilter ? 8 : 12);
    if (r < 8) return this.fastStep();
    if (r === 8) return { kind: "wildcard", pos: 0 };
    if (r === 9) return this.slice();
    if (r === 10) {
      const n = 2 + this.int(2);
      return { kind: "union", parts: Array.from({ length: n }, () => this.unionPart()), pos: 0 };
    }
    if (this.next() < 0.5) return { kind: "descendant", name: this.key(), bare: false, pos: 0 };
    const path = Array.from({ length: this.int(3) }, () => this.anyStep(true));
    let test: Comparison | undefined;
    if (this.next() < 0.7) {
      const value = this.literal();
      const ops = typeof value === "boolean" ? ["==", "!="] : ["==", "!=", "<", ">", "<=", ">="];
      test = { op: this.pick(ops) as Comparison["op"], value };
    }
    return { kind: "filter", path, test, pos: 0 };
  }
}

const objects = (() => {
  const g = new Gen(rng(7));
  const docs: unknown[] = Array.from({ length: 90 }, () => g.map(4));
  // A few documents that are not maps at all.
  docs.push(null, 0, "abc", [], [1, [2]], true);
  return docs;
})();

/** Generated trees also go through print and parse, so the parser sees every key too. */
function roundTrip(steps: Step[]): PathAst {
  const ast = parseValidated(printSteps(steps));
  expect(stepsEqual(ast.steps, steps)).toBe(true);
  return ast;
}

describe("differential: fast accessors vs jsonpath-plus translation", () => {
  it("agree on generated field/index/[*] paths and documents", () => {
    const g = new Gen(rng(42));
    let compared = 0;
    let pathsWithResults = 0;
    for (let p = 0; p < 400; p++) {
      const steps =
        p % 3 === 0
          ? Array.from({ length: 1 + g.int(4) }, () => g.fastStep())
          : g.guidedPath(g.pick(objects), false);
      const ast = roundTrip(steps);
      const fast = compileFast(ast);
      expect(fast).toBeDefined();
      const reference = compileReference(ast);
      let found = false;
      for (const obj of objects) {
        const expected = reference(obj);
        const actual = fast!(obj);
        // jest's toEqual is slow; only use it for the report when the cheap check fails.
        if (!isDeepStrictEqual(actual, expected)) {
          expect([printSteps(steps), actual]).toEqual([printSteps(steps), expected]);
        }
        compared++;
        found ||= expected.length > 0;
      }
      if (found) pathsWithResults++;
    }
    expect(compared).toBe(400 * objects.length);
    // The generator must actually reach data, or the comparison proves little.
    expect(pathsWithResults).toBeGreaterThan(140);
  });

  it("agree on hand-written paths over a realistic object", () => {
    const obj = JSON.parse(
      readFileSync(new URL("./fixtures/jsonpath/cases.json", import.meta.url), "utf8"),
    ).objects;
    const paths = [
      ".",
      ".metadata.name",
      ".metadata.labels['app.kubernetes.io/name']",
      ".status.conditions[*].type",
      ".status.conditions[0].status",
      ".status.conditions[-1].status",
      ".spec.list[*].n",
      ".spec.list[*]",
      ".spec.nested[*][*]",
      ".spec.nested[1][-1]",
    ];
    for (const doc of Object.values(obj as Record<string, unknown>)) {
      for (const path of paths) {
        const ast = parseValidated(path);
        expect(compileFast(ast)!(doc)).toEqual(compileReference(ast)(doc));
      }
    }
  });
});

describe("differential: jsonpath-plus translation vs native evaluation", () => {
  it("agree on generated paths with every step kind", () => {
    const g = new Gen(rng(1234));
    for (let p = 0; p < 400; p++) {
      const steps =
        p % 2 === 0
          ? Array.from({ length: 1 + g.int(4) }, () => g.anyStep())
          : g.guidedPath(g.pick(objects), true);
      const ast = roundTrip(steps);
      const reference = compileReference(ast);
      for (const obj of objects) {
        const actual = reference(obj);
        const expected = evaluateSteps(ast.steps, obj);
        if (!isDeepStrictEqual(actual, expected)) {
          expect([printSteps(steps), actual]).toEqual([printSteps(steps), expected]);
        }
      }
    }
  });
});

describe("fast path coverage of the shipped configurations", () => {
  const root = new URL("../../shared/reference/upstream/", import.meta.url).pathname;
  const dirs = ["kubestash", "stash"].map((d) => join(root, d)).filter((d) => existsSync(d));
  const testIf = dirs.length > 0 ? it : it.skip;

  function collect(node: unknown, out: Set<string>, arrayPaths: Set<string>): void {
    if (Array.isArray(node)) {
      for (const n of node) collect(n, out, arrayPaths);
    } else if (typeof node === "object" && node !== null) {
      const map = node as Record<string, unknown>;
      for (const [k, v] of Object.entries(map)) {
        if ((k === "path" || k === "valuePath" || k === "valueFromPath") && typeof v === "string") {
          out.add(v);
          if (map.type === "Array") arrayPaths.add(v);
        } else {
          collect(v, out, arrayPaths);
        }
      }
    }
  }

  testIf("compiles every upstream path, and every row-relative remainder, to an accessor", () => {
    const paths = new Set<string>();
    const arrayPaths = new Set<string>();
    for (const dir of dirs) {
      for (const file of readdirSync(dir).filter((f) => f.endsWith(".yaml"))) {
        for (const doc of readFileSync(join(dir, file), "utf8").split(/^---$/m)) {
          collect(parseYaml(doc), paths, arrayPaths);
        }
      }
    }
    expect(paths.size).toBeGreaterThan(40);
    expect(arrayPaths.size).toBeGreaterThan(3);
    const all = [...paths];
    for (const arrayPath of arrayPaths) {
      for (const p of paths) {
        const rest = relativeToArray(arrayPath, p);
        if (rest !== undefined) all.push(rest);
      }
    }
    const slow = all.filter((p) => compileFast(parseValidated(p)) === undefined);
    expect(slow).toEqual([]);
  });
});
