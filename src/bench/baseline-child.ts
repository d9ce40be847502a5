/**
 * The comparison servers of the benchmark, one per process:
 *  - floor: the identical exposition bytes from one prebuilt Buffer over node:http (and, for
 *    gzip, one prebuilt gzip Buffer): no server can do less work per scrape;
 *  - prom-client: the identical series held in prom-client Gauges, served by registry.metrics();
 *  - naive: an informer-style cache of whole objects, every object rendered on every scrape with
 *    every path evaluated through jsonpath-plus (no compiled accessors, nothing kept rendered).
 */
import { readFile } from "node:fs/promises";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { gzipSync } from "node:zlib";
import { Gauge, Registry } from "prom-client";
import { loadConfigurations } from "../config/load.js";
import { buildPlan, type TargetPlan } from "../engine/plan.js";
import { objectIdentity, renderObject } from "../engine/evaluate.js";
import { familyHeader } from "../exposition/format.js";
import { parseValidated, type CompiledPath } from "../jsonpath/index.js";
import type { CompiledMetric, CompiledValue } from "../config/compiled.js";
import { compileReference } from "../jsonpath/translate.js";
import { createKubeApi, Discovery, type KubeObject } from "../kube/index.js";
import { announce, memoryAfterGc, serveCommands } from "./ipc.js";

const TEXT = "text/plain; version=0.0.4; charset=utf-8";
type Handler = (req: IncomingMessage, res: ServerResponse) => void;

async function floor(file: string): Promise<Handler> {
  const body = await readFile(file);
  const gz = gzipSync(body, { level: 1 });
  return (req, res) => {
    const gzip = /\bgzip\b/.test(req.headers["accept-encoding"] ?? "");
    res.writeHead(200, {
      "content-type": TEXT,
      ...(gzip ? { "content-encoding": "gzip" } : {}),
    });
    res.end(gzip ? gz : body);
  };
}

/** Parses `name{k="v",...} value` lines of our own output (escapes: \\ \" \n). */
function parseSeries(line: string): { name: string; labels: Record<string, string>; value: number } {
  const brace = line.indexOf("{");
  const space = line.lastIndexOf(" ");
  const value = Number(line.slice(space + 1));
  if (brace < 0 || brace > space) return { name: line.slice(0, space), labels: {}, value };
  const name = line.slice(0, brace);
  const labels: Record<string, string> = {};
  let i = brace + 1;
  while (i < line.length && line[i] !== "}") {
    const eq = line.indexOf("=", i);
    const key = line.slice(i, eq);
    let j = eq + 2;
    let v = "";
    while (line[j] !== '"') {
      if (line[j] === "\\") {
        const n = line[j + 1];
        v += n === "n" ? "\n" : (n ?? "");
        j += 2;
      } else v += line[j++] ?? "";
    }
    labels[key] = v;
    i = line[j + 1] === "," ? j + 2 : j + 1;
  }
  return { name, labels, value };
}

async function promClient(file: string): Promise<Handler> {
  const text = await readFile(file, "utf8");
  const registry = new Registry();
  const help = new Map<string, string>();
  const series = new Map<string, { labels: Record<string, string>; value: number }[]>();
  for (const line of text.split("\n")) {
    if (line === "") continue;
    if (line.startsWith("# HELP ")) {
      const sp = line.indexOf(" ", 7);
      help.set(line.slice(7, sp), line.slice(sp + 1));
      continue;
    }
    if (line.startsWith("#")) continue;
    const s = parseSeries(line);
    let list = series.get(s.name);
    if (!list) series.set(s.name, (list = []));
    list.push({ labels: s.labels, value: s.value });
  }
  for (const [name, list] of series) {
    const labelNames = new Set<string>();
    for (const s of list) for (const k of Object.keys(s.labels)) labelNames.add(k);
    const gauge = new Gauge({
      name,
      help: help.get(name) ?? name,
      labelNames: [...labelNames],
      registers: [registry],
    });
    for (const s of list) gauge.set(s.labels, s.value);
  }
  return (_req, res) => {
    registry
      .metrics()
      .then((out) => {
        res.writeHead(200, { "content-type": registry.contentType });
        res.end(out);
      })
      .catch((err: unknown) => {
        res.writeHead(500);
        res.end(String(err));
      });
  };
}

/** Every path of a metric evaluated by jsonpath-plus (the reference), none by plain accessors. */
function viaJsonPathPlus(metric: CompiledMetric): void {
  const swap = (path: CompiledPath | undefined): void => {
    if (path)
      (path as { evaluate: CompiledPath["evaluate"] }).evaluate = compileReference(
        parseValidated(path.source),
      );
  };
  const swapValue = (v: CompiledValue | undefined): void => {
    if (v?.kind === "path") swap(v.path.path);
  };
  swap(metric.field?.path);
  for (const l of [...metric.labels, ...metric.params]) if (l.kind === "path") swap(l.path.path);
  swapValue(metric.value);
  for (const s of metric.states?.values ?? []) swapValue(s.value);
}

async function naive(kubeconfig: string, configs: string[]): Promise<Handler> {
  const { configurations } = await loadConfigurations(configs);
  const plan = buildPlan(configurations);
  for (const t of plan.targets.values()) for (const m of t.metrics) viaJsonPathPlus(m.metric);
  const api = createKubeApi({ kubeconfig });
  const discovery = new Discovery(api);
  const cache = new Map<TargetPlan, Map<string, KubeObject>>();
  for (const target of plan.targets.values()) {
    const ref = await discovery.resolve(target.target.apiVersion, target.target.kind);
    if (!ref) continue;
    const objects = new Map<string, KubeObject>();
    let cont: string | undefined;
    do {
      const page = await api.list(ref, { limit: 500, continue: cont });
      for (const o of page.items) objects.set(`${o.metadata.namespace ?? ""}/${o.metadata.name}`, o);
      cont = page.continue;
    } while (cont !== undefined);
    cache.set(target, objects);
  }
  const render = (): string => {
    const byFamily = new Map<string, [string, string][]>();
    for (const [target, objects] of cache) {
      for (const obj of objects.values()) {
        const id = objectIdentity(obj);
        if (!id) continue;
        const key = `${id.namespace}\u0000${id.name}\u0000${target.key}`;
        renderObject(target, obj).forEach((fragment, slot) => {
          if (fragment === undefined) return;
          const family = target.families[slot] ?? "";
          let list = byFamily.get(family);
          if (!list) byFamily.set(family, (list = []));
          list.push([key, fragment]);
        });
      }
    }
    let out = "";
    for (const name of [...byFamily.keys()].sort()) {
      const list = byFamily.get(name) ?? [];
      list.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
      out += familyHeader(name, plan.families.get(name)?.help ?? "", "text");
      for (const [, fragment] of list) out += fragment;
    }
    return out;
  };
  return (_req, res) => {
    const body = render();
    res.writeHead(200, { "content-type": TEXT });
    res.end(body);
  };
}

const [kind = "floor", argJson = "{}"] = process.argv.slice(2);
const args = JSON.parse(argJson) as { file?: string; kubeconfig?: string; configs?: string[] };
const spawnedAt = Number(process.env.CSM_BENCH_SPAWNED_AT ?? Date.now());
let handler: Handler;
if (kind === "floor") handler = await floor(args.file ?? "");
else if (kind === "prom-client") handler = await promClient(args.file ?? "");
else handler = await naive(args.kubeconfig ?? "", args.configs ?? []);
const server = createServer(handler);
server.keepAliveTimeout = 120_000;
await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
announce("ready", { readyMs: Date.now() - spawnedAt, port: (server.address() as AddressInfo).port });
serveCommands({ memory: () => memoryAfterGc() });
process.on("SIGTERM", () => {
  server.closeAllConnections();
  server.close(() => process.exit(0));
});
