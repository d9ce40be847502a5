import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { CONTENT_TYPE } from "../src/exposition/format.js";
import {
  ACCEPT_OPENMETRICS,
  converges,
  eventually,
  expectedExposition,
  get,
  KUBESTASH_SEEDS,
  readyz,
  ROOT,
  sample,
  scrape,
  startLive,
  telemetry,
  type Live,
} from "./support/live.js";
import { hasPromtool, promtoolCheck, requireTool } from "./support/exposition-tools.js";

/**
 * Initial sync against the embedded API server seeded like the demo: readiness, then /metrics
 * byte-identical to the offline render (and to the reviewed golden files) in both formats.
 */

let live: Live;
let readyAfterMs = 0;

beforeAll(async () => {
  const started = Date.now();
  live = await startLive({ sim: { seedPaths: KUBESTASH_SEEDS } });
  await eventually(async () => (await readyz(live.metricsUrl)) === 200, 15_000, "/readyz to be 200");
  readyAfterMs = Date.now() - started;
});

afterAll(async () => {
  await live.close();
});

describe("initial sync of the KubeStash estate", () => {
  it("becomes ready after listing every target", async () => {
    expect(readyAfterMs).toBeLessThan(15_000);
    const tel = await telemetry(live);
    for (const plural of ["backupconfigurations", "backupsessions", "restoresessions"])
      expect(
        sample(tel, "crd_state_metrics_resources_synced", {
          resource: `core.kubestash.com/v1alpha1/${plural}`,
        }),
      ).toBe(1);
    for (const plural of ["backupstorages", "repositories", "snapshots"])
      expect(
        sample(tel, "crd_state_metrics_resources_synced", {
          resource: `storage.kubestash.com/v1alpha1/${plural}`,
        }),
      ).toBe(1);
    expect(sample(tel, "crd_state_metrics_configurations", { state: "ready" })).toBe(6);
    process.stderr.write(`live.sync: ready ${readyAfterMs} ms after start\n`);
  });

  it("serves exactly the offline render in text and OpenMetrics", async () => {
    await converges(live, 5_000);
    const text = await get(`${live.metricsUrl}/metrics`);
    expect(text.headers["content-type"]).toBe(CONTENT_TYPE.text);
    expect(text.headers["content-encoding"]).toBeUndefined();
    expect(text.body).toBe(expectedExposition(live, "text"));
    const om = await get(`${live.metricsUrl}/metrics`, { accept: ACCEPT_OPENMETRICS });
    expect(om.headers["content-type"]).toBe(CONTENT_TYPE.openmetrics);
    expect(om.body).toBe(expectedExposition(live, "openmetrics"));
    expect(om.body.endsWith("# EOF\n")).toBe(true);
    process.stderr.write(`live.sync: text ${text.rawBytes} bytes, OpenMetrics ${om.rawBytes} bytes\n`);
  });

  it("gzips when asked, with the same bytes inside", async () => {
    for (const format of ["text", "openmetrics"] as const) {
      const r = await get(`${live.metricsUrl}/metrics`, {
        "accept-encoding": "gzip, deflate",
        ...(format === "openmetrics" ? { accept: ACCEPT_OPENMETRICS } : {}),
      });
      expect(r.status).toBe(200);
      expect(r.headers["content-encoding"]).toBe("gzip");
      expect(r.body).toBe(expectedExposition(live, format));
      expect(r.rawBytes).toBeLessThan(Buffer.byteLength(r.body) / 3);
    }
    const refused = await get(`${live.metricsUrl}/metrics`, { "accept-encoding": "gzip;q=0, identity" });
    expect(refused.headers["content-encoding"]).toBeUndefined();
  });

  it("equals the reviewed golden files: the API server keeps the examples' metadata", async () => {
    // The examples carry their own creationTimestamp; the embedded server keeps a given one, so
    // the live output must be the golden catalogue itself.
    expect(await scrape(live.metricsUrl, "text")).toBe(
      readFileSync(join(ROOT, "test", "golden", "kubestash.prom"), "utf8"),
    );
    expect(await scrape(live.metricsUrl, "openmetrics")).toBe(
      readFileSync(join(ROOT, "test", "golden", "kubestash.om.txt"), "utf8"),
    );
  });

  it("serves health endpoints and a landing page", async () => {
    for (const path of ["/healthz", "/livez", "/readyz"]) {
      const r = await get(`${live.metricsUrl}${path}`);
      expect([path, r.status, r.body]).toEqual([path, 200, "ok\n"]);
    }
    const landing = await get(`${live.metricsUrl}/`);
    expect(landing.status).toBe(200);
    expect(landing.body).toContain('href="/metrics"');
    expect(landing.body).toContain('href="/readyz"');
    const tel = await get(`${live.telemetryUrl}/healthz`);
    expect(tel.status).toBe(200);
  });

  it("serves self-metrics that promtool accepts, with the families of SPEC §10", async () => {
    await scrape(live.metricsUrl); // at least one scrape observed
    const tel = await telemetry(live);
    for (const family of [
      "crd_state_metrics_build_info",
      "crd_state_metrics_configurations",
      "crd_state_metrics_resources_synced",
      "crd_state_metrics_objects",
      "crd_state_metrics_series",
      "crd_state_metrics_list_total",
      "crd_state_metrics_watch_events_total",
      "crd_state_metrics_watch_restarts_total",
      "crd_state_metrics_evaluation_errors_total",
      "crd_state_metrics_duplicate_series_total",
      "crd_state_metrics_last_event_timestamp_seconds",
      "crd_state_metrics_scrape_duration_seconds",
      "process_cpu_seconds_total",
      "nodejs_heap_size_used_bytes",
    ])
      expect(tel).toContain(`# TYPE ${family} `);
    expect(sample(tel, "crd_state_metrics_build_info", { version: "0.0.0-test" })).toBe(1);
    expect(
      sample(tel, "crd_state_metrics_objects", { resource: "core.kubestash.com/v1alpha1/backupsessions" }),
    ).toBeGreaterThan(0);
    expect(
      sample(tel, "crd_state_metrics_series", { configuration: "kubestash-backupsession" }),
    ).toBeGreaterThan(0);
    expect(
      sample(tel, "crd_state_metrics_scrape_duration_seconds_count", { format: "text" }),
    ).toBeGreaterThan(0);
    // The MetricsConfiguration resource is listed too; `resource` is group/version/plural.
    expect(
      sample(tel, "crd_state_metrics_list_total", {
        resource: "metrics.appscode.com/v1alpha1/metricsconfigurations",
        result: "success",
      }),
    ).toBe(1);
    if (requireTool(hasPromtool, "promtool"))
      expect(promtoolCheck(tel)).toEqual(expect.objectContaining({ ok: true }));
  });

  it("logs JSON lines without object dumps", () => {
    expect(live.logs.lines.length).toBeGreaterThan(0);
    for (const line of live.logs.lines) {
      expect(typeof line.level).toBe("string");
      expect(typeof line.msg).toBe("string");
      const json = JSON.stringify(line);
      expect(json).not.toContain("managedFields");
      expect(json.length).toBeLessThan(2_000);
    }
    expect(live.logs.matching(/^initial list complete$/).length).toBeGreaterThanOrEqual(6);
  });
});
