import { afterAll, beforeAll, beforeEach, describe, expect, it } from "@jest/globals";
import type { KubeObject } from "../src/sim/index.js";
import {
  converges,
  eventually,
  KUBESTASH_SEEDS,
  readyz,
  sample,
  scrape,
  startLive,
  telemetry,
  type Live,
} from "./support/live.js";

/**
 * The API server misbehaves while objects change: dropped watches, 410 Gone, streams that go
 * silent, 500 and 429 answers. Once the fault is over, /metrics must equal the offline render of
 * the API server's objects within 5 s (hung streams: within the watchdog period plus 5 s), and
 * the self-metrics must account for the restarts.
 */

const BS_API = "core.kubestash.com/v1alpha1";
const BS = "core.kubestash.com/v1alpha1/backupsessions";
/** FAST_TUNING's watchdog (3 s) — a hung stream is only noticed by it. */
const WATCHDOG_MS = 3_000;
const CONVERGE_MS = 5_000;

let live: Live;
let serial = 0;

beforeAll(async () => {
  live = await startLive({ sim: { seedPaths: KUBESTASH_SEEDS, bookmarkIntervalMs: 60_000 } });
  await live.exporter.whenReady();
  await converges(live);
});

afterAll(async () => {
  await live.close();
});

beforeEach(() => {
  live.sim.faults.reset();
});

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

/** Add, change and remove BackupSessions so that a missed event shows in the output. */
function churn(): void {
  const n = ++serial;
  live.sim.create(session(`fault-${n}-a`, "Running"));
  live.sim.create(session(`fault-${n}-b`, "Pending"));
  live.sim.patch(
    { apiVersion: BS_API, kind: "BackupSession", namespace: "demo", name: `fault-${n}-a` },
    "merge",
    {
      status: { phase: "Succeeded", duration: `${n}m` },
    },
  );
  if (n > 1)
    live.sim.delete({
      apiVersion: BS_API,
      kind: "BackupSession",
      namespace: "demo",
      name: `fault-${n - 1}-b`,
    });
}

/** Watch restarts of `resource` for `reason` ("" for every reason). */
async function restarts(reason: string, resource = BS): Promise<number> {
  return (
    sample(await telemetry(live), "crd_state_metrics_watch_restarts_total", {
      resource,
      ...(reason === "" ? {} : { reason }),
    }) ?? 0
  );
}

async function lists(result: string, resource = BS): Promise<number> {
  return sample(await telemetry(live), "crd_state_metrics_list_total", { resource, result }) ?? 0;
}

/**
 * Scrape continuously until `stop()`; report the series of untouched objects that were missing
 * from any scrape (a relist must replace state without a moment of missing series).
 */
function gapWatcher(): { stop(): Promise<string[]> } {
  let running = true;
  const missing = new Set<string>();
  const loop = (async () => {
    const baseline = (await scrape(live.metricsUrl))
      .split("\n")
      .filter((l) => l !== "" && !l.includes("fault-"));
    while (running) {
      const lines = new Set((await scrape(live.metricsUrl)).split("\n"));
      for (const l of baseline) if (!lines.has(l)) missing.add(l);
    }
  })();
  return {
    stop: async () => {
      running = false;
      await loop;
      return [...missing];
    },
  };
}

async function watching(): Promise<void> {
  // Every reflector (6 targets, configurations, CRDs) has an open watch again.
  await eventually(
    () => live.sim.openWatches >= 8,
    10_000,
    "watches re-established",
    () => `open: ${live.sim.openWatches}`,
  );
}

describe("recovery from API server faults", () => {
  it("dropped watches: resumes from the last resourceVersion and converges", async () => {
    await watching();
    const before = await restarts("error");
    const listed = await lists("success");
    expect(live.sim.faults.dropWatches({ resource: "backupsessions" })).toBeGreaterThan(0);
    churn();
    const ms = await converges(live, CONVERGE_MS);
    // A socket destroyed mid-stream is a transport error to the client, not a clean end.
    expect(await restarts("error")).toBeGreaterThan(before);
    // A dropped watch resumes; it does not relist.
    expect(await lists("success")).toBe(listed);
    process.stderr.write(`live.faults: dropped watch converged in ${ms} ms\n`);
  });

  it("410 Gone on the watch: relists and converges without losing series on the way", async () => {
    await watching();
    const gone = await restarts("gone");
    const listed = await lists("success");
    const gaps = gapWatcher();
    live.sim.faults.slowLists({ resource: "backupsessions", delayMs: 300 });
    live.sim.faults.compact();
    live.sim.faults.failNext({ resource: "backupsessions", verb: "watch", status: 410, count: 1 });
    live.sim.faults.dropWatches({ resource: "backupsessions" });
    churn();
    await converges(live, CONVERGE_MS);
    expect(await gaps.stop()).toEqual([]);
    expect(await restarts("gone")).toBeGreaterThan(gone);
    expect(await lists("success")).toBeGreaterThan(listed);
  });

  it("hung streams: the watchdog notices, the watch restarts and converges", async () => {
    await watching();
    const watchdog = await restarts("watchdog");
    expect(live.sim.faults.hangWatches({ resource: "backupsessions" })).toBeGreaterThan(0);
    churn(); // not delivered on the silent stream
    await converges(live, WATCHDOG_MS + CONVERGE_MS);
    expect(await restarts("watchdog")).toBeGreaterThan(watchdog);
  });

  it("a new watch that hangs right away is also caught", async () => {
    await watching();
    const watchdog = await restarts("watchdog");
    live.sim.faults.hangNextWatches({ resource: "backupsessions", count: 1 });
    live.sim.faults.dropWatches({ resource: "backupsessions" });
    churn();
    await converges(live, WATCHDOG_MS + CONVERGE_MS);
    expect(await restarts("watchdog")).toBeGreaterThan(watchdog);
  });

  it("500 on lists and watches: backs off, retries, converges once the errors stop", async () => {
    await watching();
    const errors = await restarts("error");
    const listErrors = await lists("error");
    live.sim.faults.failNext({ resource: "backupsessions", verb: "list", status: 500, count: 3 });
    live.sim.faults.failNext({ resource: "backupsessions", verb: "watch", status: 500, count: 1 });
    live.sim.faults.dropWatches({ resource: "backupsessions" });
    churn();
    live.sim.faults.compact(); // resuming from before the churn now gets 410: a relist is needed
    await converges(live, CONVERGE_MS);
    expect((await restarts("error")) + (await restarts("gone"))).toBeGreaterThan(errors);
    expect(await lists("error")).toBeGreaterThanOrEqual(listErrors + 3);
    // Readiness is about the first list only: a relist after a fault does not flap it.
    expect(await readyz(live.metricsUrl)).toBe(200);
    expect(live.logs.matching(/failed; retrying$/).length).toBeGreaterThan(0);
  });

  it("429 with Retry-After: counted as throttled, converges", async () => {
    await watching();
    const throttled = await restarts("throttled");
    live.sim.faults.failNext({
      resource: "backupsessions",
      verb: "watch",
      status: 429,
      count: 2,
      retryAfterSeconds: 1,
    });
    live.sim.faults.dropWatches({ resource: "backupsessions" });
    churn();
    await converges(live, CONVERGE_MS);
    expect(await restarts("throttled")).toBeGreaterThan(throttled);
  });

  it("an API server restart with a new resourceVersion base: every resource converges", async () => {
    await watching();
    live.sim.faults.restart();
    churn();
    live.sim.patch(
      {
        apiVersion: "storage.kubestash.com/v1alpha1",
        kind: "Repository",
        namespace: "demo",
        name: "gcs-demo-repo",
      },
      "merge",
      { status: { snapshotCount: 99 } },
    );
    await converges(live, CONVERGE_MS);
  });

  it("all of it at once, across every resource", async () => {
    await watching();
    live.sim.faults.failNext({ verb: "watch", status: 500, count: 4 });
    live.sim.faults.failNext({ verb: "list", status: 429, count: 2 });
    live.sim.faults.hangNextWatches({ count: 2 });
    live.sim.faults.dropWatches();
    churn();
    live.sim.faults.compact();
    live.sim.faults.dropWatches();
    churn();
    await converges(live, WATCHDOG_MS + CONVERGE_MS);
    await watching();
  });
});
