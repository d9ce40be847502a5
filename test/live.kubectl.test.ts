import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import { execFile, spawnSync } from "node:child_process";
import { promisify } from "node:util";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { converges, KUBESTASH_SEEDS, ROOT, scrape, startLive, type Live } from "./support/live.js";
import { requireTool } from "./support/exposition-tools.js";

/**
 * The real kubectl applies, patches and deletes configurations and objects on the embedded API
 * server while the exporter runs; /metrics follows.
 */

const hasKubectl = spawnSync("kubectl", ["version", "--client"], { encoding: "utf8" }).status === 0;
const enabled = requireTool(hasKubectl, "kubectl");
const run = promisify(execFile);

let live: Live;
let dir: string;
let kubeconfig: string;

/** Asynchronous on purpose: the API server runs in this process and must keep answering. */
async function kubectl(...args: string[]): Promise<string> {
  try {
    const { stdout } = await run("kubectl", ["--kubeconfig", kubeconfig, ...args], { timeout: 30_000 });
    return stdout;
  } catch (err) {
    const e = err as { code?: unknown; stderr?: unknown };
    throw new Error(`kubectl ${args.join(" ")}: exit ${String(e.code)}\n${String(e.stderr)}`);
  }
}

function manifest(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

(enabled ? describe : describe.skip)("kubectl against the exporter's API server", () => {
  beforeAll(async () => {
    // The KubeStash CRDs and examples, but no configurations yet: kubectl brings them.
    live = await startLive({
      sim: {
        seedPaths: KUBESTASH_SEEDS.filter((p) => !p.endsWith(join("metricsconfigurations", "kubestash"))),
      },
    });
    dir = mkdtempSync(join(tmpdir(), "csm-kubectl-"));
    kubeconfig = manifest("kubeconfig", live.sim.kubeconfig());
    await live.exporter.whenReady();
  });

  afterAll(async () => {
    await live.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("apply -f of the shipped configurations makes the catalogue appear", async () => {
    expect(await scrape(live.metricsUrl)).toBe("");
    await kubectl("apply", "-f", join(ROOT, "metricsconfigurations", "kubestash"));
    await converges(live, 15_000);
    const text = await scrape(live.metricsUrl);
    expect(text).toContain("core_kubestash_com_backupsession_phase{");
    expect(text).toContain("storage_kubestash_com_repository_snapshot_count_total{");
    expect((await kubectl("get", "metricsconfigurations", "-o", "name")).trim().split("\n")).toHaveLength(6);
  });

  it("apply, patch --type merge and delete of objects", async () => {
    await kubectl(
      "apply",
      "-f",
      manifest(
        "bs.yaml",
        [
          "apiVersion: core.kubestash.com/v1alpha1",
          "kind: BackupSession",
          "metadata: {name: kubectl-session, namespace: demo}",
          "spec:",
          "  invoker: {apiGroup: core.kubestash.com, kind: BackupConfiguration, name: sample-backup-sts}",
          "  session: hourly",
          "",
        ].join("\n"),
      ),
    );
    await converges(live);
    expect(await scrape(live.metricsUrl)).toMatch(
      /core_kubestash_com_backupsession_info\{[^}]*backupsession="kubectl-session"[^}]*session="hourly"\} 1/,
    );
    // The KubeStash CRDs have a status subresource: status is patched through it, as controllers do.
    await kubectl(
      "patch",
      "backupsessions.core.kubestash.com",
      "kubectl-session",
      "-n",
      "demo",
      "--type",
      "merge",
      "--subresource=status",
      "-p",
      '{"status":{"phase":"Failed","duration":"1h2m"}}',
    );
    await converges(live);
    expect(await scrape(live.metricsUrl)).toMatch(
      /core_kubestash_com_backupsession_duration_seconds\{[^}]*backupsession="kubectl-session"[^}]*\} 3720\n/,
    );
    await kubectl("delete", "backupsessions.core.kubestash.com", "kubectl-session", "-n", "demo");
    await converges(live);
    expect(await scrape(live.metricsUrl)).not.toContain("kubectl-session");
  });

  it("patch --type merge and delete of a configuration", async () => {
    await kubectl(
      "patch",
      "metricsconfiguration",
      "kubestash-repository",
      "--type",
      "merge",
      "-p",
      JSON.stringify({
        spec: {
          commonLabels: [
            { key: "invoker_kind", value: "Repository" },
            { key: "team", value: "storage" },
          ],
        },
      }),
    );
    await converges(live);
    expect(await scrape(live.metricsUrl)).toMatch(
      /storage_kubestash_com_repository_info\{[^}]*team="storage"/,
    );
    await kubectl("delete", "metricsconfiguration", "kubestash-repository");
    await converges(live);
    expect(await scrape(live.metricsUrl)).not.toContain("storage_kubestash_com_repository_");
    // The status the exporter wrote is visible to kubectl.
    const status = JSON.parse(
      await kubectl("get", "metricsconfiguration", "kubestash-snapshot", "-o", "json"),
    ) as {
      status?: { conditions?: { type: string; status: string }[] };
    };
    expect(status.status?.conditions?.find((c) => c.type === "Ready")?.status).toBe("True");
  });
});
