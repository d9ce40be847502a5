import { afterEach, describe, expect, it } from "@jest/globals";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parse } from "yaml";
import { loadConfigurations } from "../src/config/load.js";
import { loadSeedFiles, type KubeObject } from "../src/sim/index.js";
import {
  converges,
  eventually,
  KUBESTASH_SEEDS,
  MC_API,
  MC_KIND,
  readyz,
  ROOT,
  sample,
  scrape,
  startLive,
  MC_CRD,
  telemetry,
  type Live,
} from "./support/live.js";

/**
 * CRDs coming and going under a running exporter, the MetricsConfiguration CRD absent or without
 * a status subresource, and readiness that never turns green before the output is complete.
 */

function mcCrd(statusSubresource = true): KubeObject {
  const crd = parse(readFileSync(MC_CRD, "utf8")) as KubeObject;
  if (!statusSubresource) {
    const versions = (crd.spec as { versions: Record<string, unknown>[] }).versions;
    for (const v of versions) delete v.subresources;
  }
  return crd;
}

function gadgetCrd(): KubeObject {
  return {
    apiVersion: "apiextensions.k8s.io/v1",
    kind: "CustomResourceDefinition",
    metadata: { name: "gadgets.example.com" },
    spec: {
      group: "example.com",
      scope: "Namespaced",
      names: { plural: "gadgets", singular: "gadget", kind: "Gadget", listKind: "GadgetList" },
      versions: [
        {
          name: "v1",
          served: true,
          storage: true,
          schema: { openAPIV3Schema: { type: "object", "x-kubernetes-preserve-unknown-fields": true } },
        },
      ],
    },
  };
}

const GADGET_CONFIG: KubeObject = {
  apiVersion: MC_API,
  kind: MC_KIND,
  metadata: { name: "gadgets" },
  spec: {
    targetRef: { apiVersion: "example.com/v1", kind: "Gadget" },
    metrics: [
      { name: "size", help: "Gadget size.", type: "gauge", metricValue: { valueFromPath: ".spec.size" } },
    ],
  },
};

function gadget(name: string, size: number): KubeObject {
  return {
    apiVersion: "example.com/v1",
    kind: "Gadget",
    metadata: { name, namespace: "default" },
    spec: { size },
  };
}

function conditionOf(live: Live, name: string, type: string): string | undefined {
  const status = live.sim.get({ apiVersion: MC_API, kind: MC_KIND, name })?.status as
    | { conditions?: { type: string; status: string; reason: string }[] }
    | undefined;
  const c = status?.conditions?.find((x) => x.type === type);
  return c ? `${c.status}/${c.reason}` : undefined;
}

let live: Live | undefined;

afterEach(async () => {
  await live?.close();
  live = undefined;
});

describe("a target whose CRD is installed after start", () => {
  it("is TargetNotFound, then served as soon as the CRD appears, then gone with the CRD", async () => {
    live = await startLive({ sim: { objects: [mcCrd(), GADGET_CONFIG] } });
    const l = live;
    // Not installed: readiness does not wait for it (nothing could ever satisfy it).
    await eventually(async () => (await readyz(l.metricsUrl)) === 200, 10_000, "ready without the CRD");
    await eventually(
      () => conditionOf(l, "gadgets", "TargetNotFound") === "True/ResourceNotServed",
      10_000,
      "TargetNotFound",
    );
    expect(await scrape(l.metricsUrl)).toBe("");
    expect(l.logs.matching(/target resource is not served/)).toHaveLength(1);

    const installedAt = Date.now();
    l.sim.create(gadgetCrd());
    l.sim.create(gadget("g1", 3));
    l.sim.create(gadget("g2", 5));
    await eventually(
      async () =>
        (await scrape(l.metricsUrl)).includes('example_com_gadget_size{namespace="default",gadget="g2"} 5'),
      10_000,
      "gadget series",
    );
    const pickedUpMs = Date.now() - installedAt;
    await converges(l);
    expect(await readyz(l.metricsUrl)).toBe(200);
    await eventually(() => conditionOf(l, "gadgets", "Ready") === "True/Serving", 10_000, "Ready");
    expect(conditionOf(l, "gadgets", "TargetNotFound")).toBe("False/ResourceServed");
    // Picked up through the CRD watch, not a polling interval (the controller's retry is 5 s).
    expect(pickedUpMs).toBeLessThan(4_000);
    process.stderr.write(`live.crds: CRD picked up in ${pickedUpMs} ms\n`);

    l.sim.patch({ apiVersion: "example.com/v1", kind: "Gadget", namespace: "default", name: "g1" }, "merge", {
      spec: { size: 30 },
    });
    await converges(l);

    l.sim.delete({
      apiVersion: "apiextensions.k8s.io/v1",
      kind: "CustomResourceDefinition",
      name: "gadgets.example.com",
    });
    await eventually(async () => (await scrape(l.metricsUrl)) === "", 10_000, "series gone with the CRD");
    await eventually(
      () => conditionOf(l, "gadgets", "TargetNotFound") === "True/ResourceNotServed",
      10_000,
      "TargetNotFound again",
    );
    const tel = await telemetry(l);
    expect(sample(tel, "crd_state_metrics_objects", { resource: "example.com/v1/gadgets" })).toBeUndefined();

    // And back again.
    l.sim.create(gadgetCrd());
    l.sim.create(gadget("g3", 7));
    await eventually(
      async () => (await scrape(l.metricsUrl)).includes('gadget="g3"} 7'),
      10_000,
      "back again",
    );
    await converges(l);
  });
});

describe("configurations from --config files", () => {
  it("serve with the MetricsConfiguration CRD absent, and one log line says so", async () => {
    const { configurations } = await loadConfigurations([join(ROOT, "metricsconfigurations", "kubestash")]);
    live = await startLive({
      sim: { seedPaths: [join(ROOT, "deploy", "crds", "kubestash"), join(ROOT, "examples", "kubestash")] },
      exporter: { fileConfigurations: configurations },
    });
    const l = live;
    await live.exporter.whenReady();
    await converges(live);
    expect((await scrape(live.metricsUrl)).length).toBeGreaterThan(10_000);
    expect(live.logs.matching(/MetricsConfiguration CRD is not installed/)).toHaveLength(1);
    expect(live.logs.matching(/MetricsConfiguration CRD is not installed/)[0]?.level).toBe("info");

    // A CRD change that is not ours does not repeat the line.
    const crdEvents = async (): Promise<number> =>
      sample(await telemetry(l), "crd_state_metrics_watch_events_total", {
        resource: "apiextensions.k8s.io/v1/customresourcedefinitions",
      }) ?? 0;
    const seen = await crdEvents();
    live.sim.create(gadgetCrd());
    await eventually(async () => (await crdEvents()) > seen, 10_000, "the CRD watch to see the new CRD");
    expect(live.logs.matching(/MetricsConfiguration CRD is not installed/)).toHaveLength(1);
  });

  it("merge with cluster configurations once the CRD is installed", async () => {
    const { configurations } = await loadConfigurations([
      join(ROOT, "metricsconfigurations", "kubestash", "repository.yaml"),
    ]);
    live = await startLive({
      sim: { seedPaths: [join(ROOT, "deploy", "crds", "kubestash"), join(ROOT, "examples", "kubestash")] },
      exporter: { fileConfigurations: configurations },
    });
    await converges(live);
    live.sim.create(mcCrd());
    live.sim.load(await loadSeedFiles([join(ROOT, "metricsconfigurations", "kubestash", "snapshot.yaml")]));
    await eventually(
      async () => (await scrape(live?.metricsUrl ?? "")).includes("storage_kubestash_com_snapshot_phase"),
      10_000,
      "cluster configuration served",
    );
    await converges(live);
    expect(await scrape(live.metricsUrl)).toContain("storage_kubestash_com_repository_info");
  });
});

describe("a MetricsConfiguration CRD without a status subresource", () => {
  it("gets Events instead of status", async () => {
    live = await startLive({
      sim: {
        objects: [
          mcCrd(false),
          GADGET_CONFIG,
          {
            ...GADGET_CONFIG,
            metadata: { name: "broken" },
            spec: {
              ...(GADGET_CONFIG.spec as object),
              metrics: [{ name: "x y", help: "h", type: "gauge", metricValue: { value: 1 } }],
            },
          },
        ],
      },
    });
    const l = live;
    const events = (): { reason: string; type: string; name: string }[] =>
      l.sim.list("v1", "Event", "default").map((e) => ({
        reason: typeof e.reason === "string" ? e.reason : "",
        type: typeof e.type === "string" ? e.type : "",
        name: String((e.involvedObject as { name?: string }).name),
      }));
    await eventually(
      () =>
        events().some((e) => e.name === "gadgets" && e.reason === "TargetNotFound" && e.type === "Warning") &&
        events().some((e) => e.name === "broken" && e.reason === "Invalid" && e.type === "Warning"),
      10_000,
      "Warning events",
      () => JSON.stringify(events()),
    );
    expect(l.sim.get({ apiVersion: MC_API, kind: MC_KIND, name: "gadgets" })?.status).toBeUndefined();
    l.sim.create(gadgetCrd());
    await eventually(
      () => events().some((e) => e.name === "gadgets" && e.type === "Normal" && e.reason === "Serving"),
      10_000,
      "a Normal event once serving",
      () => JSON.stringify(events()),
    );
    // Unchanged conditions are not re-announced.
    const count = events().length;
    await new Promise((r) => setTimeout(r, 600));
    expect(events().length).toBe(count);
  });
});

describe("readiness", () => {
  it("never reports ready before /metrics holds every target's objects", async () => {
    live = await startLive({
      sim: {
        seedPaths: KUBESTASH_SEEDS,
        objects: [
          {
            apiVersion: MC_API,
            kind: MC_KIND,
            metadata: { name: "a-namespaces" },
            spec: {
              targetRef: { apiVersion: "v1", kind: "Namespace" },
              metrics: [
                { name: "exists", help: "1 per namespace.", type: "gauge", metricValue: { value: 1 } },
              ],
            },
          },
        ],
      },
    });
    const l = live;
    l.sim.faults.slowLists({ resource: "snapshots", delayMs: 300 });
    // Poll as fast as we can; the first 200 must come with the complete output.
    await eventually(async () => (await readyz(l.metricsUrl)) === 200, 15_000, "ready");
    l.sim.faults.clearSlowLists();
    await converges(l, 1); // no waiting: equal on the first try or fail
  });
});
