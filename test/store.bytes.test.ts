import { gunzipSync } from "node:zlib";
import { describe, expect, it } from "@jest/globals";
import fc from "fast-check";
import { MetricStore } from "../src/store/store.js";

/**
 * The store compares a new fragment with the old one as UTF-8 bytes and keeps changed fragments
 * as bytes until the block is frozen again. Whatever the characters (multi-byte, astral, lone
 * surrogates, texts whose UTF-8 bytes read as latin1 spell another text), every way of reading
 * the store must give the UTF-8 bytes of the latest fragments, and the series counts their lines.
 */

const FAMILIES = [
  { name: "a_family", help: "A" },
  { name: "b_family", help: "B" },
];
const NAMES = ["a_family", "b_family"];

// "Ã©" is "é" encoded as UTF-8 and read as latin1: the two must never be taken for each other.
const PIECES = ["x", "é", "Ã©", "\u00ff", "✓", "😀", "\ud800", "\n", 'v="1"} 1\n'];

const text: fc.Arbitrary<string> = fc
  .array(fc.constantFrom(...PIECES), { maxLength: 6 })
  .map((ps) => `a{k="${ps.join("")}"} 1\n`);

type Op =
  | { kind: "put"; obj: number; a: string | undefined; b: string | undefined }
  | { kind: "delete"; obj: number }
  | { kind: "compact" }
  | { kind: "cool" };

const op: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 8,
    arbitrary: fc.record({
      kind: fc.constant("put" as const),
      obj: fc.nat(40),
      a: fc.option(text, { nil: undefined }),
      b: fc.option(text, { nil: undefined }),
    }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("delete" as const), obj: fc.nat(40) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant("compact" as const) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("cool" as const) }) },
);

const ref = (obj: number): { namespace: string; name: string } => ({
  namespace: "ns",
  name: `o${String(obj).padStart(3, "0")}`,
});

const lines = (s: string): number => s.split("\n").length - 1;

/** The expected exposition, as UTF-8 bytes, from a model of the latest fragments. */
function expected(model: Map<number, (string | undefined)[]>): Buffer {
  let out = "";
  FAMILIES.forEach((f, slot) => {
    const objs = [...model.keys()].sort((x, y) => x - y).filter((o) => model.get(o)![slot] !== undefined);
    if (objs.length === 0) return;
    out += `# HELP ${f.name} ${f.help}\n# TYPE ${f.name} gauge\n`;
    for (const o of objs) out += model.get(o)![slot]!;
  });
  return Buffer.from(out);
}

describe("a store comparing fragments as bytes", () => {
  it("serves the UTF-8 bytes of the latest fragments, whatever the characters", () => {
    fc.assert(
      fc.property(fc.array(op, { maxLength: 60 }), (ops) => {
        const stores = [new MetricStore(), new MetricStore({ compress: true })];
        for (const s of stores) s.setFamilies(FAMILIES);
        const model = new Map<number, (string | undefined)[]>();
        for (const o of ops) {
          if (o.kind === "put") {
            if (o.a === undefined && o.b === undefined) model.delete(o.obj);
            else model.set(o.obj, [o.a, o.b]);
          } else if (o.kind === "delete") model.delete(o.obj);
          for (const s of stores) {
            if (o.kind === "put") s.upsert("r", ref(o.obj), NAMES, [o.a, o.b]);
            else if (o.kind === "delete") s.delete("r", ref(o.obj));
            else s.compact(Infinity, o.kind === "cool");
          }
          const want = expected(model);
          for (const s of stores) {
            // Thawed blocks read part by part, then frozen and served as Buffers and as gzip.
            expect(Buffer.from(s.render("text"))).toEqual(want);
            NAMES.forEach((name, slot) => {
              let n = 0;
              for (const f of model.values()) n += lines(f[slot] ?? "");
              expect(s.seriesCount(name)).toBe(n);
            });
          }
        }
        for (const s of stores) {
          const want = expected(model);
          expect(Buffer.concat([...s.chunks("text")])).toEqual(want);
          expect(gunzipSync(Buffer.concat([...s.chunks("text", true)]))).toEqual(want);
        }
      }),
      { numRuns: 150 },
    );
  });

  it("leaves a frozen block alone when a multi-byte fragment renders the same, and sees a look-alike change", () => {
    for (const compress of [false, true]) {
      const s = new MetricStore({ compress });
      s.setFamilies(FAMILIES);
      s.upsert("r", ref(1), NAMES, ['a{k="é✓😀"} 1\n', undefined]);
      s.compact(Infinity, true);
      s.upsert("r", ref(1), NAMES, ['a{k="é✓😀"} 1\n', undefined]);
      expect(s.stats().thawed).toBe(0);
      // Same length in UTF-16 units, other bytes; and the latin1 reading of the old bytes.
      s.upsert("r", ref(1), NAMES, ['a{k="e✓😀"} 1\n', undefined]);
      expect(s.stats().thawed).toBe(1);
      s.compact(Infinity, true);
      s.upsert("r", ref(1), NAMES, [Buffer.from('a{k="e✓😀"} 1\n').toString("latin1"), undefined]);
      expect(s.render("text")).toContain(Buffer.from('a{k="e✓😀"} 1\n').toString("latin1"));
      // A thawed part compared with a new fragment, equal and not.
      s.upsert("r", ref(1), NAMES, ['a{k="é"} 1\n', undefined]);
      s.upsert("r", ref(1), NAMES, ['a{k="é"} 1\n', undefined]);
      s.upsert("r", ref(1), NAMES, ['a{k="Ã©"} 1\n', undefined]);
      expect(Buffer.concat([...s.chunks("text")]).toString()).toBe(
        '# HELP a_family A\n# TYPE a_family gauge\na{k="Ã©"} 1\n',
      );
      expect(s.seriesCount("a_family")).toBe(1);
    }
  });

  it("handles a fragment too large for the scratch space", () => {
    const s = new MetricStore();
    s.setFamilies(FAMILIES);
    const big = (v: number): string => `a{k="${"é✓".repeat(50_000)}"} ${v}\n`.repeat(2);
    s.upsert("r", ref(1), NAMES, [big(1), 'b{k="x"} 1\n']);
    s.compact();
    s.upsert("r", ref(1), NAMES, [big(1), 'b{k="x"} 1\n']);
    expect(s.stats().thawed).toBe(0);
    s.upsert("r", ref(1), NAMES, [big(2), 'b{k="x"} 1\n']);
    expect(s.stats().thawed).toBe(1);
    expect(s.seriesCount("a_family")).toBe(2);
    const want = Buffer.from(
      `# HELP a_family A\n# TYPE a_family gauge\n${big(2)}# HELP b_family B\n# TYPE b_family gauge\nb{k="x"} 1\n`,
    );
    // (Buffer.equals: a byte-by-byte toEqual of 600 KB is slow.)
    expect(Buffer.concat([...s.chunks("text")]).equals(want)).toBe(true);
  });
});
