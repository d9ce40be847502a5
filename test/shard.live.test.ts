import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import { loadConfigurations } from "../src/config/load.js";
import { startExporter, type RunningExporter } from "../src/exporter/exporter.js";
import { createLogger } from "../src/log/logger.js";
import { startApiServer, type ApiServer } from "../src/sim/server.js";

/**
 * Sharding against the embedded API server: every shard of a fleet together serves exactly the
 * unsharded output, no series twice; a new assignment re-shards without a restart.
 */

let sim: ApiServer;
const exporters: RunningExporter[] = [];

async function exporter(
  shard?: { index: number; total: number },
  autoShard?: { pod: string; namespace: string },
): Promise<RunningExporter> {
  const { configurations } = await loadConfigurations(["metricsconfigurations/kubestash"]);
  const e = await startExporter({
    kube: { server: sim.url },
    logger: createLogger({ level: "silent", format: "json" }),
    version: "test",
    host: "127.0.0.1",
    port: 0,
    telemetryPort: 0,
    fileConfigurations: configurations,
    ...(shard ? { shard } : {}),
    ...(autoShard ? { autoShard } : {}),
  });
  exporters.push(e);
  await e.whenReady();
  return e;
}

async function telemetryGauge(e: RunningExporter, name: string): Promise<number> {
  const text = await (await fetch(`${e.telemetryServer.url}/metrics`)).text();
  return Number(new RegExp(`^${name} (\\S+)$`, "m").exec(text)?.[1]);
}

async function until(what: string, condition: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function seriesOf(e: RunningExporter): Promise<string[]> {
  const text = await (await fetch(`${e.metrics.url}/metrics`)).text();
  return text.split("\n").filter((l) => l !== "" && !l.startsWith("#"));
}

beforeAll(async () => {
  sim = await startApiServer({ synthetic: 400 });
}, 60_000);

afterAll(async () => {
  await Promise.all(exporters.map((e) => e.shutdown()));
  await sim.close();
}, 60_000);

describe("sharding", () => {
  it("splits the objects so that the shards' union is the unsharded output, with no series twice", async () => {
    const all = await seriesOf(await exporter());
    expect(all.length).toBeGreaterThan(3000);
    for (const total of [2, 3]) {
      const shards = await Promise.all(
        Array.from({ length: total }, (_, index) => exporter({ index, total })),
      );
      const parts = await Promise.all(shards.map(seriesOf));
      for (const p of parts) expect(p.length).toBeGreaterThan(0);
      const union = parts.flat();
      expect(union.length).toBe(all.length);
      expect(new Set(union).size).toBe(union.length);
      expect([...union].sort()).toEqual([...all].sort());
      // An object's series all live in one shard.
      const owner = new Map<string, number>();
      parts.forEach((lines, shard) => {
        for (const l of lines) {
          const id = /\{namespace="([^"]*)",(\w+)="([^"]*)"/.exec(l)?.slice(1).join("/") ?? l;
          expect(owner.get(id) ?? shard).toBe(shard);
          owner.set(id, shard);
        }
      });
    }
  }, 120_000);

  it("reports its assignment and re-shards when told the fleet changed", async () => {
    const e = await exporter({ index: 1, total: 2 });
    const telemetry = await (await fetch(`${e.telemetryServer.url}/metrics`)).text();
    expect(telemetry).toMatch(/^crd_state_metrics_shard_ordinal 1$/m);
    expect(telemetry).toMatch(/^crd_state_metrics_total_shards 2$/m);
    const half = await seriesOf(e);
    e.controller.setShard({ index: 0, total: 1 });
    await e.whenReady();
    const whole = await seriesOf(e);
    expect(whole.length).toBeGreaterThan(half.length);
    expect(whole).toEqual(expect.arrayContaining(half));
  }, 120_000);

  it("takes its shard from the StatefulSet (--pod) and re-shards when the StatefulSet scales", async () => {
    const all = await seriesOf(await exporter());
    sim.create({ apiVersion: "v1", kind: "Namespace", metadata: { name: "monitoring" } });
    const sts = { apiVersion: "apps/v1", kind: "StatefulSet", namespace: "monitoring", name: "csm" };
    sim.create({
      apiVersion: "apps/v1",
      kind: "StatefulSet",
      metadata: { name: "csm", namespace: "monitoring" },
      spec: { replicas: 2, serviceName: "csm", selector: { matchLabels: { app: "csm" } } },
    });
    const pods = await Promise.all(
      ["csm-0", "csm-1"].map((pod) => exporter(undefined, { pod, namespace: "monitoring" })),
    );
    const union = async (fleet: RunningExporter[]): Promise<string[]> =>
      (await Promise.all(fleet.map(seriesOf))).flat();
    expect(await Promise.all(pods.map((p) => telemetryGauge(p, "crd_state_metrics_total_shards")))).toEqual([
      2, 2,
    ]);
    expect(await Promise.all(pods.map((p) => telemetryGauge(p, "crd_state_metrics_shard_ordinal")))).toEqual([
      0, 1,
    ]);
    expect((await union(pods)).sort()).toEqual([...all].sort());

    // Scale up: the new pod starts with the new size, the old ones re-shard without a restart.
    sim.patch(sts, "merge", { spec: { replicas: 3 } });
    pods.push(await exporter(undefined, { pod: "csm-2", namespace: "monitoring" }));
    await until("every pod to see 3 shards", async () =>
      (await Promise.all(pods.map((p) => telemetryGauge(p, "crd_state_metrics_total_shards")))).every(
        (n) => n === 3,
      ),
    );
    await Promise.all(pods.map((p) => p.whenReady()));
    const three = await Promise.all(pods.map(seriesOf));
    for (const part of three) expect(part.length).toBeGreaterThan(0);
    expect(three.flat().sort()).toEqual([...all].sort());

    // Scale down to one: pods beyond the new size serve nothing until they are deleted.
    sim.patch(sts, "merge", { spec: { replicas: 1 } });
    await until("every pod to see 1 shard", async () =>
      (await Promise.all(pods.map((p) => telemetryGauge(p, "crd_state_metrics_total_shards")))).every(
        (n) => n === 1,
      ),
    );
    await Promise.all(pods.map((p) => p.whenReady()));
    expect((await seriesOf(pods[0]!)).sort()).toEqual([...all].sort());
    expect(await seriesOf(pods[1]!)).toEqual([]);
    expect(await seriesOf(pods[2]!)).toEqual([]);
  }, 120_000);
});
