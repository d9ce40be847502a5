import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer, request, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { requireTool } from "./support/exposition-tools.js";
import { eventually, KUBESTASH_SEEDS, scrape, startLive, type Live } from "./support/live.js";

/**
 * A real Prometheus (Debian's package) scrapes the exporter every second, once negotiating
 * OpenMetrics as it does by default and once forced to the text format, with honor_labels; PromQL
 * must then return every KubeStash series with the value /metrics serves — including the gauges
 * named `…_created` and `…_total` that OpenMetrics parsers treat specially.
 *
 * Prometheus 2.42 has no per-job choice of protocol (scrape_protocols came later), so each job
 * scrapes through a small proxy: one passes the request through untouched and records what was
 * negotiated, the other rewrites Accept to the text format.
 */

const hasPrometheus = spawnSync("prometheus", ["--version"], { encoding: "utf8" }).status === 0;
const enabled = requireTool(hasPrometheus, "prometheus");

interface Seen {
  accept: string[];
  contentType: string[];
}

function proxy(
  target: string,
  rewriteAccept?: string,
): Promise<{ server: Server; port: number; seen: Seen }> {
  const seen: Seen = { accept: [], contentType: [] };
  const server = createServer((req, res) => {
    seen.accept.push(req.headers.accept ?? "");
    const headers = { ...req.headers, host: new URL(target).host };
    if (rewriteAccept !== undefined) headers.accept = rewriteAccept;
    const upstream = request(`${target}${req.url ?? "/"}`, { method: req.method, headers }, (up) => {
      seen.contentType.push(up.headers["content-type"] ?? "");
      res.writeHead(up.statusCode ?? 502, up.headers);
      up.pipe(res);
    });
    upstream.on("error", () => {
      res.destroy();
    });
    req.pipe(upstream);
  });
  return new Promise((resolve) => {
    server.listen(0, "127.0.0.1", () => {
      resolve({ server, port: (server.address() as AddressInfo).port, seen });
    });
  });
}

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, "127.0.0.1", r));
  const port = (s.address() as AddressInfo).port;
  await new Promise<void>((r) =>
    s.close(() => {
      r();
    }),
  );
  return port;
}

/** `name{labels}` with labels sorted, job/instance dropped → value, from an exposition. */
function samplesOf(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split("\n")) {
    if (line === "" || line.startsWith("#")) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m) throw new Error(`unparsed line: ${line}`);
    const labels = [...(m[2] ?? "").matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)].map(
      (l) => [l[1] ?? "", JSON.parse(`"${l[2] ?? ""}"`) as string] as const,
    );
    out.set(key(m[1] ?? "", Object.fromEntries(labels)), Number(m[3]));
  }
  return out;
}

function key(name: string, labels: Record<string, string>): string {
  const pairs = Object.entries(labels)
    .filter(([k]) => k !== "__name__" && k !== "job" && k !== "instance")
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `${name}{${pairs.map(([k, v]) => `${k}=${JSON.stringify(v)}`).join(",")}}`;
}

interface VectorSample {
  metric: Record<string, string>;
  value: [number, string];
}

let promUrl = "";

async function query(q: string): Promise<VectorSample[]> {
  const res = await fetch(`${promUrl}/api/v1/query?query=${encodeURIComponent(q)}`);
  const body = (await res.json()) as { status: string; data?: { result: VectorSample[] }; error?: string };
  if (body.status !== "success" || !body.data) throw new Error(`query ${q}: ${body.error ?? res.status}`);
  return body.data.result;
}

function fromPrometheus(result: VectorSample[]): Map<string, number> {
  return new Map(result.map((s) => [key(s.metric.__name__ ?? "", s.metric), Number(s.value[1])]));
}

(enabled ? describe : describe.skip)("a real Prometheus scraping the exporter", () => {
  let live: Live;
  let prom: ChildProcess | undefined;
  let promLog = "";
  let dir = "";
  const proxies: { server: Server; seen: Seen }[] = [];
  let om: Seen;
  let text: Seen;

  beforeAll(async () => {
    live = await startLive({ sim: { seedPaths: KUBESTASH_SEEDS } });
    await live.exporter.whenReady();
    const omProxy = await proxy(live.metricsUrl);
    const textProxy = await proxy(live.metricsUrl, "text/plain;version=0.0.4");
    proxies.push(omProxy, textProxy);
    om = omProxy.seen;
    text = textProxy.seen;
    dir = mkdtempSync(join(tmpdir(), "csm-prometheus-"));
    const port = await freePort();
    promUrl = `http://127.0.0.1:${port}`;
    const job = (name: string, target: number): string =>
      [
        `  - job_name: ${name}`,
        "    honor_labels: true",
        "    scrape_interval: 1s",
        "    scrape_timeout: 1s",
        "    static_configs:",
        `      - targets: ["127.0.0.1:${target}"]`,
      ].join("\n");
    writeFileSync(
      join(dir, "prometheus.yml"),
      [
        "global:",
        "  scrape_interval: 1s",
        "scrape_configs:",
        job("om", omProxy.port),
        job("text", textProxy.port),
        "",
      ].join("\n"),
    );
    prom = spawn(
      "prometheus",
      [
        `--config.file=${join(dir, "prometheus.yml")}`,
        `--storage.tsdb.path=${join(dir, "data")}`,
        `--web.listen-address=127.0.0.1:${port}`,
      ],
      { stdio: ["ignore", "ignore", "pipe"] },
    );
    prom.stderr?.on("data", (c: Buffer) => {
      promLog = (promLog + c.toString("utf8")).slice(-20_000);
    });
    await eventually(
      async () => {
        const up = await query("up").catch(() => []);
        return up.filter((s) => s.value[1] === "1").length === 2;
      },
      // Generous: Prometheus starts its scrape loops only after its TSDB and first discovery
      // round, which can take a while on a loaded CI machine.
      60_000,
      "both Prometheus jobs up",
      () => promLog,
    );
  }, 90_000);

  afterAll(async () => {
    if (prom && prom.exitCode === null) {
      const exited = new Promise((r) => prom?.once("exit", r));
      prom.kill("SIGTERM");
      await exited;
    }
    for (const p of proxies) p.server.close();
    await live.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("negotiated OpenMetrics on one job and the text format on the other", () => {
    expect(om.accept[0]).toMatch(/^application\/openmetrics-text/);
    expect(om.contentType.every((c) => c.startsWith("application/openmetrics-text; version=1.0.0"))).toBe(
      true,
    );
    expect(text.contentType.every((c) => c.startsWith("text/plain; version=0.0.4"))).toBe(true);
    expect(text.contentType.length).toBeGreaterThan(0);
  });

  it.each(["om", "text"])("PromQL returns every KubeStash series with its value (job %s)", async (job) => {
    const served = samplesOf(await scrape(live.metricsUrl));
    let got = new Map<string, number>();
    await eventually(
      async () => {
        got = fromPrometheus(await query(`{__name__=~"(core|storage)_kubestash_com_.+", job="${job}"}`));
        return got.size === served.size;
      },
      15_000,
      `all ${served.size} series in Prometheus`,
      () => `got ${got.size}`,
    );
    expect(got).toEqual(served);
  });

  it.each(["om", "text"])("the …_created and …_total gauges are plain series (job %s)", async (job) => {
    for (const name of [
      "core_kubestash_com_backupsession_created",
      "storage_kubestash_com_repository_snapshot_count_total",
      "storage_kubestash_com_snapshot_component_count_total",
    ]) {
      const r = await query(`${name}{job="${job}"}`);
      expect([name, r.length > 0]).toEqual([name, true]);
    }
    const created = await query(
      `core_kubestash_com_backupsession_created{job="${job}",backupsession="mysql-nightly-1709258400"}`,
    );
    expect(created.map((s) => Number(s.value[1]))).toEqual([1709258400]); // 2024-03-01T02:00:00Z;
    const up = await query(`up{job="${job}"}`);
    expect(up.map((s) => s.value[1])).toEqual(["1"]);
  });
});
