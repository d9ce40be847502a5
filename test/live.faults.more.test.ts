import { afterAll, beforeAll, beforeEach, describe, expect, it } from "@jest/globals";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parse } from "yaml";
import type { KubeObject } from "../src/sim/index.js";
import {
  converges,
  delay,
  eventually,
  KUBESTASH_SEEDS,
  MC_API,
  MC_KIND,
  readyz,
  ROOT,
  sample,
  scrape,
  startLive,
  telemetry,
  type Live,
} from "./support/live.js";

/**
 * The rest of the fault matrix (docs/reliability.md): 410 on a continue token in the middle of
 * a paginated list, slow lists, a target CRD deleted and re-created, and MetricsConfiguration
 * churn. After each, /metrics equals the offline render of the API server's objects within 5 s
 * and the self-metrics count what happened.
 */

const BS_API = "core.kubestash.com/v1alpha1";
const BS = "core.kubestash.com/v1alpha1/backupsessions";
const CONVERGE_MS = 5_000;
/** FAST_TUNING's page size is 50: this many sessions make a list of several pages. */
const SESSIONS = 260;

let live: Live;

function session(name: string, phase: string): KubeObject {
  return {
    apiVersion: BS_API,
    kind: "BackupSession",
    metadata: { name, namespace: "demo" },
    spec: {
      invoker: { apiGroup: "core.kubestash.com", kind: "BackupConfiguration", name: "sample-backup-sts" },
    },
    status: { phase, duration: "10s" },
  };
}

beforeAll(async () => {
  const objects = Array.from({ length: SESSIONS }, (_, i) =>
    session(`bulk-${String(i).padStart(4, "0")}`, i % 2 ? "Succeeded" : "Running"),
  );
  live = await startLive({ sim: { seedPaths: KUBESTASH_SEEDS, objects, bookmarkIntervalMs: 60_000 } });
  await live.exporter.whenReady();
  await converges(live);
});

afterAll(async () => {
  await live.close();
});

beforeEach(() => {
  live.sim.faults.reset();
});

async function counter(name: string, labels: Record<string, string>): Promise<number> {
  return sample(await telemetry(live), name, labels) ?? 0;
}

/** Force the BackupSession reflector to relist: its watch gets 410 and history is gone. */
function forceRelist(): void {
  live.sim.faults.compact();
  live.sim.faults.failNext({ resource: "backupsessions", verb: "watch", status: 410, count: 1 });
  live.sim.faults.dropWatches({ resource: "backupsessions" });
}

let serial = 0;
function churn(): void {
  const n = ++serial;
  live.sim.create(session(`more-${n}`, "Running"));
  live.sim.patch(
    { apiVersion: BS_API, kind: "BackupSession", namespace: "demo", name: "bulk-0003" },
    "merge",
    {
      status: { phase: "Failed", duration: `${n}s` },
    },
  );
  live.sim.delete({
    apiVersion: BS_API,
    kind: "BackupSession",
    namespace: "demo",
    name: `bulk-${String(100 + n).padStart(4, "0")}`,
  });
}

/** Lines of untouched objects missing from any scrape while `body` runs. */
async function withoutGaps(body: () => Promise<void>): Promise<string[]> {
  const baseline = (await scrape(live.metricsUrl))
    .split("\n")
    .filter((l) => l.includes('backupsession="bulk-00') && !l.includes("bulk-0003"));
  let running = true;
  const missing = new Set<string>();
  const loop = (async () => {
    while (running) {
      const lines = new Set((await scrape(live.metricsUrl)).split("\n"));
      for (const l of baseline) if (!lines.has(l)) missing.add(l);
      await delay(10);
    }
  })();
  try {
    await body();
  } finally {
    running = false;
    await loop;
  }
  return [...missing];
}

describe("more API server faults", () => {
  it("410 on a continue token in the middle of a list: the list restarts and converges", async () => {
    const expired = await counter("crd_state_metrics_list_total", { resource: BS, result: "expired" });
    const gone = await counter("crd_state_metrics_watch_restarts_total", { resource: BS, reason: "gone" });
    const gaps = await withoutGaps(async () => {
      // Each page takes 250 ms: the token of page 2 is compacted away while page 1 is handled.
      live.sim.faults.slowLists({ resource: "backupsessions", delayMs: 250 });
      forceRelist();
      await eventually(
        async () =>
          (await counter("crd_state_metrics_watch_restarts_total", { resource: BS, reason: "gone" })) > gone,
        10_000,
        "the watch to be restarted as gone",
      );
      await delay(400);
      live.sim.faults.compact();
      churn();
      await eventually(
        async () =>
          (await counter("crd_state_metrics_list_total", { resource: BS, result: "expired" })) > expired,
        10_000,
        "an expired list",
      );
      live.sim.faults.clearSlowLists();
      await converges(live, CONVERGE_MS);
    });
    expect(gaps).toEqual([]);
    expect(await readyz(live.metricsUrl)).toBe(200);
  });

  it("slow lists: series stay served and readiness stays up while a relist crawls", async () => {
    const listed = await counter("crd_state_metrics_list_total", { resource: BS, result: "success" });
    const gaps = await withoutGaps(async () => {
      live.sim.faults.slowLists({ resource: "backupsessions", delayMs: 600 });
      forceRelist();
      churn();
      // Six pages at 600 ms: for seconds the relist is in progress; scrapes keep working.
      await delay(1_500);
      expect(await readyz(live.metricsUrl)).toBe(200);
      live.sim.faults.clearSlowLists();
      await converges(live, CONVERGE_MS + 4_000);
    });
    expect(gaps).toEqual([]);
    expect(
      await counter("crd_state_metrics_list_total", { resource: BS, result: "success" }),
    ).toBeGreaterThan(listed);
  });

  it("a target CRD deleted and re-created: its series go, then come back exactly", async () => {
    const crdFile = join(ROOT, "deploy", "crds", "kubestash", "snapshots.storage.kubestash.com.yaml");
    const crd = parse(readFileSync(crdFile, "utf8")) as KubeObject;
    const snapshots = live.sim.list("storage.kubestash.com/v1alpha1", "Snapshot");
    expect(snapshots.length).toBeGreaterThan(0);
    live.sim.delete({
      apiVersion: "apiextensions.k8s.io/v1",
      kind: "CustomResourceDefinition",
      name: "snapshots.storage.kubestash.com",
    });
    await eventually(
      async () => !(await scrape(live.metricsUrl)).includes("storage_kubestash_com_snapshot_"),
      CONVERGE_MS,
      "snapshot series to go with the CRD",
    );
    await converges(live, CONVERGE_MS);
    live.sim.create(crd);
    for (const s of snapshots) {
      const { resourceVersion: _rv, uid: _uid, ...metadata } = s.metadata as Record<string, unknown>;
      live.sim.create({ ...s, metadata: { ...metadata } } as KubeObject);
    }
    await converges(live, CONVERGE_MS);
    expect(await scrape(live.metricsUrl)).toContain("storage_kubestash_com_snapshot_");
  });

  it("MetricsConfiguration churn: rapid create, update and delete end in exactly the final set", async () => {
    const mc = (name: string, help: string, metric = "extra"): KubeObject => ({
      apiVersion: MC_API,
      kind: MC_KIND,
      metadata: { name },
      spec: {
        targetRef: { apiVersion: BS_API, kind: "BackupSession" },
        metrics: [
          { name: `${metric}_${name.replace(/-/g, "_")}`, help, type: "gauge", metricValue: { value: 1 } },
        ],
      },
    });
    for (let round = 0; round < 5; round++) {
      for (let i = 0; i < 6; i++) live.sim.upsert(mc(`churn-${i}`, `round ${round}`));
      for (let i = 0; i < 6; i += 2) {
        live.sim.delete({ apiVersion: MC_API, kind: MC_KIND, name: `churn-${i}` });
      }
      live.sim.upsert(mc("churn-1", `changed ${round}`, "renamed"));
      churn();
      await delay(20 * round);
    }
    await converges(live, CONVERGE_MS);
    const text = await scrape(live.metricsUrl);
    expect(text).toContain("# HELP core_kubestash_com_backupsession_renamed_churn_1 changed 4");
    expect(text).not.toContain("extra_churn_0");
    for (let i = 0; i < 6; i++) {
      try {
        live.sim.delete({ apiVersion: MC_API, kind: MC_KIND, name: `churn-${i}` });
      } catch {
        // already gone
      }
    }
    await converges(live, CONVERGE_MS);
    const tel = await telemetry(live);
    expect(sample(tel, "crd_state_metrics_series", { configuration: "churn-1" })).toBeUndefined();
  });
});
