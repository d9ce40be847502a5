// Every valueFromExpression that KubeStash and Stash ship must compile against its metric's
// params and evaluate right, both on representative values and on the upstream sample objects.
import { describe, expect, it } from "@jest/globals";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { parseAllDocuments } from "yaml";
import { ABSENT, compileExpression } from "../src/expression/index.js";

const UPSTREAM = new URL("../../shared/reference/upstream/", import.meta.url).pathname;
const present = existsSync(UPSTREAM);

interface Use {
  readonly file: string;
  readonly metric: string;
  readonly expression: string;
  readonly params: ReadonlyMap<string, string | undefined>; // key → valuePath
  readonly kind: string;
}

type Json = Record<string, unknown>;
const asObject = (v: unknown): Json => (typeof v === "object" && v !== null ? (v as Json) : {});
const asList = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);

function collect(dir: string): Use[] {
  const uses: Use[] = [];
  for (const name of readdirSync(join(UPSTREAM, dir)).filter((f) => f.endsWith(".yaml"))) {
    for (const doc of parseAllDocuments(readFileSync(join(UPSTREAM, dir, name), "utf8"))) {
      const spec = asObject(asObject(doc.toJS()).spec);
      const kind = String(asObject(spec.targetRef).kind);
      for (const m of asList(spec.metrics).map(asObject)) {
        const params = new Map<string, string | undefined>(
          asList(m.params)
            .map(asObject)
            .map((p) => [String(p.key), typeof p.valuePath === "string" ? p.valuePath : undefined]),
        );
        const values = [
          asObject(m.metricValue),
          ...asList(asObject(m.states).values).map((v) => asObject(asObject(v).metricValue)),
        ];
        for (const v of values) {
          if (typeof v.valueFromExpression === "string") {
            uses.push({
              file: `${dir}/${name}`,
              metric: String(m.name),
              expression: v.valueFromExpression,
              params,
              kind,
            });
          }
        }
      }
    }
  }
  return uses;
}

/** Just enough of JSONPath for the upstream params: .a.b and .list[*].field (first element). */
function resolve(obj: unknown, path: string): unknown {
  let cur: unknown = obj;
  for (const part of path.split(".").filter((p) => p !== "")) {
    const star = part.endsWith("[*]");
    cur = asObject(cur)[star ? part.slice(0, -3) : part];
    if (star) cur = asList(cur)[0];
    if (cur === undefined) return ABSENT;
  }
  // Scalars are bound as strings, like the engine does (SPEC §3.4).
  return typeof cur === "number" || typeof cur === "boolean" ? String(cur) : cur;
}

(present ? describe : describe.skip)("upstream KubeStash and Stash expressions", () => {
  const uses = present ? [...collect("kubestash"), ...collect("stash")] : [];

  it("finds the expressions the catalogue relies on", () => {
    const shapes = new Set(uses.map((u) => u.expression.replace(/'[^']*'/, "'…'")));
    expect([...shapes].sort()).toEqual(["bytes(size)", "int(phase == '…')", "toSecond(duration)"]);
    expect(uses.length).toBeGreaterThanOrEqual(25);
  });

  it("compiles every expression against its metric's params", () => {
    for (const u of uses) {
      const compiled = compileExpression(u.expression, { knownParams: new Set(u.params.keys()) });
      expect([...compiled.params].every((p) => u.params.has(p))).toBe(true);
    }
  });

  it("evaluates every expression right on representative values", () => {
    for (const u of uses) {
      const c = compileExpression(u.expression, { knownParams: new Set(u.params.keys()) });
      const state = /^int\(phase == '([^']+)'\)$/.exec(u.expression);
      if (state !== null) {
        const value = state[1]!;
        expect(c.evaluate(new Map([["phase", value]]))).toBe(1);
        expect(c.evaluate(new Map([["phase", `${value}x`]]))).toBe(0);
        expect(c.evaluate(new Map([["phase", ABSENT]]))).toBe(0);
      } else if (u.expression === "toSecond(duration)") {
        expect(c.evaluate(new Map([["duration", "32s"]]))).toBe(32);
        expect(c.evaluate(new Map([["duration", "10.089085545s"]]))).toBe(10.089085545);
        expect(c.evaluate(new Map([["duration", "1m30.5s"]]))).toBe(90.5);
        expect(() => c.evaluate(new Map([["duration", ABSENT]]))).toThrow('parameter "duration"');
      } else {
        expect(u.expression).toBe("bytes(size)");
        for (const [text, bytes] of [
          ["12.222 MiB", 12815695],
          ["806 B", 806],
          ["7.003 KiB", 7171],
          ["1.500 GiB", 1610612736],
        ] as const) {
          expect(c.evaluate(new Map([["size", text]]))).toBe(bytes);
        }
        expect(() => c.evaluate(new Map([["size", ABSENT]]))).toThrow('parameter "size"');
      }
    }
  });

  it("evaluates on the upstream sample objects", () => {
    const samples = new Map<string, unknown>();
    for (const name of readdirSync(join(UPSTREAM, "kubestash-samples"))) {
      for (const doc of parseAllDocuments(readFileSync(join(UPSTREAM, "kubestash-samples", name), "utf8"))) {
        const obj = asObject(doc.toJS());
        samples.set(String(obj.kind), obj);
      }
    }
    const results: string[] = [];
    for (const u of uses.filter((x) => x.file.startsWith("kubestash/"))) {
      const obj = samples.get(u.kind);
      if (obj === undefined) continue;
      const bindings = new Map<string, unknown>(
        [...u.params].map(([k, path]) => [k, path === undefined ? ABSENT : resolve(obj, path)]),
      );
      const c = compileExpression(u.expression, { knownParams: new Set(u.params.keys()) });
      let value: string;
      try {
        value = String(c.evaluate(bindings));
      } catch (e) {
        value = `error: ${(e as Error).message}`; // e.g. a sample without .status.duration
      }
      results.push(`${u.kind} ${u.metric} ${u.expression} = ${value}`);
    }
    expect(results).toEqual(
      expect.arrayContaining([
        "BackupStorage repository_size_bytes bytes(size) = 12815695",
        "BackupStorage size_bytes bytes(size) = 12815695",
        "Repository size_bytes bytes(size) = 12815695",
        "RestoreSession duration_seconds toSecond(duration) = 25",
        "BackupSession phase int(phase == 'Succeeded') = 1",
        "BackupSession phase int(phase == 'Failed') = 0",
        "BackupConfiguration phase int(phase == 'Ready') = 1",
        'BackupSession duration_seconds toSecond(duration) = error: toSecond(): argument 1 (parameter "duration") has no value at 10',
      ]),
    );
  });
});
