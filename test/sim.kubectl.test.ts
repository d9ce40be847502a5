import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import { execFile } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { startApiServer, type ApiServer } from "../src/sim/index.js";

const run = promisify(execFile);
let sim: ApiServer;
let dir: string;

interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

/** The real kubectl, pointed at the simulator with --server only (no kubeconfig at all). */
async function kubectl(...args: string[]): Promise<Result> {
  try {
    const { stdout, stderr } = await run("kubectl", ["--server", sim.url, ...args], {
      env: { ...process.env, KUBECONFIG: "/dev/null", HOME: dir },
    });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: e.code ?? 1, stdout: e.stdout ?? "", stderr: e.stderr ?? "" };
  }
}

async function ok(...args: string[]): Promise<string> {
  const r = await kubectl(...args);
  if (r.code !== 0) throw new Error(`kubectl ${args.join(" ")} failed (${r.code}): ${r.stderr}`);
  return r.stdout;
}

const configuration = `apiVersion: metrics.appscode.com/v1alpha1
kind: MetricsConfiguration
metadata:
  name: widgets-phase
spec:
  targetRef:
    apiVersion: core.kubestash.com/v1alpha1
    kind: BackupSession
  commonLabels:
    - key: invoker_name
      valuePath: .spec.invoker.name
  metrics:
    - name: phase
      help: Phase of the session
      type: gauge
      field:
        path: .status.phase
        type: String
      states:
        labelKey: phase
        values:
          - labelValue: Succeeded
            metricValue:
              valueFromExpression: "int(phase == 'Succeeded')"
      params:
        - key: phase
          valuePath: .status.phase
`;

const session = `apiVersion: v1
kind: Namespace
metadata:
  name: backups
---
apiVersion: core.kubestash.com/v1alpha1
kind: BackupSession
metadata:
  name: nightly-1
  namespace: backups
  labels:
    team: storage
spec:
  invoker:
    apiGroup: core.kubestash.com
    kind: BackupConfiguration
    name: nightly
  session: full
`;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "sim-kubectl-"));
  sim = await startApiServer({ port: 0 });
  await writeFile(join(dir, "mc.yaml"), configuration);
  await writeFile(join(dir, "session.yaml"), session);
});

afterAll(async () => {
  await sim.close();
  await rm(dir, { recursive: true, force: true });
});

describe("kubectl against the simulator", () => {
  it("applies CRDs from deploy/crds and serves their resources", async () => {
    expect(await ok("apply", "-f", "deploy/crds/metricsconfigurations.metrics.appscode.com.yaml")).toContain(
      "customresourcedefinition.apiextensions.k8s.io/metricsconfigurations.metrics.appscode.com created",
    );
    expect(await ok("apply", "-f", "deploy/crds/kubestash/")).toContain(
      "backupsessions.core.kubestash.com created",
    );
    expect(await ok("apply", "-f", "deploy/crds/stash/")).toContain(
      "backupsessions.stash.appscode.com created",
    );
    const resources = await ok("api-resources", "--api-group", "core.kubestash.com");
    expect(resources).toMatch(/backupsessions\s+bs\s+core\.kubestash\.com\/v1alpha1\s+true\s+BackupSession/);
  });

  it("applies, re-applies and reads a MetricsConfiguration and a custom object", async () => {
    expect(await ok("apply", "-f", join(dir, "mc.yaml"))).toContain(
      "metricsconfiguration.metrics.appscode.com/widgets-phase created",
    );
    expect(await ok("apply", "-f", join(dir, "mc.yaml"))).toContain("unchanged");
    expect(await ok("apply", "-f", join(dir, "session.yaml"))).toContain(
      "backupsession.core.kubestash.com/nightly-1 created",
    );
    const mc = JSON.parse(await ok("get", "metricsconfiguration", "widgets-phase", "-o", "json"));
    expect(mc.spec.targetRef.kind).toBe("BackupSession");
    expect(mc.metadata.annotations["kubectl.kubernetes.io/last-applied-configuration"]).toBeDefined();
    await writeFile(
      join(dir, "mc2.yaml"),
      configuration.replace("Phase of the session", "Phase of a backup session"),
    );
    expect(await ok("apply", "-f", join(dir, "mc2.yaml"))).toContain("configured");
    const after = JSON.parse(await ok("get", "mc", "widgets-phase", "-o", "json"));
    expect(after.spec.metrics[0].help).toBe("Phase of a backup session");
    expect(after.metadata.generation).toBe(2);
    const table = await ok("get", "backupsessions.core.kubestash.com", "-A");
    expect(table).toMatch(/NAMESPACE\s+NAME\s+PHASE\s+DURATION\s+AGE/);
    expect(table).toMatch(/backups\s+nightly-1/);
    expect(await ok("get", "bs", "-n", "backups", "-l", "team=storage", "-o", "name")).toBe(
      "backupsession.core.kubestash.com/nightly-1\n",
    );
  });

  it("patches with merge and JSON patches, including the status subresource", async () => {
    await ok(
      "patch",
      "bs",
      "nightly-1",
      "-n",
      "backups",
      "--type",
      "merge",
      "-p",
      '{"spec":{"session":"incremental"}}',
    );
    await ok(
      "patch",
      "bs",
      "nightly-1",
      "-n",
      "backups",
      "--type",
      "json",
      "-p",
      '[{"op":"add","path":"/metadata/labels/tier","value":"gold"}]',
    );
    await ok(
      "patch",
      "bs",
      "nightly-1",
      "-n",
      "backups",
      "--subresource",
      "status",
      "--type",
      "merge",
      "-p",
      '{"status":{"phase":"Succeeded"}}',
    );
    const obj = JSON.parse(await ok("get", "bs", "nightly-1", "-n", "backups", "-o", "json"));
    expect(obj.spec.session).toBe("incremental");
    expect(obj.metadata.labels).toEqual({ team: "storage", tier: "gold" });
    expect(obj.status.phase).toBe("Succeeded");
    expect(await ok("get", "bs", "-n", "backups")).toMatch(/nightly-1\s+Succeeded/);
    const bad = await kubectl(
      "patch",
      "bs",
      "nightly-1",
      "-n",
      "backups",
      "--type",
      "json",
      "-p",
      '[{"op":"test","path":"/spec/session","value":"x"}]',
    );
    expect(bad.code).not.toBe(0);
  });

  it("creates namespaces and configmaps the way kubectl's typed commands send them (protobuf)", async () => {
    await ok("create", "namespace", "typed");
    await ok("create", "configmap", "settings", "-n", "typed", "--from-literal=mode=fast");
    await ok("create", "secret", "generic", "token", "-n", "typed", "--from-literal=t=abc");
    const cm = JSON.parse(await ok("get", "cm", "settings", "-n", "typed", "-o", "json"));
    expect(cm.data).toEqual({ mode: "fast" });
    const secret = JSON.parse(await ok("get", "secret", "token", "-n", "typed", "-o", "json"));
    expect(secret.data).toEqual({ t: Buffer.from("abc").toString("base64") });
    expect(secret.type).toBe("Opaque");
    const missing = await kubectl("get", "cm", "nope", "-n", "typed");
    expect(missing.stderr).toContain('configmaps "nope" not found');
  });

  it("deletes a MetricsConfiguration, a custom object and a CRD", async () => {
    expect(await ok("delete", "mc", "widgets-phase")).toContain('"widgets-phase" deleted');
    expect(await ok("delete", "bs", "nightly-1", "-n", "backups")).toContain('"nightly-1" deleted');
    await ok("apply", "-f", join(dir, "session.yaml"));
    expect(await ok("delete", "crd", "backupsessions.core.kubestash.com")).toContain("deleted");
    const gone = await kubectl("get", "backupsessions.core.kubestash.com", "-A");
    expect(gone.code).not.toBe(0);
    expect(sim.list("v1", "Namespace").map((n) => (n.metadata as { name: string }).name)).toContain(
      "backups",
    );
  });
});
