/**
 * Every query of the shipped Grafana dashboards, run against a real Prometheus that scrapes a real
 * `crd-state-metrics demo` (both ports, 1 s interval, honor_labels as in deploy/prometheus). A
 * query Prometheus rejects fails, and so does a panel none of whose queries returns data, or a
 * template variable with no values.
 */
import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { MAIN, ROOT } from "./support/cli.js";
import { requireTool } from "./support/exposition-tools.js";

const hasPrometheus = spawnSync("prometheus", ["--version"], { encoding: "utf8" }).status === 0;
const enabled = requireTool(hasPrometheus, "prometheus");

interface Target {
  expr: string;
  refId: string;
}
interface Panel {
  id: number;
  type: string;
  title: string;
  targets?: Target[];
  panels?: Panel[];
}
interface Variable {
  name: string;
  type: string;
  query?: { query: string } | string;
}
interface Dashboard {
  title: string;
  panels: Panel[];
  templating: { list: Variable[] };
}

const DASHBOARDS = ["kubestash.json", "crd-state-metrics.json"];

async function loadDashboard(file: string): Promise<Dashboard> {
  return JSON.parse(await readFile(join(ROOT, "deploy", "grafana", file), "utf8")) as Dashboard;
}

function allPanels(panels: readonly Panel[]): Panel[] {
  return panels.flatMap((p) => [p, ...allPanels(p.panels ?? [])]);
}

/** Grafana's variables replaced the way "All" (`.*`) or the default job would expand them. */
function substitute(expr: string): string {
  const concrete: Record<string, string> = { job: "crd-state-metrics" };
  return expr
    .replace(/\$__rate_interval|\$\{__rate_interval\}/g, "1m")
    .replace(/\$__(interval|range)\b|\$\{__(interval|range)\}/g, "1m")
    .replace(/\$\{?([a-z_]+)\}?/g, (_all, name: string) => concrete[name] ?? ".*");
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const addr = srv.address();
      const port = typeof addr === "object" && addr !== null ? addr.port : 0;
      srv.close(() => {
        resolve(port);
      });
    });
  });
}

interface PromResponse {
  status: string;
  error?: string;
  data?: { resultType?: string; result?: unknown[] } | string[];
}

async function prom(base: string, path: string, params: Record<string, string>): Promise<PromResponse> {
  const url = `${base}${path}?${new URLSearchParams(params).toString()}`;
  const res = await fetch(url);
  return (await res.json()) as PromResponse;
}

function resultCount(r: PromResponse): number {
  if (r.data === undefined) return 0;
  if (Array.isArray(r.data)) return r.data.length;
  return r.data.result?.length ?? 0;
}

async function waitFor(what: string, check: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      if (await check()) return;
    } catch {
      // not up yet
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

const d = enabled ? describe : describe.skip;

d("Grafana dashboards against Prometheus scraping demo", () => {
  const children: ChildProcess[] = [];
  const logs: string[] = [];
  let dir = "";
  let base = "";

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "csm-dash-"));
    const [port, telemetry, api, promPort] = [
      await freePort(),
      await freePort(),
      await freePort(),
      await freePort(),
    ];
    const demo = spawn(
      process.execPath,
      [
        MAIN,
        "demo",
        "--port",
        String(port),
        "--telemetry-port",
        String(telemetry),
        "--api-port",
        String(api),
      ],
      { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] },
    );
    children.push(demo);
    demo.stderr.on("data", (b: Buffer) => logs.push(b.toString()));
    const config = [
      "global: { scrape_interval: 1s, evaluation_interval: 1s }",
      "scrape_configs:",
      "  - job_name: crd-state-metrics",
      "    honor_labels: true",
      "    static_configs:",
      `      - targets: ['127.0.0.1:${port}']`,
      "        labels: { endpoint: metrics }",
      `      - targets: ['127.0.0.1:${telemetry}']`,
      "        labels: { endpoint: telemetry }",
      "",
    ].join("\n");
    await writeFile(join(dir, "prometheus.yml"), config);
    const prometheus = spawn(
      "prometheus",
      [
        `--config.file=${join(dir, "prometheus.yml")}`,
        `--storage.tsdb.path=${join(dir, "data")}`,
        `--web.listen-address=127.0.0.1:${promPort}`,
        "--log.level=warn",
      ],
      { cwd: dir, stdio: ["ignore", "ignore", "pipe"] },
    );
    children.push(prometheus);
    prometheus.stderr.on("data", (b: Buffer) => logs.push(b.toString()));
    base = `http://127.0.0.1:${promPort}`;
    await waitFor(
      "Prometheus to hold state and telemetry series",
      async () => {
        const state = await prom(base, "/api/v1/query", {
          query: "count(core_kubestash_com_backupsession_info)",
        });
        const own = await prom(base, "/api/v1/query", { query: "count(crd_state_metrics_build_info)" });
        return resultCount(state) > 0 && resultCount(own) > 0;
      },
      45_000,
    ).catch((err: unknown) => {
      throw new Error(`${String(err)}\n${logs.join("").slice(-2000)}`);
    });
    // Enough samples for rate() and increase() over a 1m window, and for watch activity to show.
    await new Promise((r) => setTimeout(r, 6000));
  }, 80_000);

  afterAll(async () => {
    for (const c of children) c.kill("SIGTERM");
    await Promise.all(
      children.map(
        (c) =>
          new Promise<void>((resolve) => {
            if (c.exitCode !== null || c.signalCode !== null) resolve();
            else
              c.once("exit", () => {
                resolve();
              });
          }),
      ),
    );
    if (dir !== "") await rm(dir, { recursive: true, force: true });
  });

  for (const file of DASHBOARDS) {
    it(`${file}: every panel query is valid and some query of each panel returns data`, async () => {
      const dash = await loadDashboard(file);
      const problems: string[] = [];
      let queries = 0;
      for (const panel of allPanels(dash.panels)) {
        if (panel.type === "row") continue;
        const targets = panel.targets ?? [];
        if (targets.length === 0) problems.push(`panel "${panel.title}": no queries`);
        let withData = 0;
        for (const t of targets) {
          queries++;
          const expr = substitute(t.expr);
          const r = await prom(base, "/api/v1/query", { query: expr });
          if (r.status !== "success") {
            problems.push(`panel "${panel.title}" ${t.refId}: ${r.error ?? "error"}: ${expr}`);
          } else if (resultCount(r) > 0) {
            withData++;
          }
        }
        if (targets.length > 0 && withData === 0) problems.push(`panel "${panel.title}": no data`);
      }
      expect(problems).toEqual([]);
      expect(queries).toBeGreaterThan(10);
    });

    it(`${file}: every query variable has values`, async () => {
      const dash = await loadDashboard(file);
      const problems: string[] = [];
      for (const v of dash.templating.list) {
        if (v.type !== "query") continue;
        const q = typeof v.query === "string" ? v.query : (v.query?.query ?? "");
        const m = /^label_values\((.*),\s*([a-zA-Z_][a-zA-Z0-9_]*)\)$/.exec(q.trim());
        if (!m) {
          problems.push(`variable ${v.name}: not a label_values(selector, label) query: ${q}`);
          continue;
        }
        const r = await prom(base, `/api/v1/label/${m[2]!}/values`, { "match[]": substitute(m[1]!) });
        if (r.status !== "success") problems.push(`variable ${v.name}: ${r.error ?? "error"}`);
        else if (resultCount(r) === 0) problems.push(`variable ${v.name}: no values`);
      }
      expect(problems).toEqual([]);
    });
  }
});
