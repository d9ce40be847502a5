import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import type { KubeObject } from "../src/sim/index.js";
import {
  converges,
  eventually,
  KUBESTASH_SEEDS,
  MC_API,
  MC_KIND,
  sample,
  scrape,
  startLive,
  telemetry,
  type Live,
} from "./support/live.js";

/**
 * The exporter with decode threads (`--decode-threads 2`): watch events are parsed and rendered
 * off the main thread, and /metrics must still equal the offline render byte for byte — through
 * bursts, configuration changes, and a decode thread that dies.
 */

const BS_API = "core.kubestash.com/v1alpha1";

let live: Live;

beforeAll(async () => {
  live = await startLive({ sim: { seedPaths: KUBESTASH_SEEDS }, exporter: { decodeThreads: 2 } });
  await live.exporter.whenReady();
  await converges(live);
});

afterAll(async () => {
  await live.close();
});

function pool(): NonNullable<Live["exporter"]["decodePool"]> {
  const p = live.exporter.decodePool;
  if (!p) throw new Error("the exporter runs without decode threads");
  return p;
}

function backupSession(name: string, phase: string, title = "plain"): KubeObject {
  return {
    apiVersion: BS_API,
    kind: "BackupSession",
    metadata: { name, namespace: "demo", creationTimestamp: "2024-06-01T00:00:00Z" },
    spec: {
      invoker: { apiGroup: "core.kubestash.com", kind: "BackupConfiguration", name: title },
      session: "daily",
    },
    status: { phase, duration: "1m30.5s" },
  };
}

describe("watch events decoded in threads", () => {
  it("serves exactly what the objects say after a burst of creates, updates and deletes", async () => {
    const before = pool().batches.threads + pool().batches.here;
    for (let i = 0; i < 300; i++) {
      // Non-ASCII label values travel as UTF-8 bytes from the threads.
      live.sim.create(
        backupSession(`t-${String(i).padStart(3, "0")}`, "Running", i % 7 ? "plain" : "Grüße-😀"),
      );
    }
    for (let i = 0; i < 300; i += 2) {
      live.sim.patch(
        {
          apiVersion: BS_API,
          kind: "BackupSession",
          namespace: "demo",
          name: `t-${String(i).padStart(3, "0")}`,
        },
        "merge",
        { status: { phase: "Succeeded", duration: "2m" } },
      );
    }
    for (let i = 0; i < 300; i += 5) {
      live.sim.delete({
        apiVersion: BS_API,
        kind: "BackupSession",
        namespace: "demo",
        name: `t-${String(i).padStart(3, "0")}`,
      });
    }
    await converges(live, 20_000);
    expect(pool().batches.threads + pool().batches.here).toBeGreaterThan(before);
    const text = await scrape(live.metricsUrl);
    expect(text).toContain('invoker_name="Grüße-😀"');
    expect(text).not.toContain('backupsession="t-000"');
    expect(text).toMatch(
      /core_kubestash_com_backupsession_phase\{[^}]*backupsession="t-002"[^}]*phase="Succeeded"\} 1\n/,
    );
  });

  it("follows a changed configuration (the target's new plan is built in the threads too)", async () => {
    const mc = live.sim.get({ apiVersion: MC_API, kind: MC_KIND, name: "kubestash-backupsession" });
    if (!mc) throw new Error("seeded configuration missing");
    const spec = mc.spec as { metrics: unknown[] };
    spec.metrics.push({
      name: "decoded_const",
      help: "A constant added live.",
      type: "gauge",
      metricValue: { value: 7 },
    });
    live.sim.upsert(mc);
    await converges(live, 20_000);
    live.sim.patch({ apiVersion: BS_API, kind: "BackupSession", namespace: "demo", name: "t-001" }, "merge", {
      status: { phase: "Failed" },
    });
    await converges(live, 20_000);
    expect(await scrape(live.metricsUrl)).toMatch(
      /core_kubestash_com_backupsession_decoded_const\{[^}]*backupsession="t-001"[^}]*\} 7\n/,
    );
  });

  it("recovers when a decode thread dies: counted, logged, watched again, nothing lost", async () => {
    const tel = await telemetry(live);
    const restartsBefore = sample(tel, "crd_state_metrics_decode_worker_restarts_total") ?? 0;
    const watchErrorsBefore = sample(tel, "crd_state_metrics_watch_restarts_total", { reason: "error" }) ?? 0;
    await pool().workerForTests(0).terminate();
    await eventually(
      async () =>
        (sample(await telemetry(live), "crd_state_metrics_decode_worker_restarts_total") ?? 0) >
        restartsBefore,
      10_000,
      "the restart to be counted",
    );
    expect(live.logs.matching(/decode worker stopped; replacing it/).length).toBeGreaterThan(0);
    for (let i = 1; i < 300; i += 3) {
      if (i % 5 === 0) continue; // deleted above
      live.sim.patch(
        {
          apiVersion: BS_API,
          kind: "BackupSession",
          namespace: "demo",
          name: `t-${String(i).padStart(3, "0")}`,
        },
        "merge",
        { status: { phase: "Failed", duration: "3m" } },
      );
    }
    await converges(live, 20_000);
    // The watches the thread was decoding ended with an error and were started again.
    expect(
      sample(await telemetry(live), "crd_state_metrics_watch_restarts_total", { reason: "error" }) ?? 0,
    ).toBeGreaterThan(watchErrorsBefore);
  });
});
