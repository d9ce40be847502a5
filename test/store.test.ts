import { describe, expect, it } from "@jest/globals";
import { MetricStore } from "../src/store/store.js";

const FAMILIES = [
  { name: "b_family", help: "B" },
  { name: "a_family", help: "A" },
];

function line(family: string, ns: string, name: string, v = 1): string {
  return `${family}{namespace="${ns}",obj="${name}"} ${v}\n`;
}

function put(store: MetricStore, res: string, ns: string, name: string, v = 1): void {
  store.upsert(
    res,
    { namespace: ns, name },
    ["a_family", "b_family"],
    [line("a_family", ns, name, v), line("b_family", ns, name, v)],
  );
}

describe("MetricStore", () => {
  it("writes families by name, objects by (namespace, name), each family contiguous", () => {
    const s = new MetricStore();
    s.setFamilies(FAMILIES);
    put(s, "r1", "ns2", "x");
    put(s, "r2", "ns1", "y");
    put(s, "r1", "ns1", "z");
    put(s, "r1", "ns1", "a");
    expect(s.render("text")).toBe(
      "# HELP a_family A\n# TYPE a_family gauge\n" +
        line("a_family", "ns1", "a") +
        line("a_family", "ns1", "y") +
        line("a_family", "ns1", "z") +
        line("a_family", "ns2", "x") +
        "# HELP b_family B\n# TYPE b_family gauge\n" +
        line("b_family", "ns1", "a") +
        line("b_family", "ns1", "y") +
        line("b_family", "ns1", "z") +
        line("b_family", "ns2", "x"),
    );
  });

  it("ends OpenMetrics with # EOF and omits empty families", () => {
    const s = new MetricStore();
    s.setFamilies(FAMILIES);
    s.upsert(
      "r",
      { namespace: "", name: "o" },
      ["a_family", "b_family"],
      [line("a_family", "", "o"), undefined],
    );
    expect(s.render("openmetrics")).toBe(
      `# HELP a_family A\n# TYPE a_family gauge\n${line("a_family", "", "o")}# EOF\n`,
    );
  });

  it("replaces an object's fragments on update and removes them on delete", () => {
    const s = new MetricStore();
    s.setFamilies(FAMILIES);
    put(s, "r", "n", "o", 1);
    put(s, "r", "n", "o", 2);
    expect(s.seriesCount("a_family")).toBe(1);
    expect(s.render("text")).toContain(line("a_family", "n", "o", 2));
    s.upsert(
      "r",
      { namespace: "n", name: "o" },
      ["a_family", "b_family"],
      [undefined, line("b_family", "n", "o", 3)],
    );
    expect(s.seriesCount("a_family")).toBe(0);
    s.delete("r", { namespace: "n", name: "o" });
    expect(s.render("text")).toBe("");
    expect(s.objectCount("r")).toBe(0);
  });

  it("keeps serving old fragments during a relist and drops only the unseen ones at its end", () => {
    const s = new MetricStore();
    s.setFamilies(FAMILIES);
    put(s, "r", "n", "keep");
    put(s, "r", "n", "gone");
    put(s, "other", "n", "untouched");
    s.beginRelist("r");
    put(s, "r", "n", "keep", 5);
    // Mid-relist, nothing has disappeared.
    expect(s.render("text")).toContain(line("a_family", "n", "gone"));
    s.endRelist("r");
    const out = s.render("text");
    expect(out).not.toContain("gone");
    expect(out).toContain(line("a_family", "n", "keep", 5));
    expect(out).toContain(line("a_family", "n", "untouched"));
  });

  it("drops a whole resource and forgets families no longer declared", () => {
    const s = new MetricStore();
    s.setFamilies(FAMILIES);
    put(s, "r", "n", "o");
    put(s, "q", "n", "p");
    s.dropResource("r");
    expect(s.objectCount("r")).toBe(0);
    s.setFamilies([{ name: "b_family", help: "B2" }]);
    expect(s.render("text")).toBe(`# HELP b_family B2\n# TYPE b_family gauge\n${line("b_family", "n", "p")}`);
  });

  it("gives identical bytes for any order of the same events", () => {
    const names = Array.from({ length: 50 }, (_, i) => `o${(i * 37) % 50}`);
    const a = new MetricStore();
    const b = new MetricStore();
    a.setFamilies(FAMILIES);
    b.setFamilies(FAMILIES);
    for (const n of names) put(a, "r", n.length % 2 ? "x" : "y", n);
    for (const n of [...names].reverse()) put(b, "r", n.length % 2 ? "x" : "y", n);
    expect(a.render("text")).toBe(b.render("text"));
  });

  it("lets a scrape in progress finish consistently while objects change", () => {
    const s = new MetricStore();
    s.setFamilies([{ name: "a_family", help: "A" }]);
    for (let i = 0; i < 10; i++)
      s.upsert("r", { namespace: "n", name: `o${i}` }, ["a_family"], [line("a_family", "n", `o${i}`)]);
    const pieces: string[] = [];
    let i = 0;
    for (const piece of s.exposition("text")) {
      pieces.push(piece);
      if (i++ === 3) {
        s.delete("r", { namespace: "n", name: "o9" });
        s.upsert("r", { namespace: "n", name: "o0" }, ["a_family"], [line("a_family", "n", "o0", 7)]);
      }
    }
    const text = pieces.join("");
    expect(text.match(/o\d"/g)?.length).toBe(9);
    expect(text).not.toContain("o9");
  });
});
