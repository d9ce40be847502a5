import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import type { KubeObject } from "../src/sim/index.js";
import {
  converges,
  eventually,
  KUBESTASH_SEEDS,
  MC_API,
  MC_KIND,
  nameOf,
  readyz,
  sample,
  scrape,
  startLive,
  telemetry,
  type Live,
} from "./support/live.js";

/**
 * Objects and MetricsConfigurations changed through the embedded API server while the exporter
 * runs: /metrics must follow exactly, without relisting what the change does not concern.
 */

const BS_API = "core.kubestash.com/v1alpha1";
const BS = "core.kubestash.com/v1alpha1/backupsessions";
const REPO = "storage.kubestash.com/v1alpha1/repositories";
const ALL = [
  BS,
  "core.kubestash.com/v1alpha1/backupconfigurations",
  "core.kubestash.com/v1alpha1/restoresessions",
  REPO,
  "storage.kubestash.com/v1alpha1/snapshots",
  "storage.kubestash.com/v1alpha1/backupstorages",
];

let live: Live;

beforeAll(async () => {
  live = await startLive({ sim: { seedPaths: KUBESTASH_SEEDS } });
  await live.exporter.whenReady();
  await converges(live);
});

afterAll(async () => {
  await live.close();
});

async function listCounts(): Promise<Record<string, number>> {
  const tel = await telemetry(live);
  return Object.fromEntries(
    ALL.map((r) => [r, sample(tel, "crd_state_metrics_list_total", { resource: r, result: "success" }) ?? 0]),
  );
}

function backupSession(name: string, phase: string, extra: Record<string, unknown> = {}): KubeObject {
  return {
    apiVersion: BS_API,
    kind: "BackupSession",
    metadata: { name, namespace: "demo", creationTimestamp: "2024-06-01T00:00:00Z" },
    spec: {
      invoker: { apiGroup: "core.kubestash.com", kind: "BackupConfiguration", name: "sample-backup-sts" },
      session: "daily",
    },
    status: { phase, duration: "1m30.5s", ...extra },
  };
}

function mcStatus(name: string): {
  conditions?: { type: string; status: string; reason: string; message: string }[];
  seriesCount?: number;
  lastErrors?: string[];
} {
  const obj = live.sim.get({ apiVersion: MC_API, kind: MC_KIND, name });
  return (obj?.status ?? {}) as ReturnType<typeof mcStatus>;
}

function condition(name: string, type: string): string | undefined {
  const c = mcStatus(name).conditions?.find((x) => x.type === type);
  return c ? `${c.status}/${c.reason}` : undefined;
}

describe("objects added, updated and deleted", () => {
  it("follows an add, then an update, then a delete — exactly", async () => {
    const before = await listCounts();
    live.sim.create(backupSession("live-1", "Running"));
    await converges(live);
    expect(await scrape(live.metricsUrl)).toContain('backupsession="live-1"');

    live.sim.patch(
      { apiVersion: BS_API, kind: "BackupSession", namespace: "demo", name: "live-1" },
      "merge",
      {
        status: {
          phase: "Succeeded",
          duration: "2m",
          snapshots: [{ name: "s1", phase: "Succeeded", repository: "r" }],
        },
      },
    );
    await converges(live);
    const text = await scrape(live.metricsUrl);
    expect(text).toMatch(
      /core_kubestash_com_backupsession_duration_seconds\{[^}]*backupsession="live-1"[^}]*\} 120\n/,
    );
    expect(text).toMatch(
      /core_kubestash_com_backupsession_phase\{[^}]*backupsession="live-1"[^}]*phase="Succeeded"\} 1\n/,
    );

    live.sim.delete({ apiVersion: BS_API, kind: "BackupSession", namespace: "demo", name: "live-1" });
    await converges(live);
    expect(await scrape(live.metricsUrl)).not.toContain('backupsession="live-1"');
    // Everything came through the watch: nothing was relisted.
    expect(await listCounts()).toEqual(before);
  });

  it("converges after a burst of changes across kinds in any order", async () => {
    for (let i = 0; i < 40; i++)
      live.sim.create(backupSession(`burst-${String(i).padStart(2, "0")}`, i % 2 ? "Failed" : "Pending"));
    for (let i = 0; i < 40; i += 3)
      live.sim.delete({
        apiVersion: BS_API,
        kind: "BackupSession",
        namespace: "demo",
        name: `burst-${String(i).padStart(2, "0")}`,
      });
    for (const repo of live.sim.list("storage.kubestash.com/v1alpha1", "Repository"))
      live.sim.patch(
        {
          apiVersion: "storage.kubestash.com/v1alpha1",
          kind: "Repository",
          ...nameOf(repo),
        },
        "merge",
        { status: { size: "3.5 GiB", snapshotCount: 42 } },
      );
    await converges(live);
    expect(await scrape(live.metricsUrl)).toMatch(
      /storage_kubestash_com_repository_snapshot_count_total\{[^}]*\} 42\n/,
    );
  });
});

describe("configurations added, changed and deleted", () => {
  it("a changed configuration relists its own target only", async () => {
    const before = await listCounts();
    const mc = live.sim.get({ apiVersion: MC_API, kind: MC_KIND, name: "kubestash-repository" });
    if (!mc) throw new Error("seeded configuration missing");
    const spec = mc.spec as { metrics: { name: string; help: string }[] };
    spec.metrics = spec.metrics.map((m) =>
      m.name === "info" ? { ...m, help: "Changed help for the live test." } : m,
    );
    spec.metrics.push({
      name: "extra_one",
      help: "A constant added live.",
      type: "gauge",
      metricValue: { value: 1 },
    } as never);
    // upsert: replace without a resourceVersion precondition.
    live.sim.upsert(mc);
    await converges(live);
    const text = await scrape(live.metricsUrl);
    expect(text).toContain("# HELP storage_kubestash_com_repository_info Changed help for the live test.\n");
    expect(text).toContain("# TYPE storage_kubestash_com_repository_extra_one gauge\n");
    const after = await listCounts();
    for (const r of ALL) {
      if (r === REPO) expect(after[r]).toBeGreaterThanOrEqual((before[r] ?? 0) + 1);
      else expect([r, after[r]]).toEqual([r, before[r]]);
    }
  });

  it("an added configuration for a new target starts one watch; deleting it removes its families", async () => {
    const before = await listCounts();
    live.sim.create({
      apiVersion: MC_API,
      kind: MC_KIND,
      metadata: { name: "live-namespaces" },
      spec: {
        targetRef: { apiVersion: "v1", kind: "Namespace" },
        metrics: [
          {
            name: "phase_info",
            help: "Namespace phase.",
            type: "gauge",
            labels: [{ key: "phase", valuePath: ".status.phase" }],
            metricValue: { value: 1 },
          },
        ],
      },
    });
    await converges(live);
    let text = await scrape(live.metricsUrl);
    // Cluster-scoped: no namespace label, the kind label is `namespace` itself.
    expect(text).toMatch(/^core_namespace_phase_info\{namespace="demo",phase="Active"\} 1$/m);
    expect(await listCounts()).toEqual(before);
    const tel = await telemetry(live);
    expect(sample(tel, "crd_state_metrics_resources_synced", { resource: "core/v1/namespaces" })).toBe(1);
    await eventually(
      () => condition("live-namespaces", "Ready") === "True/Serving",
      10_000,
      "Ready condition",
      () => JSON.stringify(mcStatus("live-namespaces")),
    );
    expect(mcStatus("live-namespaces").seriesCount).toBeGreaterThan(0);

    live.sim.delete({ apiVersion: MC_API, kind: MC_KIND, name: "live-namespaces" });
    await converges(live);
    text = await scrape(live.metricsUrl);
    expect(text).not.toContain("core_namespace_phase_info");
    expect(await listCounts()).toEqual(before);
  });

  it("reports Invalid for a bad metric and TargetNotFound for a missing target, in status", async () => {
    live.sim.create({
      apiVersion: MC_API,
      kind: MC_KIND,
      metadata: { name: "live-partly-invalid" },
      spec: {
        targetRef: { apiVersion: BS_API, kind: "BackupSession" },
        metrics: [
          { name: "bad name!", help: "Invalid name.", type: "gauge", metricValue: { value: 1 } },
          { name: "live_count", help: "One per BackupSession.", type: "gauge", metricValue: { value: 1 } },
        ],
      },
    });
    live.sim.create({
      apiVersion: MC_API,
      kind: MC_KIND,
      metadata: { name: "live-missing-target" },
      spec: {
        targetRef: { apiVersion: "nothere.example.com/v1", kind: "Gadget" },
        metrics: [{ name: "info", help: "Never served.", type: "gauge", metricValue: { value: 1 } }],
      },
    });
    await converges(live);
    expect(await scrape(live.metricsUrl)).toContain(
      "# TYPE core_kubestash_com_backupsession_live_count gauge",
    );
    await eventually(
      () =>
        condition("live-partly-invalid", "Invalid") === "True/InvalidMetrics" &&
        condition("live-partly-invalid", "Ready") === "True/Serving" &&
        condition("live-missing-target", "TargetNotFound") === "True/ResourceNotServed" &&
        condition("live-missing-target", "Ready") === "False/TargetNotFound",
      10_000,
      "status conditions",
      () => JSON.stringify([mcStatus("live-partly-invalid"), mcStatus("live-missing-target")]),
    );
    const invalid = mcStatus("live-partly-invalid").conditions?.find((c) => c.type === "Invalid");
    expect(invalid?.message).toContain("bad name!");
    // A target that is not served does not hold readiness back: nothing could ever satisfy it.
    expect(await readyz(live.metricsUrl)).toBe(200);
    const tel = await telemetry(live);
    expect(sample(tel, "crd_state_metrics_configurations", { state: "invalid" })).toBe(1);
    expect(sample(tel, "crd_state_metrics_configurations", { state: "target_not_found" })).toBe(1);

    // Fix the invalid metric: the condition clears and the metric appears.
    live.sim.patch({ apiVersion: MC_API, kind: MC_KIND, name: "live-partly-invalid" }, "json", [
      { op: "replace", path: "/spec/metrics/0/name", value: "good_name" },
    ]);
    await converges(live);
    expect(await scrape(live.metricsUrl)).toContain(
      "# TYPE core_kubestash_com_backupsession_good_name gauge",
    );
    await eventually(
      () => condition("live-partly-invalid", "Invalid") === "False/Valid",
      10_000,
      "Invalid cleared",
    );
    for (const name of ["live-partly-invalid", "live-missing-target"])
      live.sim.delete({ apiVersion: MC_API, kind: MC_KIND, name });
    await converges(live);
  });

  it("reports evaluation errors in status and self-metrics", async () => {
    live.sim.create({
      apiVersion: MC_API,
      kind: MC_KIND,
      metadata: { name: "live-eval-errors" },
      spec: {
        targetRef: { apiVersion: BS_API, kind: "BackupSession" },
        metrics: [
          {
            name: "phase_as_number",
            help: "Fails for every object: a phase is not a number.",
            type: "gauge",
            metricValue: { valueFromPath: ".status.phase" },
          },
        ],
      },
    });
    await converges(live);
    await eventually(
      () => (mcStatus("live-eval-errors").lastErrors ?? []).some((e) => e.includes("phase_as_number")),
      10_000,
      "lastErrors in status",
      () => JSON.stringify(mcStatus("live-eval-errors")),
    );
    const tel = await telemetry(live);
    expect(
      sample(tel, "crd_state_metrics_evaluation_errors_total", {
        configuration: "live-eval-errors",
        metric: "phase_as_number",
      }),
    ).toBeGreaterThan(0);
    // One log line per kind of failure (reason), not one per object.
    const lines = live.logs.lines.filter(
      (l) => l.configuration === "live-eval-errors" && l.metric === "phase_as_number",
    );
    const reasons = lines.map((l) => String(l.reason));
    expect(reasons.length).toBeGreaterThan(0);
    expect(new Set(reasons).size).toBe(reasons.length);
    const errors =
      sample(tel, "crd_state_metrics_evaluation_errors_total", { configuration: "live-eval-errors" }) ?? 0;
    expect(errors).toBeGreaterThan(reasons.length);
    live.sim.delete({ apiVersion: MC_API, kind: MC_KIND, name: "live-eval-errors" });
    await converges(live);
  });
});
