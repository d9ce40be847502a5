import { describe, expect, it } from "@jest/globals";
import fc from "fast-check";
import { MetricStore } from "../src/store/store.js";

/**
 * An update first tries the block and index where the object's previous update put each of its
 * fragments. That place goes stale in every way a store changes: objects inserted or removed
 * before it, its block split in two, its family dropped and declared again (new blocks, while the
 * old ones still hold the key), the object's families given in another order or left out.
 * Whatever happened, each object must end up in exactly one place per family, in order.
 */

const ALL = [
  { name: "a_family", help: "A" },
  { name: "b_family", help: "B" },
];

type Op =
  | { kind: "put"; obj: number; value: number; swap: boolean; onlyA: boolean; unnamed: boolean }
  | { kind: "bulk"; from: number; count: number; value: number }
  | { kind: "delete"; obj: number }
  | { kind: "compact" }
  | { kind: "drop-b" }
  | { kind: "declare-b" };

const OBJECTS = 3000;

// Mostly a few objects, so that the same ones are updated again after the store changed.
const obj = fc.oneof(fc.nat(15), fc.nat(OBJECTS - 1));

const op: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 8,
    arbitrary: fc.record({
      kind: fc.constant("put" as const),
      obj,
      value: fc.nat(9),
      swap: fc.boolean(),
      onlyA: fc.boolean(),
      unnamed: fc.boolean(),
    }),
  },
  {
    // Enough objects at once to split blocks (512 keys at most).
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant("bulk" as const),
      from: fc.nat(OBJECTS - 1),
      count: fc.integer({ min: 100, max: 1200 }),
      value: fc.nat(9),
    }),
  },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant("delete" as const), obj }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant("compact" as const) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant("drop-b" as const) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant("declare-b" as const) }) },
);

const ref = (obj: number): { namespace: string; name: string } => ({
  namespace: `ns${obj % 4}`,
  name: `o${String(obj).padStart(5, "0")}`,
});
const key = (obj: number): string => `ns${obj % 4}\u0000o${String(obj).padStart(5, "0")}`;

function line(family: string, obj: number, value: number): string {
  const r = ref(obj);
  return `${family}{namespace="${r.namespace}",name="${r.name}"} ${value}\n`;
}

interface Model {
  declared: Set<string>;
  /** obj → family → fragment. */
  objects: Map<number, Map<string, string>>;
}

function put(
  store: MetricStore,
  model: Model,
  obj: number,
  value: number,
  swap: boolean,
  onlyA: boolean,
  /** With onlyA: b_family left out of the list of families instead of given no fragment. */
  unnamed = false,
): void {
  const a = line("a_family", obj, value);
  const b = onlyA ? undefined : line("b_family", obj, value);
  const families =
    onlyA && unnamed ? ["a_family"] : swap ? ["b_family", "a_family"] : ["a_family", "b_family"];
  const fragments = onlyA && unnamed ? [a] : swap ? [b, a] : [a, b];
  store.upsert("r", ref(obj), families, fragments);
  const held = new Map<string, string>();
  if (model.declared.has("a_family")) held.set("a_family", a);
  if (b !== undefined && model.declared.has("b_family")) held.set("b_family", b);
  model.objects.set(obj, held);
}

function expected(model: Model): string {
  let out = "";
  for (const f of ALL) {
    if (!model.declared.has(f.name)) continue;
    const objs = [...model.objects.keys()]
      .filter((o) => model.objects.get(o)!.has(f.name))
      .sort((x, y) => (key(x) < key(y) ? -1 : key(x) > key(y) ? 1 : 0));
    if (objs.length === 0) continue;
    out += `# HELP ${f.name} ${f.help}\n# TYPE ${f.name} gauge\n`;
    for (const o of objs) out += model.objects.get(o)!.get(f.name)!;
  }
  return out;
}

describe("a store finding objects where their last update put them", () => {
  it("serves each object once per family, in order, however its place went stale", () => {
    fc.assert(
      fc.property(fc.array(op, { minLength: 1, maxLength: 40 }), (ops) => {
        const store = new MetricStore();
        store.setFamilies(ALL);
        const model: Model = { declared: new Set(ALL.map((f) => f.name)), objects: new Map() };
        for (const o of ops) {
          switch (o.kind) {
            case "put":
              put(store, model, o.obj, o.value, o.swap, o.onlyA, o.unnamed);
              break;
            case "bulk":
              for (let i = 0; i < o.count; i++) {
                put(store, model, (o.from + i) % OBJECTS, o.value, false, false);
              }
              break;
            case "delete":
              store.delete("r", ref(o.obj));
              model.objects.delete(o.obj);
              break;
            case "compact":
              store.compact(Infinity);
              break;
            case "drop-b":
              store.setFamilies([ALL[0]!]);
              model.declared.delete("b_family");
              for (const held of model.objects.values()) held.delete("b_family");
              break;
            case "declare-b":
              store.setFamilies(ALL);
              model.declared.add("b_family");
              break;
          }
          expect(store.render("text")).toBe(expected(model));
          expect(store.seriesCount("a_family")).toBe(
            [...model.objects.values()].filter((h) => h.has("a_family")).length,
          );
        }
      }),
      {
        numRuns: 60,
        examples: [
          // An update after the family was dropped and declared again: the old blocks still
          // hold the key.
          [
            [
              { kind: "put", obj: 1, value: 1, swap: false, onlyA: false, unnamed: false },
              { kind: "drop-b" },
              { kind: "declare-b" },
              { kind: "put", obj: 1, value: 2, swap: false, onlyA: false, unnamed: false },
            ],
          ],
        ],
      },
    );
  });
});

describe("hints after the initial list", () => {
  it("stay valid through the splits a list in key order causes, so no update searches the family", () => {
    const store = new MetricStore();
    store.setFamilies(ALL);
    const model: Model = { declared: new Set(ALL.map((f) => f.name)), objects: new Map() };
    // A list arrives in key order (namespace, then name); background freezing splits the blocks
    // as they grow.
    const listed = Array.from({ length: 5000 }, (_, o) => o).sort((x, y) => (key(x) < key(y) ? -1 : 1));
    listed.forEach((o, n) => {
      put(store, model, o, 0, false, false);
      if (n % 700 === 699) store.compact(Infinity);
    });
    store.compact(Infinity);
    expect(store.stats().blocks).toBeGreaterThan(2 * Math.ceil(listed.length / 512));
    for (const o of listed) put(store, model, o, 1, false, false);
    expect(store.stats().hintMisses).toBe(0);
    expect(store.render("text")).toBe(expected(model));
  });
});
