import { describe, expect, it } from "@jest/globals";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { loadConfigurations } from "../src/config/load.js";
import { loadManifests } from "../src/config/manifests.js";
import type { ExpositionFormat } from "../src/exposition/format.js";
import { renderOffline } from "../src/store/offline.js";
import {
  hasOpenMetricsParser,
  hasPromtool,
  openMetricsParse,
  promtoolCheck,
  requireTool,
} from "./support/exposition-tools.js";

/**
 * Golden files: the full catalogue rendered from our configurations and examples. They are
 * produced by the code (UPDATE_GOLDEN=1) and reviewed by a person before being committed.
 */

const ROOT = join(import.meta.dirname, "..");
const UPSTREAM = join(ROOT, "..", "shared", "reference", "upstream");
const GOLDEN = join(ROOT, "test", "golden");

async function render(configDirs: string[], format: ExpositionFormat): Promise<string> {
  const { configurations } = await loadConfigurations(configDirs);
  const objects = await loadManifests([join(ROOT, "examples", "kubestash")]);
  return renderOffline(
    configurations,
    objects.map((m) => ({ value: m.value })),
    format,
  );
}

function seriesOnly(text: string): string[] {
  return text.split("\n").filter((l) => l !== "" && !l.startsWith("#"));
}

describe.each([
  ["text", "kubestash.prom"],
  ["openmetrics", "kubestash.om.txt"],
] as const)("golden %s exposition of the KubeStash examples", (format, file) => {
  it("matches the reviewed golden file byte for byte", async () => {
    const out = await render([join(ROOT, "metricsconfigurations", "kubestash")], format);
    const path = join(GOLDEN, file);
    if (process.env.UPDATE_GOLDEN) writeFileSync(path, out);
    expect(out).toBe(readFileSync(path, "utf8"));
  });

  it("parses under the real tools", async () => {
    const out = await render([join(ROOT, "metricsconfigurations", "kubestash")], format);
    if (format === "text" && requireTool(hasPromtool, "promtool")) {
      const r = promtoolCheck(out);
      expect(r).toEqual(expect.objectContaining({ ok: true }));
    }
    if (format === "openmetrics" && requireTool(hasOpenMetricsParser, "python3-prometheus-client")) {
      const r = openMetricsParse(out);
      expect(r.output).not.toMatch(/Traceback|Error/);
      expect(r.samples).toBe(seriesOnly(out).length);
    }
  });
});

describe("upstream configurations", () => {
  const present = existsSync(join(UPSTREAM, "kubestash"));
  (present ? it : it.skip)("KubeStash upstream configurations give exactly our series", async () => {
    const ours = seriesOnly(await render([join(ROOT, "metricsconfigurations", "kubestash")], "text"));
    const theirs = seriesOnly(await render([join(UPSTREAM, "kubestash")], "text"));
    expect(theirs.length).toBeGreaterThan(200);
    expect(theirs).toEqual(ours);
  });

  (present ? it : it.skip)(
    "KubeStash and Stash upstream configurations load with no error or warning",
    async () => {
      const loaded = await loadConfigurations([join(UPSTREAM, "kubestash"), join(UPSTREAM, "stash")]);
      expect(loaded.configurations).toHaveLength(10);
      expect(loaded.configurations.flatMap((c) => c.diagnostics)).toEqual([]);
      const ours = await loadConfigurations([join(ROOT, "metricsconfigurations")]);
      // Same families, metric by metric.
      const families = (cs: typeof ours.configurations): string[] =>
        cs.flatMap((c) => c.metrics.map((m) => m.family)).sort();
      expect(families(ours.configurations)).toEqual(families(loaded.configurations));
    },
  );

  (present ? it : it.skip)("Stash upstream configurations give exactly our series", async () => {
    const objects = [
      {
        apiVersion: "stash.appscode.com/v1beta1",
        kind: "BackupConfiguration",
        metadata: { name: "db-backup", namespace: "demo", creationTimestamp: "2024-01-01T00:00:00Z" },
        spec: {
          driver: "Restic",
          repository: { name: "gcs-repo" },
          schedule: "*/5 * * * *",
          target: { ref: { apiVersion: "apps/v1", kind: "StatefulSet", name: "db" } },
        },
        status: { conditions: [{ type: "CronJobCreated", status: "True" }] },
      },
      {
        apiVersion: "stash.appscode.com/v1beta1",
        kind: "BackupSession",
        metadata: { name: "db-backup-1", namespace: "demo", creationTimestamp: "2024-01-01T00:05:00Z" },
        spec: { invoker: { apiGroup: "stash.appscode.com", kind: "BackupConfiguration", name: "db-backup" } },
        status: { phase: "Succeeded" },
      },
      {
        apiVersion: "stash.appscode.com/v1alpha1",
        kind: "Repository",
        metadata: { name: "gcs-repo", namespace: "demo", creationTimestamp: "2023-12-01T00:00:00Z" },
      },
      {
        apiVersion: "stash.appscode.com/v1beta1",
        kind: "RestoreSession",
        metadata: { name: "db-restore", namespace: "demo", creationTimestamp: "2024-01-02T00:00:00Z" },
        spec: {
          driver: "Restic",
          repository: { name: "gcs-repo" },
          target: { ref: { apiVersion: "apps/v1", kind: "StatefulSet", name: "db" } },
        },
        status: { phase: "Running" },
      },
    ].map((value) => ({ value }));
    const ours = (await loadConfigurations([join(ROOT, "metricsconfigurations", "stash")])).configurations;
    const theirs = (await loadConfigurations([join(UPSTREAM, "stash")])).configurations;
    const a = seriesOnly(renderOffline(ours, objects, "text"));
    const b = seriesOnly(renderOffline(theirs, objects, "text"));
    expect(a).toHaveLength(8);
    expect(b).toEqual(a);
  });
});
