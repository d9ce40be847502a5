/**
 * "ours" in the benchmark: the exporter exactly as `serve` assembles it (startExporter), in its
 * own process, with an IPC channel for what only the process itself can measure: memory after a
 * full GC, peak RSS and event-loop delay over a window, and when marked updates became visible.
 */
import { writeFile } from "node:fs/promises";
import { Session } from "node:inspector/promises";
import { monitorEventLoopDelay } from "node:perf_hooks";
import { loadConfigurations } from "../config/load.js";
import { startExporter } from "../exporter/exporter.js";
import { createLogger } from "../log/logger.js";
import { VERSION } from "../version.js";
import { announce, memoryAfterGc, PeakRss, serveCommands } from "./ipc.js";

export interface OursArgs {
  kubeconfig: string;
  configs: string[];
  shard?: { index: number; total: number };
  /** Label value prefix of update markers (see burst in sim-child). */
  markerTag: string;
  /** `--store-compression on`. */
  storeCompression?: boolean;
}

const args = JSON.parse(process.argv[2] ?? "{}") as OursArgs;
const spawnedAt = Number(process.env.CSM_BENCH_SPAWNED_AT ?? Date.now());
const { configurations } = await loadConfigurations(args.configs);
const exporter = await startExporter({
  kube: { kubeconfig: args.kubeconfig },
  logger: createLogger({ level: "warn", format: "json" }),
  version: VERSION,
  host: "127.0.0.1",
  port: 0,
  telemetryPort: 0,
  fileConfigurations: configurations,
  // The estate's BackupSession configuration alone serves ~560k series at N = 100k, above the
  // default --max-series-per-configuration; an operator of such an estate raises it too.
  limits: { perConfiguration: Number.MAX_SAFE_INTEGER },
  storeCompression: args.storeCompression === true,
  ...(args.shard ? { shard: args.shard } : {}),
});

// Event→visible: the store is what /metrics reads (no cache stage in between), so an update is
// visible to the next scrape once upsert returns. Marker values carry the sim's send time.
const marker = `session="${args.markerTag}`;
const latencies: number[] = [];
let firstApplied = 0;
let lastApplied = 0;
/** Event-loop busy time (ms) when the first and the latest marker were applied. */
let busyAtFirst = 0;
let busyAtLast = 0;
const store = exporter.store;
const upsert = store.upsert.bind(store);
store.upsert = (resourceId, ref, families, fragments) => {
  upsert(resourceId, ref, families, fragments);
  for (const f of fragments) {
    if (f === undefined) continue;
    const at = f.indexOf(marker);
    if (at < 0) continue;
    const now = Date.now();
    const sent = Number.parseInt(f.slice(at + marker.length, at + marker.length + 13), 10);
    latencies.push(now - sent);
    busyAtLast = performance.eventLoopUtilization().active;
    if (firstApplied === 0) {
      firstApplied = now;
      busyAtFirst = busyAtLast;
    }
    lastApplied = now;
    break;
  }
};

await exporter.whenReady();
announce("ready", {
  readyMs: Date.now() - spawnedAt,
  port: exporter.metrics.port,
  telemetryPort: exporter.telemetryServer.port,
});

const eld = monitorEventLoopDelay({ resolution: 5 });
let profiler: Session | undefined;
const peak = new PeakRss();

serveCommands({
  memory: () =>
    memoryAfterGc(() => Object.fromEntries(Object.entries(store.stats()).map(([k, v]) => [`store.${k}`, v]))),
  windowStart: () => {
    eld.reset();
    eld.enable();
    peak.start();
    return true;
  },
  windowEnd: () => {
    eld.disable();
    return { maxEventLoopDelayMs: eld.max / 1e6, peakRss: peak.stop() };
  },
  profileStart: async () => {
    profiler = new Session();
    profiler.connect();
    await profiler.post("Profiler.enable");
    await profiler.post("Profiler.start");
    return true;
  },
  profileStop: async (path) => {
    if (!profiler) throw new Error("profileStart was not called");
    const { profile } = await profiler.post("Profiler.stop");
    profiler.disconnect();
    profiler = undefined;
    // The first sample after SIGCONT carries the whole pause in its time delta and would charge
    // it to whatever function was on the stack when the process stopped: count it as idle.
    const idle = profile.nodes.find((n) => n.callFrame.functionName === "(idle)")?.id;
    const deltas = profile.timeDeltas ?? [];
    if (idle !== undefined && profile.samples) {
      for (let i = 0; i < deltas.length; i++) if (deltas[i]! > 50_000) profile.samples[i] = idle;
    }
    await writeFile(String(path), JSON.stringify(profile));
    return true;
  },
  cpu: () => {
    const cpu = process.cpuUsage();
    return cpu.user + cpu.system;
  },
  markers: () => {
    const cpu = process.cpuUsage();
    const out = {
      latencies: latencies.slice(),
      firstApplied,
      lastApplied,
      busyAtFirst,
      busyAtLast,
      cpuMicros: cpu.user + cpu.system,
    };
    latencies.length = 0;
    firstApplied = 0;
    lastApplied = 0;
    return out;
  },
});
process.on("SIGTERM", () => {
  void exporter.shutdown().then(() => process.exit(0));
});
