import { describe, expect, it } from "@jest/globals";
import { compileConfiguration } from "../src/config/compile.js";
import { CardinalityGuard } from "../src/controller/guard.js";
import { KindPolicy, parseKindRule } from "../src/controller/kinds.js";
import { objectIdentity, renderObject } from "../src/engine/evaluate.js";
import { buildPlan } from "../src/engine/plan.js";
import { MetricStore } from "../src/store/store.js";

/**
 * The cardinality guard's rule without a cluster: after a (re)list the served set depends only
 * on the objects (greedy in (namespace, name) order), whatever order events came in before; and
 * the kind policy's syntax and precedence.
 */

const CONFIG = compileConfiguration(
  {
    apiVersion: "metrics.appscode.com/v1alpha1",
    kind: "MetricsConfiguration",
    metadata: { name: "widgets" },
    spec: {
      targetRef: { apiVersion: "example.com/v1", kind: "Widget" },
      metrics: [
        {
          name: "part",
          help: "One series per part.",
          type: "gauge",
          field: { path: ".spec.parts", type: "Array" },
          labels: [{ key: "part", valuePath: ".spec.parts[*]" }],
          metricValue: { value: 1 },
        },
      ],
    },
  },
  {},
);

function widget(name: string, parts: number, namespace = "ns"): unknown {
  return {
    apiVersion: "example.com/v1",
    kind: "Widget",
    metadata: { name, namespace },
    spec: { parts: Array.from({ length: parts }, (_, i) => `p${i}`) },
  };
}

/** `counted`: pass renderObject's series counts, as the live path does (else lines are counted). */
function setup(limit: number, global = Infinity, counted = true) {
  const plan = buildPlan([CONFIG]);
  const target = [...plan.targets.values()][0]!;
  const store = new MetricStore();
  store.setFamilies(plan.families.values());
  let relists = 0;
  const guard = new CardinalityGuard({ perConfiguration: limit, global, reevaluateMs: 0 }, store);
  const tg = guard.forTarget(target, plan.families, () => relists++);
  const put = (obj: unknown): void => {
    const counts: number[] = [];
    const fragments = renderObject(target, obj, {}, counts);
    tg.upsert(target.key, objectIdentity(obj)!, fragments, counted ? counts : undefined);
  };
  const relist = (objs: unknown[]): void => {
    store.beginRelist(target.key);
    tg.relistStart();
    for (const o of objs) put(o);
    store.endRelist(target.key);
    tg.relistDone();
  };
  const names = (): string[] => [
    ...new Set(
      store
        .render("text")
        .split("\n")
        .filter((l) => l.startsWith("example_com_widget_part{"))
        .map((l) => /widget="([^"]*)"/.exec(l)?.[1] ?? "?"),
    ),
  ];
  return { guard, tg, store, put, relist, names, relistCount: () => relists };
}

describe("cardinality guard", () => {
  const objects = [widget("a", 2), widget("b", 3), widget("c", 1), widget("d", 2), widget("e", 1)];

  it("a relist admits objects greedily in (namespace, name) order, whole or not at all", () => {
    const s = setup(5);
    s.relist(objects);
    // a (2) + b (3) = 5; c would make 6: withheld; d withheld; e (1) would make 6: withheld.
    expect(s.names()).toEqual(["a", "b"]);
    expect(s.guard.withheld("widgets")).toEqual({ series: 4, objects: 3, limit: 5, global: false });
  });

  it("decides the same with the renderer's series counts as with counted lines", () => {
    for (const limit of [3, 5, 6, 9]) {
      const runs = [true, false].map((counted) => {
        const s = setup(limit, 8, counted);
        s.relist(objects);
        s.put(widget("a", 4));
        s.put(widget("f", 2));
        return { names: s.names(), withheld: s.guard.withheld("widgets") };
      });
      expect(runs[0]).toEqual(runs[1]);
    }
  });

  it("after a relist, the served set does not depend on the order of earlier events", () => {
    const s1 = setup(6);
    for (const o of [...objects].reverse()) s1.put(o);
    const s2 = setup(6);
    for (const o of objects) s2.put(o);
    expect(s1.names()).not.toEqual(s2.names()); // first come, first served between relists
    s1.relist(objects);
    s2.relist(objects);
    expect(s1.names()).toEqual(["a", "b", "c"]);
    expect(s2.names()).toEqual(s1.names());
    expect(s1.store.render("text")).toBe(s2.store.render("text"));
  });

  it("an object that grows past the limit is withheld; room for a withheld object asks for a relist", async () => {
    const s = setup(5);
    s.relist(objects.slice(0, 2)); // a, b: 5 series
    s.put(widget("a", 3)); // would be 6
    expect(s.names()).toEqual(["b"]);
    expect(s.guard.withheld("widgets")?.series).toBe(3);
    s.put(widget("b", 1)); // room: 4 free ≥ 3 withheld
    await new Promise((r) => setTimeout(r, 20));
    expect(s.relistCount()).toBe(1);
    s.relist([widget("a", 3), widget("b", 1)]);
    expect(s.names()).toEqual(["a", "b"]);
    expect(s.guard.withheld("widgets")).toBeUndefined();
  });

  it("--max-series withholds whatever would cross the global total", () => {
    const s = setup(Infinity, 4);
    s.relist(objects);
    expect(s.names()).toEqual(["a", "c", "e"]);
    expect(s.guard.withheld("widgets")?.global).toBe(true);
  });
});

describe("kind policy", () => {
  it("parses Kind, group/Kind, core/Kind and group/*", () => {
    expect(parseKindRule("Secret")).toEqual({ group: undefined, kind: "secret", text: "Secret" });
    expect(parseKindRule("core/ConfigMap")).toEqual({ group: "", kind: "configmap", text: "core/ConfigMap" });
    expect(parseKindRule("core.kubestash.com/*")).toEqual({
      group: "core.kubestash.com",
      kind: undefined,
      text: "core.kubestash.com/*",
    });
    for (const bad of ["", "/Secret", "*", "a b/Kind", "group/", "Sec-ret"]) {
      expect(() => parseKindRule(bad)).toThrow();
    }
  });

  it("denies core Secret unless named in --allow-kinds; --deny-kinds wins; --allow-kinds narrows", () => {
    expect(new KindPolicy().decide("", "Secret").allowed).toBe(false);
    expect(new KindPolicy().decide("example.com", "Secret").allowed).toBe(true);
    expect(new KindPolicy({ allow: ["core/*"] }).decide("", "Secret").allowed).toBe(false);
    expect(new KindPolicy({ allow: ["secret"] }).decide("", "Secret").allowed).toBe(true);
    expect(new KindPolicy({ allow: ["Secret"], deny: ["core/Secret"] }).decide("", "Secret").allowed).toBe(
      false,
    );
    const p = new KindPolicy({
      allow: ["core.kubestash.com/*"],
      deny: ["core.kubestash.com/RestoreSession"],
    });
    expect(p.decide("core.kubestash.com", "BackupSession").allowed).toBe(true);
    expect(p.decide("core.kubestash.com", "RestoreSession").allowed).toBe(false);
    expect(p.decide("storage.kubestash.com", "Snapshot").allowed).toBe(false);
    expect(new KindPolicy({ deny: ["ConfigMap"] }).decide("", "ConfigMap").message).toMatch(/--deny-kinds/);
  });
});
