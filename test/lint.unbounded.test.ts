import { describe, expect, it } from "@jest/globals";
import { existsSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { cli, ROOT } from "./support/cli.js";
import { compile } from "./support/configs.js";

/** `lint` (and status) warn about labels taken from unbounded fields; never an error. */

function unboundedWarnings(valuePath: string, where: "labels" | "commonLabels" = "labels") {
  const label = { key: "l", valuePath };
  const metric = { name: "m", help: "h", type: "gauge", metricValue: { value: 1 } };
  const c =
    where === "labels"
      ? compile([{ ...metric, labels: [label] }])
      : compile([metric], { commonLabels: [label] });
  expect(c.metrics).toHaveLength(1);
  return c.diagnostics.filter((d) => d.message.includes("unbounded field"));
}

describe("labels from unbounded fields", () => {
  it.each([
    [".metadata.uid", "an identifier or version"],
    [".metadata.resourceVersion", "an identifier or version"],
    [".metadata.generation", "an identifier or version"],
    [".status.observedGeneration", "an identifier or version"],
    [".metadata.creationTimestamp", "a timestamp"],
    [".status.lastBackupTime", "a timestamp"],
    [".status.conditions[*].lastTransitionTime", "a timestamp"],
    [".status.message", "free text"],
    [".status.conditions[0].reason", "free text"],
    ["{.status.size}", "a size, duration or count"],
    [".status.duration", "a size, duration or count"],
    [".status.snapshotCount", "a size, duration or count"],
    ["..totalSize", "a size, duration or count"],
  ])("warns for %s (%s)", (path, what) => {
    const [w, ...rest] = unboundedWarnings(path);
    expect(rest).toEqual([]);
    expect(w).toMatchObject({
      severity: "warning",
      metric: "m",
      field: "spec.metrics[0].labels[0].valuePath",
    });
    expect(w?.message).toBe(
      `label "l" takes its value from an unbounded field (${JSON.stringify(path)} is ${what}); every change creates a new series`,
    );
  });

  it("warns once for commonLabels, at spec level", () => {
    const ws = unboundedWarnings(".metadata.uid", "commonLabels");
    expect(ws.map((d) => [d.field, d.metric])).toEqual([["spec.commonLabels[0].valuePath", undefined]]);
  });

  it.each([
    ".status.phase",
    ".status.integrity",
    ".metadata.name",
    ".spec.target.namespace",
    ".status.conditions[*].type",
    ".status.conditions[*].status",
    ".spec.sessions[*].scheduler.schedule",
    ".spec.storage.provider",
    ".spec.path",
    ".metadata.labels['app.kubernetes.io/name']",
  ])("stays quiet for %s", (path) => {
    expect(unboundedWarnings(path)).toEqual([]);
  });

  it("does not warn about params or constant labels", () => {
    const c = compile([
      {
        name: "m",
        help: "h",
        type: "gauge",
        labels: [{ key: "uid", value: "x" }],
        params: [{ key: "t", valuePath: ".metadata.creationTimestamp" }],
        metricValue: { valueFromExpression: "unix(t)" },
      },
    ]);
    expect(c.diagnostics).toEqual([]);
  });
});

describe("lint", () => {
  it("prints the warning with its location and exits 0", () => {
    const dir = mkdtempSync(join(tmpdir(), "csm-unbounded-"));
    const file = join(dir, "c.yaml");
    writeFileSync(
      file,
      `apiVersion: metrics.appscode.com/v1alpha1
kind: MetricsConfiguration
metadata: {name: uids}
spec:
  targetRef: {apiVersion: example.com/v1, kind: Widget}
  metrics:
    - name: info
      help: h
      type: gauge
      labels: [{key: uid, valuePath: .metadata.uid}]
      metricValue: {value: 1}
`,
    );
    const r = cli(["lint", "-c", file]);
    expect(r.status).toBe(0);
    expect(r.stdout).toContain(
      `warning: ${file}: configuration "uids": metric "info": spec.metrics[0].labels[0].valuePath: label "uid" takes its value from an unbounded field`,
    );
  });

  it("finds no unbounded labels in the shipped packs, examples and the upstream KubeStash/Stash configurations", () => {
    const upstream = join(ROOT, "..", "shared", "reference", "upstream");
    const dirs = [
      join(ROOT, "metricsconfigurations"),
      ...["kubestash", "stash"].map((d) => join(upstream, d)).filter((d) => existsSync(d)),
    ];
    for (const dir of dirs) {
      const r = cli(["lint", "-c", dir]);
      expect(`${dir}\n${r.stdout}`).not.toContain("unbounded");
      expect(r.status).toBe(0);
    }
  });
});
