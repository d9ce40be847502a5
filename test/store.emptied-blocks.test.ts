import { describe, expect, it } from "@jest/globals";
import { MetricStore } from "../src/store/store.js";

/**
 * Found by the soak (docs/reliability.md): after a relist deletes every object of a block, the
 * emptied block stays until the next reshape; a key inserted meanwhile must still land in the
 * block where it sorts, or a later upsert of it files a second copy (a duplicated series).
 */

function ref(i: number): { namespace: string; name: string } {
  return { namespace: "ns", name: `obj-${String(i).padStart(5, "0")}` };
}

function fragment(i: number, v: number): string {
  const r = ref(i);
  return `f{namespace="${r.namespace}",o="${r.name}"} ${v}\n`;
}

function sorted(model: Map<string, string>): string {
  return [...model.entries()]
    .sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))
    .map(([, f]) => f)
    .join("");
}

describe("a store with emptied blocks", () => {
  it("files a new key after an emptied block into the block where it sorts", () => {
    const store = new MetricStore();
    store.setFamilies([{ name: "f", help: "h" }]);
    const model = new Map<string, string>();
    const put = (i: number, v: number): void => {
      store.upsert("r", ref(i), ["f"], [fragment(i, v)]);
      model.set(ref(i).name, fragment(i, v));
    };
    for (let i = 0; i < 2_000; i++) put(i, 0);
    store.compact(); // four blocks of 500
    store.beginRelist("r");
    model.clear();
    for (let i = 0; i < 2_000; i++) if (i < 1_000 || (i >= 1_500 && i % 2 === 0)) put(i, 1);
    store.endRelist("r"); // the third block is now empty, the fourth holds even keys only
    put(1_601, 2);
    put(1_603, 2);
    expect(store.render("text")).toBe(`# HELP f h\n# TYPE f gauge\n${sorted(model)}`);
    store.compact();
    put(1_601, 3);
    expect(store.render("text")).toBe(`# HELP f h\n# TYPE f gauge\n${sorted(model)}`);
    expect(store.seriesCount("f")).toBe(model.size);
  });

  it("never files a key out of order: the render equals a sorted model through relists and deletes", () => {
    let seed = 7;
    const random = (): number => {
      seed ^= seed << 13;
      seed ^= seed >>> 17;
      seed ^= seed << 5;
      return (seed >>> 0) / 4294967296;
    };
    for (let run = 0; run < 10; run++) {
      const store = new MetricStore();
      store.setFamilies([{ name: "f", help: "h" }]);
      const model = new Map<string, string>();
      const id = (i: number): string => ref(i).name;
      for (let i = 0; i < 2_000; i++) {
        store.upsert("r", ref(i), ["f"], [fragment(i, 0)]);
        model.set(id(i), fragment(i, 0));
      }
      store.compact();
      // A relist that keeps only a scattered third of the objects empties whole blocks...
      store.beginRelist("r");
      const kept = new Set<string>();
      for (let i = 0; i < 2_000; i++) {
        if (i % 3 === 0 && i % 900 < 600) {
          store.upsert("r", ref(i), ["f"], [fragment(i, 1)]);
          model.set(id(i), fragment(i, 1));
          kept.add(id(i));
        }
      }
      store.endRelist("r");
      for (const k of [...model.keys()]) if (!kept.has(k)) model.delete(k);
      // ...then new and changed objects arrive before and after the background reshape.
      for (let step = 0; step < 3_000; step++) {
        const i = Math.floor(random() * 2_000);
        const v = Math.floor(random() * 5);
        store.upsert("r", ref(i), ["f"], [fragment(i, v)]);
        model.set(id(i), fragment(i, v));
        if (random() < 0.01) store.compact(random() < 0.5 ? 1 : Infinity);
      }
      expect(store.render("text")).toBe(`# HELP f h\n# TYPE f gauge\n${sorted(model)}`);
      expect(store.seriesCount("f")).toBe(model.size);
    }
  });
});
