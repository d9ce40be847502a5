/**
 * `npm run soak -- --minutes M`: the exporter (a child `serve` process, as deployed) against the
 * embedded API server holding a synthetic KubeStash estate, for M minutes of randomized faults,
 * ~200 object updates/s and 10 concurrent scrapers. Every interval (30 s) it pauses faults and
 * updates, waits for /metrics to equal the offline render of the server's objects, checks the
 * exposition with promtool, and samples the exporter's resident memory. Exits 1 on any failure:
 * a scrape that did not parse or failed, a checkpoint that did not converge within 5 s, or
 * resident memory after warm-up growing by more than 10%. docs/reliability.md records a run.
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { readFileSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { request } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { gunzipSync } from "node:zlib";
import { compileConfiguration } from "../config/compile.js";
import type { CompiledConfiguration } from "../config/compiled.js";
import type { ExpositionFormat } from "../exposition/format.js";
import { startApiServer, type ApiServer } from "../sim/index.js";
import { renderOffline } from "../store/offline.js";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const MAIN = join(ROOT, "dist", "cli", "main.js");
const MC_API = "metrics.appscode.com/v1alpha1";
const MC_KIND = "MetricsConfiguration";
const CORE = "core.kubestash.com/v1alpha1";
const STORAGE = "storage.kubestash.com/v1alpha1";

export interface SoakOptions {
  minutes: number;
  objects: number;
  updatesPerSecond: number;
  scrapers: number;
  intervalSeconds: number;
  /** Convergence bound after faults stop (the 5 s). */
  convergeMs: number;
  /** Allowed resident-memory growth after warm-up. */
  maxRssGrowth: number;
  /**
   * Checkpoints that belong to warm-up (default 1): growth is measured from the last of them.
   * Short runs with short intervals need more, since V8's old space is still growing to its
   * working size half a minute in.
   */
  warmupCheckpoints?: number;
  seed: number;
  /** Mean pause of each scraper between scrapes. */
  scrapeGapMs: number;
  log: (line: string) => void;
}

export interface SoakReport {
  ok: boolean;
  failures: string[];
  seconds: number;
  objects: number;
  updates: number;
  faults: Record<string, number>;
  scrapes: { total: number; failed: number; unparsable: number; bytes: number; maxMs: number };
  checkpoints: { at: number; convergeMs: number; series: number; rssMiB: number }[];
  rss: { warmupMiB: number; finalMiB: number; maxMiB: number; growth: number };
  exporter: Record<string, number>;
}

// ---- small helpers ---------------------------------------------------------------------------

function rng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>> 0) / 4294967296;
  };
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

interface Got {
  status: number;
  body: string;
}

function httpGet(url: string, headers: Record<string, string> = {}, timeoutMs = 30_000): Promise<Got> {
  return new Promise((resolve, reject) => {
    const req = request(url, { headers, timeout: timeoutMs }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("error", reject);
      res.on("end", () => {
        try {
          const raw = Buffer.concat(chunks);
          const body = res.headers["content-encoding"] === "gzip" ? gunzipSync(raw) : raw;
          resolve({ status: res.statusCode ?? 0, body: body.toString("utf8") });
        } catch (err) {
          reject(err instanceof Error ? err : new Error(String(err)));
        }
      });
    });
    req.on("timeout", () => req.destroy(new Error("timed out")));
    req.on("error", reject);
    req.end();
  });
}

const NAME = "[a-zA-Z_:][a-zA-Z0-9_:]*";
const SAMPLE = new RegExp(
  `^(${NAME})(\\{(?:[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\\\\n]|\\\\[\\\\"n])*"(?:,[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\\\\n]|\\\\[\\\\"n])*")*)?\\})? (-?[0-9.e+-]+|NaN|[+-]Inf)$`,
);

/**
 * A light structural check of an exposition: HELP/TYPE before samples, each family contiguous
 * and declared once, well-formed sample lines, no duplicate series, `# EOF` last in OpenMetrics.
 * Returns the series count, or throws with the first problem.
 */
export function checkExposition(text: string, format: ExpositionFormat): number {
  const lines = text.split("\n");
  if (lines.pop() !== "") throw new Error("exposition does not end with a newline");
  if (format === "openmetrics") {
    if (lines.pop() !== "# EOF") throw new Error("OpenMetrics exposition does not end with # EOF");
  }
  const declared = new Set<string>();
  let family = "";
  let series = new Set<string>();
  let count = 0;
  for (const [i, line] of lines.entries()) {
    if (line.startsWith("# HELP ")) {
      const name = line.slice(7).split(" ", 1)[0] ?? "";
      if (declared.has(name)) throw new Error(`line ${i + 1}: family ${name} declared twice`);
      declared.add(name);
      family = name;
      series = new Set();
      continue;
    }
    if (line.startsWith("# TYPE ")) {
      if (line !== `# TYPE ${family} gauge`) throw new Error(`line ${i + 1}: unexpected ${line}`);
      continue;
    }
    const m = SAMPLE.exec(line);
    if (!m) throw new Error(`line ${i + 1}: not a sample: ${line.slice(0, 200)}`);
    if (m[1] !== family) throw new Error(`line ${i + 1}: sample of ${m[1] ?? ""} inside family ${family}`);
    const labels = m[2] ?? "";
    if (series.has(labels)) throw new Error(`line ${i + 1}: duplicate series ${line.slice(0, 200)}`);
    series.add(labels);
    count++;
  }
  return count;
}

function promtoolParses(text: string): string | undefined {
  const r = spawnSync("promtool", ["check", "metrics"], {
    input: text,
    encoding: "utf8",
    maxBuffer: 1 << 28,
  });
  if (r.error) return undefined; // not installed: reported once by the caller
  const out = `${r.stdout}${r.stderr}`;
  // Lint notes (the upstream `_total` gauges) are expected; parse errors are not.
  if (/error while linting|parsing error/i.test(out) || (r.status !== 0 && r.status !== 3)) {
    return out.slice(0, 500);
  }
  return "";
}

function rssMiB(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const kb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? "0");
  return kb / 1024;
}

/** How far back a checkpoint looks for the resident-memory floor. */
const RSS_WINDOW_MS = 10_000;

/**
 * Resident memory sampled twice a second. A checkpoint reads the floor of the last 10 s, not
 * one sample: a point reading lands anywhere on the garbage collector's sawtooth (on a loaded
 * machine, 10% apart from one second to the next), while a leak raises the floor.
 */
function rssSampler(pid: number): { floor(): number; peak(): number; resetPeak(): void; stop(): void } {
  const samples: { at: number; mib: number }[] = [];
  let peak = 0;
  const sample = (): void => {
    try {
      const mib = rssMiB(pid);
      const at = Date.now();
      samples.push({ at, mib });
      peak = Math.max(peak, mib);
      while (samples.length > 0 && samples[0]!.at < at - RSS_WINDOW_MS) samples.shift();
    } catch {
      // The process is gone; the caller reports that.
    }
  };
  sample();
  const timer = setInterval(sample, 500);
  return {
    floor: () => {
      sample();
      return Math.min(...samples.map((s) => s.mib));
    },
    peak: () => peak,
    resetPeak: () => {
      peak = 0;
    },
    stop: () => {
      clearInterval(timer);
    },
  };
}

// ---- the world -------------------------------------------------------------------------------

function expected(sim: ApiServer, format: ExpositionFormat): string {
  const configs: CompiledConfiguration[] = sim.list(MC_API, MC_KIND).map((o) => compileConfiguration(o, {}));
  const kinds = new Map<string, { apiVersion: string; kind: string }>();
  for (const c of configs) if (c.target) kinds.set(`${c.target.apiVersion}/${c.target.kind}`, c.target);
  const objects: { value: unknown }[] = [];
  for (const t of kinds.values()) {
    try {
      for (const o of sim.list(t.apiVersion, t.kind)) objects.push({ value: o });
    } catch {
      // not served
    }
  }
  return renderOffline(configs, objects, format);
}

interface Ref {
  apiVersion: string;
  kind: string;
  namespace: string;
  name: string;
}

function refsOf(sim: ApiServer, apiVersion: string, kind: string): Ref[] {
  return sim.list(apiVersion, kind).map((o) => {
    const md = o.metadata as { name: string; namespace?: string };
    return { apiVersion, kind, name: md.name, namespace: md.namespace ?? "" };
  });
}

/** ~`perSecond` updates: status changes of existing objects, plus creates and deletes. */
function startUpdates(
  sim: ApiServer,
  perSecond: number,
  random: () => number,
): {
  paused: boolean;
  count(): number;
  stop(): void;
} {
  const sessions = refsOf(sim, CORE, "BackupSession");
  const snapshots = refsOf(sim, STORAGE, "Snapshot");
  const repositories = refsOf(sim, STORAGE, "Repository");
  const created: Ref[] = [];
  const phases = ["Pending", "Running", "Succeeded", "Failed", "Skipped"];
  let n = 0;
  let serial = 0;
  const pick = <T>(xs: readonly T[]): T | undefined => xs[Math.floor(random() * xs.length)];
  const state = {
    paused: false,
    count: () => n,
    stop: () => {
      clearInterval(timer);
    },
  };
  const TICK_MS = 50;
  // Paced by the clock, not by ticks: a busy loop that skips ticks catches up on the next one.
  let due = 0;
  let last = performance.now();
  const timer = setInterval(() => {
    const now = performance.now();
    if (state.paused) {
      last = now;
      return;
    }
    due = Math.min(due + ((now - last) * perSecond) / 1000, perSecond);
    last = now;
    for (; due >= 1; due--) {
      const r = random();
      try {
        if (r < 0.05) {
          const base = pick(sessions);
          if (!base) continue;
          const name = `soak-${++serial}`;
          const ns = base.namespace;
          sim.create({
            apiVersion: CORE,
            kind: "BackupSession",
            metadata: { name, namespace: ns, labels: { "soak.example.com/run": "1" } },
            spec: {
              invoker: { apiGroup: "core.kubestash.com", kind: "BackupConfiguration", name: "soak" },
              session: "soak",
            },
            status: { phase: "Running", duration: "1s" },
          });
          created.push({ apiVersion: CORE, kind: "BackupSession", name, namespace: ns });
          if (created.length > 200) {
            const old = created.shift();
            if (old) sim.delete(old);
          }
        } else if (r < 0.6) {
          const s = pick(sessions);
          if (s) {
            sim.patch(s, "merge", {
              status: { phase: pick(phases) ?? "Running", duration: `${Math.floor(random() * 600)}s` },
            });
          }
        } else if (r < 0.95) {
          const s = pick(snapshots);
          if (s) {
            sim.patch(s, "merge", {
              status: {
                size: `${(random() * 900).toFixed(3)} MiB`,
                phase: pick(phases.slice(0, 4)) ?? "Running",
              },
            });
          }
        } else {
          const s = pick(repositories);
          if (s) sim.patch(s, "merge", { status: { snapshotCount: Math.floor(random() * 1000) } });
        }
        n++;
      } catch {
        // a 409 or a vanished object: skip
      }
    }
  }, TICK_MS);
  timer.unref();
  return state;
}

const FAULTS = ["drop", "gone", "compact", "error500", "throttle429", "slowList", "hang", "restart"] as const;
type FaultName = (typeof FAULTS)[number];

const RESOURCES = [
  "backupsessions",
  "snapshots",
  "repositories",
  "backupconfigurations",
  "restoresessions",
  "backupstorages",
];

function injectFault(sim: ApiServer, random: () => number): FaultName {
  // Restarts are rarer: they relist everything.
  const weights: Record<FaultName, number> = {
    drop: 3,
    gone: 2,
    compact: 2,
    error500: 2,
    throttle429: 2,
    slowList: 1,
    hang: 1,
    restart: 0.4,
  };
  const total = Object.values(weights).reduce((a, b) => a + b, 0);
  let r = random() * total;
  let fault: FaultName = "drop";
  for (const f of FAULTS) {
    r -= weights[f];
    if (r <= 0) {
      fault = f;
      break;
    }
  }
  const resource = random() < 0.5 ? RESOURCES[Math.floor(random() * RESOURCES.length)] : undefined;
  const sel = resource === undefined ? {} : { resource };
  const f = sim.faults;
  switch (fault) {
    case "drop":
      f.dropWatches(sel);
      break;
    case "gone":
      f.failNext({ ...sel, verb: "watch", status: 410, count: 1 });
      f.dropWatches(sel);
      break;
    case "compact":
      f.compact();
      f.dropWatches(sel);
      break;
    case "error500":
      f.failNext({ ...sel, verb: "list", status: 500, count: 2 });
      f.failNext({ ...sel, verb: "watch", status: 500, count: 2 });
      f.compact();
      f.dropWatches(sel);
      break;
    case "throttle429":
      f.failNext({ ...sel, verb: "any", status: 429, count: 2, retryAfterSeconds: 1 });
      f.dropWatches(sel);
      break;
    case "slowList":
      f.slowLists({ ...sel, delayMs: 150 });
      f.compact();
      f.failNext({ ...sel, verb: "watch", status: 410, count: 1 });
      f.dropWatches(sel);
      break;
    case "hang":
      f.hangNextWatches({ ...sel, count: 1 });
      f.dropWatches(sel);
      break;
    case "restart":
      f.restart();
      break;
  }
  return fault;
}

// ---- the exporter ----------------------------------------------------------------------------

async function startServe(
  kubeconfig: string,
  log: (line: string) => void,
): Promise<{ child: ChildProcess; metrics: string; telemetry: string; stop(): Promise<number | null> }> {
  const child = spawn(
    process.execPath,
    [
      MAIN,
      "serve",
      "--kubeconfig",
      kubeconfig,
      "--host",
      "127.0.0.1",
      "--port",
      "0",
      "--telemetry-port",
      "0",
    ],
    { stdio: ["ignore", "ignore", "pipe"], env: { ...process.env, CSM_LOG_LEVEL: "info" } },
  );
  const urls = await new Promise<{ metrics: string; telemetry: string }>((resolve, reject) => {
    let buffer = "";
    const timer = setTimeout(() => {
      reject(new Error("serve did not start within 30 s"));
    }, 30_000);
    child.once("exit", (code) => {
      reject(new Error(`serve exited with ${String(code)} before serving`));
    });
    child.stderr.on("data", (chunk: Buffer) => {
      buffer += chunk.toString("utf8");
      let nl: number;
      while ((nl = buffer.indexOf("\n")) !== -1) {
        const line = buffer.slice(0, nl);
        buffer = buffer.slice(nl + 1);
        let rec: Record<string, unknown> = {};
        try {
          rec = JSON.parse(line) as Record<string, unknown>;
        } catch {
          log(`serve: ${line}`);
          continue;
        }
        if (rec.level === "warn" || rec.level === "error")
          log(
            `serve ${rec.level}: ${String(rec.msg)} ${JSON.stringify({ resource: rec.resource, status: rec.status, retryInMs: rec.retryInMs })}`,
          );
        if (rec.msg === "serving" && typeof rec.url === "string" && typeof rec.telemetry === "string") {
          clearTimeout(timer);
          resolve({
            metrics: rec.url.replace(/\/metrics$/, ""),
            telemetry: rec.telemetry.replace(/\/metrics$/, ""),
          });
        }
      }
    });
  });
  // Keep draining stderr so the child never blocks on a full pipe.
  child.stderr.on("data", () => undefined);
  return {
    child,
    ...urls,
    stop: () =>
      new Promise((resolve) => {
        if (child.exitCode !== null) {
          resolve(child.exitCode);
          return;
        }
        const kill = setTimeout(() => child.kill("SIGKILL"), 15_000);
        child.once("exit", (code) => {
          clearTimeout(kill);
          resolve(code);
        });
        child.kill("SIGTERM");
      }),
  };
}

function telemetrySums(text: string): Record<string, number> {
  const out: Record<string, number> = {};
  const add = (key: string, v: number): void => {
    out[key] = (out[key] ?? 0) + v;
  };
  for (const line of text.split("\n")) {
    const m =
      /^(crd_state_metrics_(?:watch_restarts_total|list_total|watch_events_total))\{([^}]*)\} (\S+)$/.exec(
        line,
      );
    if (!m) continue;
    const labels = m[2] ?? "";
    const v = Number(m[3]);
    if (m[1] === "crd_state_metrics_watch_restarts_total") {
      add(`watch_restarts_total{reason=${/reason="([^"]*)"/.exec(labels)?.[1] ?? ""}}`, v);
    } else if (m[1] === "crd_state_metrics_list_total") {
      add(`list_total{result=${/result="([^"]*)"/.exec(labels)?.[1] ?? ""}}`, v);
    } else {
      add("watch_events_total", v);
    }
  }
  return out;
}

// ---- the run ---------------------------------------------------------------------------------

export async function runSoak(options: SoakOptions): Promise<SoakReport> {
  const log = options.log;
  const random = rng(options.seed);
  const failures: string[] = [];
  const fail = (msg: string): void => {
    if (failures.length < 50) failures.push(msg);
    log(`FAIL ${msg}`);
  };
  const dir = mkdtempSync(join(tmpdir(), "csm-soak-"));
  const started = Date.now();
  const sim = await startApiServer({
    port: 0,
    synthetic: options.objects,
    syntheticSeed: options.seed,
    seedPaths: [
      join(ROOT, "deploy", "crds", "metricsconfigurations.metrics.appscode.com.yaml"),
      join(ROOT, "metricsconfigurations", "kubestash"),
    ],
    bookmarkIntervalMs: 5_000,
  });
  const kubeconfig = join(dir, "kubeconfig");
  writeFileSync(kubeconfig, sim.kubeconfig());
  const serve = await startServe(kubeconfig, log);
  const pid = serve.child.pid ?? 0;
  const rssSamples = rssSampler(pid);
  const warmup = Math.max(1, Math.floor(options.warmupCheckpoints ?? 1));
  const report: SoakReport = {
    ok: false,
    failures,
    seconds: 0,
    objects: 0,
    updates: 0,
    faults: {},
    scrapes: { total: 0, failed: 0, unparsable: 0, bytes: 0, maxMs: 0 },
    checkpoints: [],
    rss: { warmupMiB: 0, finalMiB: 0, maxMiB: 0, growth: 0 },
    exporter: {},
  };
  let updates: ReturnType<typeof startUpdates> | undefined;
  const scraping = { on: true };
  const stillScraping = (): boolean => scraping.on;
  const scrapers: Promise<void>[] = [];
  try {
    const readyBy = Date.now() + 120_000;
    while ((await httpGet(`${serve.metrics}/readyz`).catch(() => ({ status: 0, body: "" }))).status !== 200) {
      if (Date.now() > readyBy) throw new Error("exporter not ready within 120 s");
      await sleep(200);
    }
    log(`ready after ${((Date.now() - started) / 1000).toFixed(1)} s; ${options.objects} synthetic objects`);

    // Scrapers: text / OpenMetrics, gzip or not, each parsed.
    for (let i = 0; i < options.scrapers; i++) {
      scrapers.push(
        (async () => {
          const r = rng(options.seed * 100 + i);
          while (scraping.on) {
            const format: ExpositionFormat = r() < 0.5 ? "text" : "openmetrics";
            const headers: Record<string, string> = {};
            if (format === "openmetrics") headers.accept = "application/openmetrics-text;version=1.0.0";
            if (r() < 0.5) headers["accept-encoding"] = "gzip";
            const t0 = performance.now();
            try {
              const got = await httpGet(`${serve.metrics}/metrics`, headers);
              const ms = performance.now() - t0;
              report.scrapes.total++;
              report.scrapes.maxMs = Math.max(report.scrapes.maxMs, ms);
              report.scrapes.bytes += got.body.length;
              if (got.status !== 200) {
                report.scrapes.failed++;
                fail(`scrape answered ${got.status}`);
              } else {
                try {
                  checkExposition(got.body, format);
                } catch (err) {
                  report.scrapes.unparsable++;
                  fail(
                    `scrape (${format}) did not parse: ${err instanceof Error ? err.message : String(err)}`,
                  );
                }
              }
            } catch (err) {
              if (!stillScraping()) break;
              report.scrapes.failed++;
              fail(`scrape failed: ${err instanceof Error ? err.message : String(err)}`);
            }
            await sleep(options.scrapeGapMs * (0.5 + r()));
          }
        })(),
      );
    }

    updates = startUpdates(sim, options.updatesPerSecond, random);
    const end = started + options.minutes * 60_000;
    let promtoolMissing = false;
    let hung = false;
    while (Date.now() < end) {
      const intervalEnd = Math.min(end, Date.now() + options.intervalSeconds * 1000);
      while (Date.now() < intervalEnd) {
        const f = injectFault(sim, random);
        if (f === "hang") hung = true;
        report.faults[f] = (report.faults[f] ?? 0) + 1;
        await sleep(1_000 + random() * 3_000);
      }
      // Checkpoint: faults and updates stop; a hung connection is finally reset.
      updates.paused = true;
      sim.faults.reset();
      if (hung) sim.faults.dropWatches();
      hung = false;
      const t0 = Date.now();
      let want = "";
      let got = "";
      let converged = false;
      let lastNote = Date.now();
      let convergedAt = 0;
      while (Date.now() - t0 < options.convergeMs + 25_000) {
        want = expected(sim, "text");
        // Converged as of when the matching scrape was asked for, not when the comparison
        // (which renders the whole estate offline) finished.
        const asked = Date.now();
        got = (await httpGet(`${serve.metrics}/metrics`)).body;
        if (got === want) {
          converged = true;
          convergedAt = asked;
          break;
        }
        if (Date.now() - lastNote > 2_000) {
          lastNote = Date.now();
          const a = new Set(got.split("\n"));
          const b = want.split("\n");
          const missing = b.filter((l) => !a.has(l));
          log(
            `  not yet converged after ${Date.now() - t0} ms: ${missing.length} expected lines missing, e.g. ${missing[0] ?? ""}`,
          );
        }
        await sleep(100);
      }
      const convergeMs = (converged ? convergedAt : Date.now()) - t0;
      const series = converged ? checkExposition(got, "text") : 0;
      if (!converged) {
        const a = got.split("\n");
        const b = want.split("\n");
        const i = a.findIndex((l, k) => l !== b[k]);
        fail(
          `checkpoint: /metrics never equalled the render (line ${i + 1}: served ${a[i] ?? "<none>"} / expected ${b[i] ?? "<none>"})`,
        );
      } else if (convergeMs > options.convergeMs) {
        fail(`checkpoint: converged after ${convergeMs} ms (> ${options.convergeMs} ms)`);
      }
      if (converged) {
        const p = promtoolParses(got);
        if (p === undefined) promtoolMissing = true;
        else if (p !== "") fail(`promtool: ${p}`);
      }
      const rss = rssSamples.floor();
      // Warm-up ends at the first checkpoint: the peak reported is the highest sample since.
      if (report.checkpoints.length === warmup - 1) rssSamples.resetPeak();
      const at = Math.round((Date.now() - started) / 1000);
      report.checkpoints.push({ at, convergeMs, series, rssMiB: Math.round(rss * 10) / 10 });
      log(
        `checkpoint t=${at}s converged=${converged} in ${convergeMs} ms, ${series} series, RSS ${rss.toFixed(1)} MiB, ` +
          `updates ${updates.count()}, scrapes ${report.scrapes.total}`,
      );
      updates.paused = false;
    }
    if (promtoolMissing)
      log("NOTICE: promtool not installed; expositions checked with the built-in parser only");
    updates.stop();
    scraping.on = false;
    await Promise.all(scrapers);
    const tel = await httpGet(`${serve.telemetry}/metrics`);
    report.exporter = telemetrySums(tel.body);
  } catch (err) {
    fail(err instanceof Error ? err.message : String(err));
  } finally {
    updates?.stop();
    scraping.on = false;
    await Promise.all(scrapers);
    rssSamples.stop();
    const code = await serve.stop();
    if (code !== 0) fail(`serve exited with ${String(code)} on SIGTERM`);
    await sim.close();
    rmSync(dir, { recursive: true, force: true });
  }
  report.seconds = Math.round((Date.now() - started) / 1000);
  report.objects = options.objects;
  report.updates = updates?.count() ?? 0;
  // Warm-up ends at checkpoint `warmup`; growth is measured from there to the last one.
  const rssSeries = report.checkpoints.slice(warmup - 1).map((c) => c.rssMiB);
  if (rssSeries.length >= 2) {
    const warm = rssSeries[0] ?? 0;
    const last = rssSeries[rssSeries.length - 1] ?? 0;
    report.rss = {
      warmupMiB: warm,
      finalMiB: last,
      maxMiB: Math.round(Math.max(...rssSeries, rssSamples.peak()) * 10) / 10,
      growth: warm > 0 ? (last - warm) / warm : 0,
    };
    if (report.rss.growth > options.maxRssGrowth) {
      fail(
        `resident memory grew ${(report.rss.growth * 100).toFixed(1)}% after warm-up (${warm} → ${last} MiB; limit ${options.maxRssGrowth * 100}%)`,
      );
    }
  } else {
    fail(`fewer than ${warmup + 1} checkpoints: run longer, or with shorter intervals`);
  }
  report.ok = failures.length === 0;
  return report;
}

function parseArgs(argv: string[]): SoakOptions {
  const get = (name: string, fallback: number): number => {
    const i = argv.indexOf(`--${name}`);
    if (i === -1) return fallback;
    const v = Number(argv[i + 1]);
    if (!Number.isFinite(v) || v <= 0) throw new Error(`--${name} needs a positive number`);
    return v;
  };
  return {
    minutes: get("minutes", 10),
    objects: get("objects", 3_000),
    updatesPerSecond: get("updates-per-second", 200),
    scrapers: get("scrapers", 10),
    intervalSeconds: get("interval-seconds", 30),
    convergeMs: get("converge-ms", 5_000),
    maxRssGrowth: get("max-rss-growth", 0.1),
    warmupCheckpoints: get("warmup-checkpoints", 1),
    seed: get("seed", 1),
    scrapeGapMs: get("scrape-gap-ms", 1_000),
    log: (line) => {
      process.stderr.write(`soak: ${line}\n`);
    },
  };
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  let options: SoakOptions;
  try {
    options = parseArgs(process.argv.slice(2));
  } catch (err) {
    process.stderr.write(`soak: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(2);
  }
  const report = await runSoak(options);
  process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
  process.stderr.write(
    `soak: ${report.ok ? "PASS" : "FAIL"} — ${report.seconds} s, ${report.objects} objects, ${report.updates} updates, ` +
      `${Object.values(report.faults).reduce((a, b) => a + b, 0)} faults, ${report.scrapes.total} scrapes ` +
      `(${report.scrapes.failed} failed, ${report.scrapes.unparsable} unparsable), ` +
      `max convergence ${Math.max(0, ...report.checkpoints.map((c) => c.convergeMs))} ms, ` +
      `RSS ${report.rss.warmupMiB} → ${report.rss.finalMiB} MiB (${(report.rss.growth * 100).toFixed(1)}%)\n`,
  );
  process.exit(report.ok ? 0 : 1);
}
