/**
 * Harness for the live tests: the embedded API server on a free port, the real exporter on free
 * ports talking to it over HTTP, and the offline renderer as the oracle. Nothing is mocked: every
 * check goes through /metrics, /readyz or the telemetry endpoint.
 */
import { request } from "node:http";
import { Writable } from "node:stream";
import { gunzipSync } from "node:zlib";
import { join } from "node:path";
import { compileConfiguration } from "../../src/config/compile.js";
import type { CompiledConfiguration } from "../../src/config/compiled.js";
import type { ExpositionFormat } from "../../src/exposition/format.js";
import { startExporter, type ExporterOptions, type RunningExporter } from "../../src/exporter/exporter.js";
import { createLogger } from "../../src/log/logger.js";
import { startApiServer, type ApiServer, type ApiServerOptions } from "../../src/sim/index.js";
import { renderOffline } from "../../src/store/offline.js";

export const ROOT = join(import.meta.dirname, "..", "..");
export const MC_API = "metrics.appscode.com/v1alpha1";
export const MC_KIND = "MetricsConfiguration";

/** The MetricsConfiguration CRD the project ships. */
export const MC_CRD = join(ROOT, "deploy", "crds", "metricsconfigurations.metrics.appscode.com.yaml");

/**
 * Seeds beside a synthetic estate (whose KubeStash CRDs and objects the simulator generates):
 * our CRD and the KubeStash configurations.
 */
export const SYNTHETIC_SEEDS = [MC_CRD, join(ROOT, "metricsconfigurations", "kubestash")];

/** Seeds of the demo: our CRDs, the KubeStash configurations and the KubeStash examples. */
export const KUBESTASH_SEEDS = [
  MC_CRD,
  join(ROOT, "deploy", "crds", "kubestash"),
  join(ROOT, "metricsconfigurations", "kubestash"),
  join(ROOT, "examples", "kubestash"),
];

/** Reflector timings short enough for tests: quick backoff, a watchdog that fires in seconds. */
export const FAST_TUNING = {
  watchTimeoutSeconds: 30,
  watchdogSeconds: 3,
  backoff: { initialMs: 50, maxMs: 500 },
  pageSize: 50,
} as const;

export function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * Poll until `check` returns true (or resolves to true); fail after `timeoutMs` with `what` and
 * whatever `describe` says about the last state.
 */
export async function eventually(
  check: () => boolean | Promise<boolean>,
  timeoutMs: number,
  what: string,
  describe?: () => string | Promise<string>,
): Promise<number> {
  const started = Date.now();
  for (;;) {
    if (await check()) return Date.now() - started;
    if (Date.now() - started > timeoutMs) {
      const detail = describe ? `\n${await describe()}` : "";
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${detail}`);
    }
    await delay(25);
  }
}

export interface HttpResult {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  /** Decoded body (gunzipped when the response was gzip-encoded). */
  body: string;
  rawBytes: number;
}

/** A GET with full control over headers (fetch would negotiate gzip on its own). */
export function get(url: string, headers: Record<string, string> = {}): Promise<HttpResult> {
  return new Promise((resolve, reject) => {
    const req = request(url, { headers: { connection: "close", ...headers } }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("error", reject);
      res.on("end", () => {
        const raw = Buffer.concat(chunks);
        const body = res.headers["content-encoding"] === "gzip" ? gunzipSync(raw) : raw;
        resolve({
          status: res.statusCode ?? 0,
          headers: res.headers,
          body: body.toString("utf8"),
          rawBytes: raw.length,
        });
      });
    });
    req.on("error", reject);
    req.end();
  });
}

export const ACCEPT_OPENMETRICS = "application/openmetrics-text;version=1.0.0;q=0.9,text/plain;q=0.5";

export async function scrape(base: string, format: ExpositionFormat = "text"): Promise<string> {
  const r = await get(`${base}/metrics`, format === "openmetrics" ? { accept: ACCEPT_OPENMETRICS } : {});
  if (r.status !== 200) throw new Error(`GET ${base}/metrics: ${r.status} ${r.body}`);
  return r.body;
}

/** Collects the exporter's JSON log lines so tests can assert on them. */
export class LogSink {
  readonly lines: Record<string, unknown>[] = [];
  readonly stream = new Writable({
    write: (chunk: Buffer, _enc, done) => {
      for (const line of chunk.toString("utf8").split("\n")) {
        if (line === "") continue;
        try {
          this.lines.push(JSON.parse(line) as Record<string, unknown>);
        } catch {
          this.lines.push({ msg: line });
        }
      }
      done();
    },
  });

  messages(): string[] {
    return this.lines.map((l) => (typeof l.msg === "string" ? l.msg : ""));
  }

  matching(pattern: RegExp): Record<string, unknown>[] {
    return this.lines.filter((l) => typeof l.msg === "string" && pattern.test(l.msg));
  }
}

export interface Live {
  sim: ApiServer;
  exporter: RunningExporter;
  logs: LogSink;
  metricsUrl: string;
  telemetryUrl: string;
  fileConfigurations: readonly CompiledConfiguration[];
  close(): Promise<void>;
}

export async function startLive(
  options: {
    sim?: ApiServerOptions;
    exporter?: Partial<Omit<ExporterOptions, "kube" | "logger">>;
  } = {},
): Promise<Live> {
  const sim = await startApiServer({ port: 0, bookmarkIntervalMs: 500, ...options.sim });
  const logs = new LogSink();
  let exporter: RunningExporter;
  try {
    exporter = await startExporter({
      kube: { server: sim.url, requestTimeoutMs: 10_000 },
      logger: createLogger({ level: "debug", destination: logs.stream }),
      version: "0.0.0-test",
      host: "127.0.0.1",
      port: 0,
      telemetryPort: 0,
      tuning: FAST_TUNING,
      shutdownGraceMs: 5_000,
      ...options.exporter,
    });
  } catch (err) {
    await sim.close();
    throw err;
  }
  return {
    sim,
    exporter,
    logs,
    metricsUrl: exporter.metrics.url,
    telemetryUrl: exporter.telemetryServer.url,
    fileConfigurations: options.exporter?.fileConfigurations ?? [],
    close: async () => {
      await exporter.shutdown();
      await sim.close();
    },
  };
}

/** The configurations the exporter should be serving: files, then the cluster's objects. */
export function currentConfigurations(live: Live): CompiledConfiguration[] {
  let cluster: CompiledConfiguration[] = [];
  try {
    cluster = live.sim.list(MC_API, MC_KIND).map((o) => compileConfiguration(o, {}));
  } catch {
    // the MetricsConfiguration CRD is not installed
  }
  return [...live.fileConfigurations, ...cluster];
}

/**
 * What `render` prints for the API server's objects right now: every target kind of every
 * configuration, listed from the embedded server as the exporter sees them over the wire.
 */
export function expectedExposition(live: Live, format: ExpositionFormat): string {
  const configs = currentConfigurations(live);
  const kinds = new Map<string, { apiVersion: string; kind: string }>();
  for (const c of configs) if (c.target) kinds.set(`${c.target.apiVersion}/${c.target.kind}`, c.target);
  const objects: { value: unknown }[] = [];
  for (const t of kinds.values()) {
    try {
      for (const o of live.sim.list(t.apiVersion, t.kind)) objects.push({ value: o });
    } catch {
      // not served (CRD absent): no objects
    }
  }
  return renderOffline(configs, objects, format);
}

/** First differing line of two expositions, for failure messages. */
export function firstDifference(actual: string, expected: string): string {
  const a = actual.split("\n");
  const e = expected.split("\n");
  for (let i = 0; i < Math.max(a.length, e.length); i++) {
    if (a[i] !== e[i])
      return `line ${i + 1} (of ${a.length} served, ${e.length} expected)\n  served:   ${a[i] ?? "<none>"}\n  expected: ${e[i] ?? "<none>"}`;
  }
  return "identical";
}

/** Wait until /metrics equals the offline render of the API server's objects, byte for byte. */
export async function converges(
  live: Live,
  timeoutMs = 10_000,
  formats: readonly ExpositionFormat[] = ["text", "openmetrics"],
): Promise<number> {
  let last = "";
  let want = "";
  return eventually(
    async () => {
      for (const format of formats) {
        want = expectedExposition(live, format);
        last = await scrape(live.metricsUrl, format);
        if (last !== want) return false;
      }
      return true;
    },
    timeoutMs,
    "/metrics to equal the offline render",
    () => firstDifference(last, want),
  );
}

/** One sample of the telemetry exposition, by family name and (a subset of) labels. */
export function sample(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  let total: number | undefined;
  for (const line of text.split("\n")) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    const wanted = Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`));
    if (!wanted) continue;
    const value = Number(line.slice(line.lastIndexOf(" ") + 1));
    total = (total ?? 0) + value;
  }
  return total;
}

export async function telemetry(live: Live): Promise<string> {
  const r = await get(`${live.telemetryUrl}/metrics`);
  if (r.status !== 200) throw new Error(`telemetry: ${r.status}`);
  return r.body;
}

export async function readyz(base: string): Promise<number> {
  return (await get(`${base}/readyz`)).status;
}

/** name and namespace of an object as the embedded server returns it. */
export function nameOf(obj: { metadata?: unknown }): { name: string; namespace?: string } {
  const meta = (obj.metadata ?? {}) as { name?: unknown; namespace?: unknown };
  return {
    name: typeof meta.name === "string" ? meta.name : "",
    ...(typeof meta.namespace === "string" ? { namespace: meta.namespace } : {}),
  };
}
