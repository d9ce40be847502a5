import { Writable } from "node:stream";
import { gunzipSync } from "node:zlib";
import { describe, expect, it } from "@jest/globals";
import fc from "fast-check";
import { streamChunks } from "../src/http/scrape.js";
import { MetricStore } from "../src/store/store.js";

/**
 * Cold blocks (only their compressed piece kept) and warm ones (bytes kept) must serve exactly
 * the bytes a plain store serves, through any sequence of updates, deletes, relists, compactions
 * and cooling: text, OpenMetrics and gzip, walked synchronously or streamed (inflating on the
 * thread pool).
 */

const FAMILIES = [
  { name: "a_family", help: "A" },
  { name: "b_family", help: "B ünï" },
  { name: "c_family", help: "C" },
];
const NAMES = ["a_family", "b_family", "c_family"];

type Op =
  | { kind: "put"; obj: number; value: number; mask: number; bulk: number }
  | { kind: "delete"; obj: number }
  | { kind: "relist"; keep: number }
  | { kind: "compact" }
  | { kind: "cool" };

const op: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.record({
      kind: fc.constant("put" as const),
      obj: fc.nat(1999),
      value: fc.nat(3),
      mask: fc.integer({ min: 0, max: 7 }),
      bulk: fc.nat(400),
    }),
  },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant("delete" as const), obj: fc.nat(1999) }) },
  {
    weight: 1,
    arbitrary: fc.record({ kind: fc.constant("relist" as const), keep: fc.integer({ min: 2, max: 5 }) }),
  },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant("compact" as const) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant("cool" as const) }) },
);

function ref(obj: number): { namespace: string; name: string } {
  return { namespace: `ns${obj % 3}`, name: `obj-${String(obj).padStart(4, "0")}` };
}

/** Fragments of an object: a few lines per family, some with multi-byte characters. */
function fragments(obj: number, value: number, mask: number): (string | undefined)[] {
  const r = ref(obj);
  return NAMES.map((family, f) =>
    (mask & (1 << f)) === 0
      ? undefined
      : Array.from(
          { length: 1 + ((obj + f) % 3) },
          (_, k) =>
            `${family}{namespace="${r.namespace}",name="${r.name}",k="${k}${obj % 7 === 0 ? "é✓" : ""}"} ${value}\n`,
        ).join(""),
  );
}

function apply(stores: MetricStore[], o: Op): void {
  for (const s of stores) {
    switch (o.kind) {
      case "put":
        // A run of consecutive objects, so blocks fill up and split.
        for (let i = o.obj; i < Math.min(2000, o.obj + o.bulk + 1); i++) {
          s.upsert("r", ref(i), NAMES, fragments(i, o.value, (o.mask + i) % 8));
        }
        break;
      case "delete":
        s.delete("r", ref(o.obj));
        break;
      case "relist":
        s.beginRelist("r");
        for (let i = 0; i < 2000; i += o.keep) s.upsert("r", ref(i), NAMES, fragments(i, 1, 7));
        s.endRelist("r");
        break;
      case "compact":
        s.compact();
        break;
      case "cool":
        s.compact(Infinity, true);
        break;
    }
  }
}

class Sink extends Writable {
  readonly parts: Buffer[] = [];
  override _write(chunk: Buffer, _enc: BufferEncoding, cb: () => void): void {
    this.parts.push(chunk);
    cb();
  }
}

async function streamed(store: MetricStore, format: "text" | "openmetrics"): Promise<string> {
  const sink = new Sink();
  await streamChunks(store.textPieces(format), sink);
  return Buffer.concat(sink.parts).toString("utf8");
}

describe("a store with cold blocks", () => {
  it("serves what a store that never compresses serves, through random changes and cooling", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(op, { minLength: 1, maxLength: 25 }), async (ops) => {
        const plain = new MetricStore();
        const cold = new MetricStore({ compress: true, coolAfterMs: 0 });
        for (const s of [plain, cold]) s.setFamilies(FAMILIES);
        for (const o of ops) {
          apply([plain, cold], o);
          for (const format of ["text", "openmetrics"] as const) {
            const expected = plain.render(format);
            expect(cold.render(format)).toBe(expected);
            expect(Buffer.concat([...cold.chunks(format)]).toString("utf8")).toBe(expected);
            expect(gunzipSync(Buffer.concat([...cold.chunks(format, true)])).toString("utf8")).toBe(expected);
          }
          expect(await streamed(cold, "text")).toBe(plain.render("text"));
          for (const f of NAMES) expect(cold.seriesCount(f)).toBe(plain.seriesCount(f));
        }
      }),
      { numRuns: 25 },
    );
  });

  it("moves blocks between warm and cold: cooling compresses, a change warms one block", () => {
    const s = new MetricStore({ compress: true, coolAfterMs: 0 });
    s.setFamilies(FAMILIES);
    for (let i = 0; i < 2000; i++) s.upsert("r", ref(i), NAMES, fragments(i, 1, 7));
    s.compact();
    const before = s.render("text");
    s.compact(Infinity, true);
    const cooled = s.stats();
    expect(cooled.cold).toBe(cooled.blocks);
    expect(cooled.bufBytes).toBe(0);
    expect(s.render("text")).toBe(before);

    // One changed object warms its block in each family it has series in, nothing else.
    s.upsert("r", ref(1234), NAMES, fragments(1234, 2, 7));
    const changed = s.stats();
    expect(changed.cold).toBe(cooled.blocks! - 3);
    expect(changed.thawed).toBe(3);
    s.compact(Infinity, true);
    expect(s.stats().cold).toBe(s.stats().blocks);
    expect(s.render("text")).toBe(before.replace(/(name="obj-1234",k="\d+"\}) 1/g, "$1 2"));

    // An object that renders the same warms its blocks for the comparison and changes nothing.
    const compressions = s.stats().compressions!;
    s.upsert("r", ref(77), NAMES, fragments(77, 1, 7));
    expect(s.stats().thawed).toBe(0);
    s.compact(Infinity, true);
    expect(s.stats().compressions).toBe(compressions);
    expect(s.stats().cold).toBe(s.stats().blocks);
  });

  it("keeps blocks warm while they are in use and cools them after coolAfterMs", async () => {
    const s = new MetricStore({ compress: true, coolAfterMs: 30 });
    s.setFamilies(FAMILIES);
    for (let i = 0; i < 600; i++) s.upsert("r", ref(i), NAMES, fragments(i, 1, 7));
    s.compact();
    expect(s.stats().cold).toBe(0);
    // The background pass cools them once they have been left alone long enough.
    const deadline = Date.now() + 5000;
    while (s.stats().cold !== s.stats().blocks && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 20));
    }
    expect(s.stats().cold).toBe(s.stats().blocks);
  });
});
