/* eslint-disable @typescript-eslint/no-explicit-any, @typescript-eslint/no-unsafe-return -- tests read rendered manifests as loose JSON, as kubectl prints them */
/**
 * deploy/kubernetes: every kustomization renders with the real `kubectl kustomize`, every rendered
 * built-in object validates against the Kubernetes schemas (kubernetes-models), ServiceMonitor and
 * PrometheusRule against Prometheus Operator's, every CRD with the apiextensions schema, and every
 * MetricsConfiguration against our CRD's own schema. Generated files must match their sources.
 */
import { describe, expect, it } from "@jest/globals";
import { spawnSync } from "node:child_process";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { parse, parseAllDocuments } from "yaml";
import { ROOT } from "./support/cli.js";
import { requireTool } from "./support/exposition-tools.js";
import { validateAgainstCrd, type CrdSchema } from "./deploy.support.js";

const hasKubectl = spawnSync("kubectl", ["version", "--client"], { encoding: "utf8" }).status === 0;
const enabled = requireTool(hasKubectl, "kubectl");

interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
  [key: string]: unknown;
}

const KUSTOMIZATIONS = [
  "deploy/crds",
  "deploy/kubernetes",
  "deploy/kubernetes/base",
  "deploy/kubernetes/overlays/kubestash",
  "deploy/kubernetes/overlays/stash",
  "deploy/kubernetes/overlays/prometheus-operator",
];

function render(dir: string): K8sObject[] {
  const r = spawnSync("kubectl", ["kustomize", dir], { cwd: ROOT, encoding: "utf8", timeout: 60_000 });
  if (r.status !== 0) throw new Error(`kubectl kustomize ${dir} failed: ${r.stderr}`);
  return parseAllDocuments(r.stdout).map((d) => d.toJS() as K8sObject);
}

/** The kubernetes-models class for a built-in or Prometheus Operator kind. */
async function modelFor(
  apiVersion: string,
  kind: string,
): Promise<(new (data: unknown) => { validate(): void }) | undefined> {
  const [group, version] = apiVersion.includes("/") ? apiVersion.split("/") : ["", apiVersion];
  const spec =
    group === "monitoring.coreos.com"
      ? `@kubernetes-models/prometheus-operator/${group}/${version!}/${kind}`
      : `kubernetes-models/${group === "" ? "" : `${group!}/`}${version!}/${kind}`;
  try {
    const mod = (await import(spec)) as Record<string, unknown>;
    return mod[kind] as new (data: unknown) => { validate(): void };
  } catch {
    return undefined;
  }
}

async function ourCrd(): Promise<CrdSchema> {
  const text = await readFile(
    join(ROOT, "deploy/crds/metricsconfigurations.metrics.appscode.com.yaml"),
    "utf8",
  );
  return parse(text) as CrdSchema;
}

const d = enabled ? describe : describe.skip;

d("kustomize renders and every object validates", () => {
  for (const dir of KUSTOMIZATIONS) {
    it(dir, async () => {
      const objects = render(dir);
      expect(objects.length).toBeGreaterThan(0);
      const crd = await ourCrd();
      const problems: string[] = [];
      const seen = new Set<string>();
      for (const o of objects) {
        const id = `${o.kind}/${o.metadata.namespace ?? ""}/${o.metadata.name}`;
        if (seen.has(id)) problems.push(`${id}: rendered twice`);
        seen.add(id);
        if (o.kind === "MetricsConfiguration") {
          if (o.metadata.namespace !== undefined) problems.push(`${id}: cluster-scoped but has a namespace`);
          problems.push(...validateAgainstCrd(crd, o).map((p) => `${id}: ${p}`));
          continue;
        }
        const Model = await modelFor(o.apiVersion, o.kind);
        if (Model === undefined) {
          problems.push(`${id}: no schema for ${o.apiVersion} ${o.kind}`);
          continue;
        }
        try {
          new Model(o).validate();
        } catch (err) {
          problems.push(`${id}: ${err instanceof Error ? err.message : String(err)}`);
        }
      }
      expect(problems).toEqual([]);
    });
  }

  it("the validators reject what a real API server rejects", async () => {
    const Deployment = await modelFor("apps/v1", "Deployment");
    const bad = {
      apiVersion: "apps/v1",
      kind: "Deployment",
      metadata: { name: "x" },
      spec: { replicas: "one" },
    };
    expect(() => {
      new Deployment!(bad).validate();
    }).toThrow(/replicas/);
    const crd = await ourCrd();
    const mc = {
      apiVersion: "metrics.appscode.com/v1alpha1",
      kind: "MetricsConfiguration",
      metadata: { name: "x" },
      spec: {
        targetRef: { apiVersion: "v1", kind: "Pod" },
        metrics: [
          { name: "bad-name", help: "h", type: "counter", labels: [{ key: "__x" }] },
          { name: "ok", help: "h", type: "gauge", states: { labelKey: "9x", values: [] } },
        ],
      },
    };
    expect(validateAgainstCrd(crd, mc)).toEqual([
      "spec.metrics[0]: a metric needs states or metricValue",
      "spec.metrics[0].name: a metric name may hold only letters, digits, _ and :",
      'spec.metrics[0].type: "counter" is not one of gauge',
      "spec.metrics[0].labels[0].key: a label name must match [a-zA-Z_][a-zA-Z0-9_]* and not start with __",
      "spec.metrics[1].states.labelKey: a label name must match [a-zA-Z_][a-zA-Z0-9_]* and not start with __",
    ]);
  });
});

d("the Deployment is hardened and consistent", () => {
  const objects = enabled ? render("deploy/kubernetes") : [];
  const find = (kind: string) => objects.find((o) => o.kind === kind) as any;

  it("runs as non-root with a read-only root filesystem, no capabilities and RuntimeDefault seccomp", () => {
    const pod = find("Deployment").spec.template.spec;
    expect(pod.securityContext).toMatchObject({
      runAsNonRoot: true,
      runAsUser: 65532,
      seccompProfile: { type: "RuntimeDefault" },
    });
    const [c] = pod.containers;
    expect(c.securityContext).toMatchObject({
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      runAsNonRoot: true,
      capabilities: { drop: ["ALL"] },
    });
    expect(c.args).toEqual(["serve", "--log-format=json"]);
    expect(c.image).toBe("ghcr.io/crd-state-metrics/crd-state-metrics:0.1.0");
    expect(c.livenessProbe.httpGet).toEqual({ path: "/livez", port: "metrics" });
    expect(c.readinessProbe.httpGet).toEqual({ path: "/readyz", port: "metrics" });
    expect(c.ports.map((p: any) => [p.name, p.containerPort])).toEqual([
      ["metrics", 8080],
      ["telemetry", 8081],
    ]);
  });

  it("sizes V8's heap at 75% of the memory limit", () => {
    const [c] = find("Deployment").spec.template.spec.containers;
    const limit = /^(\d+)Mi$/.exec(c.resources.limits.memory);
    const heap = /--max-old-space-size=(\d+)/.exec(c.env.find((e: any) => e.name === "NODE_OPTIONS").value);
    expect(limit).not.toBeNull();
    expect(heap).not.toBeNull();
    expect(Number(heap![1])).toBe(Number(limit![1]) * 0.75);
    expect(c.resources.requests.memory).toBeDefined();
  });

  it("the Service selects the pods and names both ports; the binding names the ServiceAccount", () => {
    const svc = find("Service");
    const labels = find("Deployment").spec.template.metadata.labels;
    for (const [k, v] of Object.entries(svc.spec.selector)) expect(labels[k]).toBe(v);
    expect(svc.spec.ports.map((p: any) => [p.name, p.port, p.targetPort])).toEqual([
      ["metrics", 8080, "metrics"],
      ["telemetry", 8081, "telemetry"],
    ]);
    const sa = find("ServiceAccount");
    const binding = find("ClusterRoleBinding");
    expect(binding.subjects).toEqual([
      { kind: "ServiceAccount", name: sa.metadata.name, namespace: sa.metadata.namespace },
    ]);
    expect(binding.roleRef.name).toBe(find("ClusterRole").metadata.name);
  });

  it("the ServiceMonitor honors labels on the metrics port and also scrapes telemetry", () => {
    const sm = render("deploy/kubernetes/overlays/prometheus-operator").find(
      (o) => o.kind === "ServiceMonitor",
    ) as any;
    expect(sm.spec.endpoints.map((e: any) => [e.port, e.honorLabels === true])).toEqual([
      ["metrics", true],
      ["telemetry", false],
    ]);
    const svc = find("Service");
    for (const [k, v] of Object.entries(sm.spec.selector.matchLabels)) expect(svc.metadata.labels[k]).toBe(v);
  });
});

describe("generated files", () => {
  it("deploy/generate.mjs --check finds nothing stale (ClusterRoles, packs, PrometheusRule)", () => {
    const r = spawnSync(process.execPath, [join(ROOT, "deploy/generate.mjs"), "--check"], {
      cwd: ROOT,
      encoding: "utf8",
    });
    expect(`${r.stdout}${r.stderr}`).toBe("");
    expect(r.status).toBe(0);
  });
});
