/**
 * The benchmark's API server: the embedded one (the same code as `crd-state-metrics sim`),
 * seeded with the SPEC §11 estate, in its own process. It also takes one command the CLI has
 * no use for: a burst of patches, so update throughput can be measured at full speed.
 */
import { writeFile } from "node:fs/promises";
import { startApiServer } from "../sim/server.js";
import { announce, serveCommands } from "./ipc.js";

const [objectsArg = "1000", kubeconfigPath = "bench-kubeconfig.yaml"] = process.argv.slice(2);
const started = performance.now();
const server = await startApiServer({ port: 0, synthetic: Number(objectsArg), bookmarkIntervalMs: 5000 });
await writeFile(kubeconfigPath, server.kubeconfig(), { mode: 0o600 });
announce("listening", { url: server.url, seedMs: performance.now() - started });

const API_VERSION = "core.kubestash.com/v1alpha1";
const sessions = server.list(API_VERSION, "BackupSession").map((o) => {
  const md = o.metadata as { name?: unknown; namespace?: unknown } | null | undefined;
  return { name: String(md?.name), namespace: String(md?.namespace) };
});

/**
 * One merge patch per object, in slices so the watch streams flow while it runs: as fast as
 * this process can, or, with `perSecond`, at that steady rate (each patch waits for its time
 * slot, so a slow moment is caught up rather than stretching the run).
 */
async function burst(args: unknown): Promise<{ sent: number; ms: number }> {
  const {
    count,
    tag,
    offset = 0,
    perSecond,
  } = args as { count: number; tag: string; offset?: number; perSecond?: number };
  const t0 = performance.now();
  let sent = 0;
  for (let i = 0; i < count; i++) {
    const target = sessions[(offset + i) % sessions.length];
    if (!target) break;
    if (perSecond !== undefined) {
      const due = t0 + (i * 1000) / perSecond;
      const wait = due - performance.now();
      if (wait > 1) await new Promise((r) => setTimeout(r, wait));
    }
    server.patch({ apiVersion: API_VERSION, kind: "BackupSession", ...target }, "merge", {
      spec: { session: `${tag}${Date.now()}-${i}` },
    });
    sent++;
    if (perSecond === undefined && i % 200 === 199) await new Promise((r) => setImmediate(r));
  }
  return { sent, ms: performance.now() - t0 };
}

serveCommands({
  burst,
  cpu: () => {
    const cpu = process.cpuUsage();
    return cpu.user + cpu.system;
  },
  close: async () => {
    await server.close();
    return true;
  },
});
process.on("SIGTERM", () => {
  void server.close().then(() => process.exit(0));
});
