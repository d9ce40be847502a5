import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { apiGroup, apiGroupList, apiResourceList, apiVersions, SERVER_VERSION } from "./discovery.js";
import { Faults } from "./faults.js";
import { resourceMatches } from "./faults.js";
import { ResourceHandlers, type Route } from "./handlers.js";
import { sendError, sendJson } from "./http.js";
import { Objects, type PatchType } from "./objects.js";
import { openApiV3GroupVersion, openApiV3Root } from "./openapi.js";
import { CRD_GROUP, Registry, splitApiVersion, storageKey, type ResourceInfo } from "./registry.js";
import { loadSeedFiles, orderForSeeding } from "./seed.js";
import { ApiError, errors } from "./status.js";
import { defaultStoreOptions, Store } from "./store.js";
import { generateKubeStashEstate } from "./synthetic.js";
import {
  clone,
  getString,
  metadataOf,
  nameOf,
  namespaceOf,
  type JsonObject,
  type KubeObject,
} from "./types.js";
import type { WatchStream } from "./watch.js";

export interface ApiServerOptions {
  /** Listen address; loopback by default since there is no authentication. */
  host?: string;
  /** 0 (the default) picks a free port. */
  port?: number;
  /** Events a watch can resume from before 410 Gone. Default 10,000. */
  eventWindow?: number;
  /** Period of BOOKMARK events on watches that allow them. Default 5 s. */
  bookmarkIntervalMs?: number;
  /** Applied when a watch gives no `timeoutSeconds`. Default 1800 s. */
  defaultWatchTimeoutSeconds?: number;
  /** Events queued for one watcher before it is cut off. Default 500,000. */
  maxWatchQueue?: number;
  /** First resourceVersion (the counter starts above it). Default 1000. */
  initialResourceVersion?: number;
  /** Files or directories of YAML/JSON manifests to load at start. */
  seedPaths?: string[];
  /** Objects to load at start (after seedPaths). */
  objects?: KubeObject[];
  /** Add a synthetic KubeStash estate of this many objects (CRDs are loaded with it). */
  synthetic?: number;
  /** PRNG seed for the synthetic estate. Default 1. */
  syntheticSeed?: number;
  /** Where the KubeStash CRDs live; the synthetic estate needs them. Default deploy/crds/kubestash. */
  kubestashCrdDir?: string;
  /** Called with one line per request (method, URL, media types), for debugging clients. */
  log?: (line: string) => void;
}

/** Identifies one object for the in-process API. */
export interface ObjectRef {
  apiVersion: string;
  kind: string;
  name: string;
  namespace?: string;
}

export interface ApiServer {
  /** `http://host:port`, for kubeconfigs and `kubectl --server`. */
  readonly url: string;
  readonly host: string;
  readonly port: number;
  readonly faults: Faults;
  /** The current global resourceVersion. */
  readonly resourceVersion: string;
  /** Open watch streams, for tests that wait for a client to (re)connect. */
  readonly openWatches: number;
  /** Every object returned below is a fresh copy the caller may change freely. */
  /** Create with trusted semantics: status kept, missing namespaces created. */
  create(obj: KubeObject): KubeObject;
  /** Replace an object; a `metadata.resourceVersion` in `obj` is checked as by PUT. */
  update(obj: KubeObject): KubeObject;
  /** Create, or replace whatever is there (no conflict check). */
  upsert(obj: KubeObject): KubeObject;
  patch(ref: ObjectRef, type: PatchType, patch: unknown): KubeObject;
  delete(ref: ObjectRef): KubeObject;
  get(ref: ObjectRef): KubeObject | undefined;
  list(apiVersion: string, kind: string, namespace?: string): KubeObject[];
  /** Load manifests: CRDs first, then Namespaces, then the rest; existing objects are replaced. */
  load(objects: Iterable<KubeObject>): number;
  /** A kubeconfig (YAML) pointing at this server with a credential-less user. */
  kubeconfig(contextName?: string): string;
  close(): Promise<void>;
}

interface ParsedPath {
  group: string;
  version: string;
  rest: string[];
}

function splitPath(pathname: string): ParsedPath | undefined {
  const parts = pathname
    .split("/")
    .filter((p) => p.length > 0)
    .map(decodeURIComponent);
  if (parts[0] === "api" && parts[1] !== undefined)
    return { group: "", version: parts[1], rest: parts.slice(2) };
  if (parts[0] === "apis" && parts[1] !== undefined && parts[2] !== undefined)
    return { group: parts[1], version: parts[2], rest: parts.slice(3) };
  return undefined;
}

/**
 * A kubeconfig for the simulator. The cluster is marked `insecure-skip-tls-verify` because
 * client-node refuses an `http:` server otherwise; kubectl accepts that too.
 */
export function kubeconfigYaml(url: string, contextName = "crd-state-metrics-sim"): string {
  return [
    "apiVersion: v1",
    "kind: Config",
    "clusters:",
    `- name: ${contextName}`,
    "  cluster:",
    `    server: ${url}`,
    // client-node refuses plain-http servers unless TLS verification is explicitly off.
    "    insecure-skip-tls-verify: true",
    "contexts:",
    `- name: ${contextName}`,
    "  context:",
    `    cluster: ${contextName}`,
    `    user: ${contextName}`,
    "    namespace: default",
    `current-context: ${contextName}`,
    "users:",
    `- name: ${contextName}`,
    "  user: {}",
    "preferences: {}",
    "",
  ].join("\n");
}

class SimServer implements ApiServer {
  readonly registry = new Registry();
  readonly store: Store;
  readonly objects: Objects;
  readonly faults: Faults;
  private readonly watches = new Set<WatchStream>();
  private readonly handlers: ResourceHandlers;
  private server: Server | undefined;
  host = "";
  port = 0;

  constructor(private readonly options: ApiServerOptions) {
    this.store = new Store({
      ...defaultStoreOptions,
      windowSize: options.eventWindow ?? defaultStoreOptions.windowSize,
      initialResourceVersion: options.initialResourceVersion ?? defaultStoreOptions.initialResourceVersion,
    });
    this.objects = new Objects(this.registry, this.store);
    this.objects.onResourceRemoved = (info) => {
      // kube-apiserver ends watches on a resource that stopped being served, after delivering
      // the DELETED events of its objects.
      for (const w of [...this.watches]) if (storageKey(w.info) === storageKey(info)) w.finish();
    };
    this.faults = new Faults(
      {
        drop: (resource) =>
          this.eachWatch(resource, (w) => {
            w.drop();
          }),
        hang: (resource) =>
          this.eachWatch(resource, (w) => {
            w.hang();
          }),
      },
      {
        compact: () => {
          this.store.compact();
        },
        restart: (base) => {
          const next = base ?? this.store.resourceVersion + 100_000;
          this.store.resetResourceVersion(next);
          return next;
        },
      },
    );
    this.handlers = new ResourceHandlers({
      objects: this.objects,
      store: this.store,
      faults: this.faults,
      watches: this.watches,
      bookmarkIntervalMs: options.bookmarkIntervalMs ?? 5000,
      defaultWatchTimeoutSeconds: options.defaultWatchTimeoutSeconds ?? 1800,
      maxWatchQueue: options.maxWatchQueue ?? 500_000,
    });
  }

  private eachWatch(resource: string | undefined, fn: (w: WatchStream) => void): number {
    let n = 0;
    for (const w of [...this.watches]) {
      if (!resourceMatches(resource, w.info)) continue;
      fn(w);
      n++;
    }
    return n;
  }

  get url(): string {
    const host = this.host.includes(":") ? `[${this.host}]` : this.host;
    return `http://${host}:${this.port}`;
  }

  get resourceVersion(): string {
    return String(this.store.resourceVersion);
  }

  get openWatches(): number {
    return this.watches.size;
  }

  async listen(): Promise<void> {
    const server = createServer((req, res) => {
      this.dispatch(req, res).catch((err: unknown) => {
        this.fail(res, err);
      });
    });
    // Watches are long-lived; node's default request timeouts would cut them.
    server.requestTimeout = 0;
    server.headersTimeout = 60_000;
    server.keepAliveTimeout = 65_000;
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(this.options.port ?? 0, this.options.host ?? "127.0.0.1", () => {
        server.off("error", reject);
        resolve();
      });
    });
    const addr = server.address() as AddressInfo;
    this.host = this.options.host ?? "127.0.0.1";
    this.port = addr.port;
  }

  private fail(res: ServerResponse, err: unknown): void {
    if (res.headersSent) {
      res.destroy();
      return;
    }
    const apiErr =
      err instanceof ApiError ? err : errors.internal(err instanceof Error ? err.message : String(err));
    sendError(res, apiErr);
  }

  private async dispatch(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? "/", "http://sim.invalid");
    if (this.options.log)
      this.options.log(
        `${req.method ?? "?"} ${req.url ?? ""} content-type=${req.headers["content-type"] ?? "-"} accept=${req.headers.accept ?? "-"}`,
      );
    const path = url.pathname.replace(/\/+$/, "") || "/";
    if (req.method === "GET" || req.method === "HEAD") {
      const doc = this.discovery(path);
      if (doc !== undefined) {
        sendJson(res, 200, doc);
        return;
      }
    }
    const route = this.route(path);
    if (!route) throw new ApiError(404, "NotFound", "the server could not find the requested resource");
    await this.handlers.handle(route, req, res, url.searchParams);
  }

  private discovery(path: string): JsonObject | undefined {
    if (path === "/version") return SERVER_VERSION;
    if (path === "/healthz" || path === "/livez" || path === "/readyz") return { status: "ok" };
    if (path === "/api") return apiVersions(`${this.host}:${this.port}`);
    if (path === "/apis") return apiGroupList(this.registry);
    if (path === "/openapi/v3") return openApiV3Root(this.registry);
    if (path.startsWith("/openapi/v3/")) {
      const rel = path.slice("/openapi/v3/".length).split("/");
      const [group, version] = rel[0] === "api" ? ["", rel[1]] : [rel[1], rel[2]];
      if (
        version === undefined ||
        group === undefined ||
        !this.registry.groups().get(group)?.includes(version)
      )
        return undefined;
      return openApiV3GroupVersion(this.registry, group, version);
    }
    const parsed = splitPath(path);
    if (!parsed) {
      const m = /^\/apis\/([^/]+)$/.exec(path);
      const versions = m?.[1] !== undefined ? this.registry.groups().get(m[1]) : undefined;
      return m?.[1] !== undefined && versions ? apiGroup(m[1], versions) : undefined;
    }
    if (parsed.rest.length === 0) return apiResourceList(this.registry, parsed.group, parsed.version);
    return undefined;
  }

  private route(path: string): Route | undefined {
    const parsed = splitPath(path);
    if (!parsed) return undefined;
    const { group, version } = parsed;
    let rest = parsed.rest;
    let watch = false;
    if (rest[0] === "watch") {
      watch = true;
      rest = rest.slice(1);
    }
    let namespace = "";
    // `/namespaces/x/<plural>` is a namespaced collection; `/namespaces/x[/status]` is a Namespace.
    if (
      rest[0] === "namespaces" &&
      rest.length >= 3 &&
      !(group === "" && rest.length === 3 && ["status", "finalize"].includes(rest[2] ?? ""))
    ) {
      namespace = rest[1] ?? "";
      rest = rest.slice(2);
    }
    const [plural, name, subresource, ...extra] = rest;
    if (plural === undefined || extra.length > 0) return undefined;
    const info = this.registry.resolve(group, version, plural);
    if (!info) return undefined;
    if (namespace && !info.namespaced) return undefined;
    const route: Route = { info, version, namespace, watch };
    if (name !== undefined) route.name = name;
    if (subresource !== undefined) route.subresource = subresource;
    return route;
  }

  // ---- in-process API ----

  private infoFor(apiVersion: string, kind: string): ResourceInfo {
    const { group, version } = splitApiVersion(apiVersion);
    const info = this.registry.byKind(group, version, kind);
    if (!info) throw new ApiError(404, "NotFound", `no resource serves ${kind} in ${apiVersion}`);
    return info;
  }

  create(obj: KubeObject): KubeObject {
    const info = this.infoFor(getString(obj, "apiVersion") ?? "", getString(obj, "kind") ?? "");
    return this.objects.create(info, namespaceOf(obj), obj, { trusted: true });
  }

  /** Bulk loading of freshly generated objects: no defensive copies in or out. */
  adopt(obj: KubeObject): void {
    const info = this.infoFor(getString(obj, "apiVersion") ?? "", getString(obj, "kind") ?? "");
    this.objects.create(info, namespaceOf(obj), obj, { trusted: true, adopt: true });
  }

  update(obj: KubeObject): KubeObject {
    const info = this.infoFor(getString(obj, "apiVersion") ?? "", getString(obj, "kind") ?? "");
    return this.objects.update(info, namespaceOf(obj), nameOf(obj), obj, { trusted: true });
  }

  upsert(obj: KubeObject): KubeObject {
    const info = this.infoFor(getString(obj, "apiVersion") ?? "", getString(obj, "kind") ?? "");
    const existing = this.store.get(
      storageKey(info),
      info.namespaced ? `${namespaceOf(obj)}/${nameOf(obj)}` : nameOf(obj),
    );
    if (!existing) return this.create(obj);
    const next = clone(obj);
    const meta = metadataOf(next);
    delete meta.resourceVersion;
    next.metadata = meta;
    return this.objects.update(info, namespaceOf(obj), nameOf(obj), next, { trusted: true });
  }

  patch(ref: ObjectRef, type: PatchType, patch: unknown): KubeObject {
    const info = this.infoFor(ref.apiVersion, ref.kind);
    return this.objects.patch(info, ref.namespace ?? "", ref.name, type, patch, { trusted: true });
  }

  delete(ref: ObjectRef): KubeObject {
    const info = this.infoFor(ref.apiVersion, ref.kind);
    return this.objects.delete(info, ref.namespace ?? "", ref.name);
  }

  get(ref: ObjectRef): KubeObject | undefined {
    const info = this.infoFor(ref.apiVersion, ref.kind);
    try {
      const version = splitApiVersion(ref.apiVersion).version;
      return this.objects.present(info, version, this.objects.get(info, ref.namespace ?? "", ref.name));
    } catch (err) {
      if (err instanceof ApiError && err.code === 404) return undefined;
      throw err;
    }
  }

  list(apiVersion: string, kind: string, namespace = ""): KubeObject[] {
    const info = this.infoFor(apiVersion, kind);
    const version = splitApiVersion(apiVersion).version;
    return this.objects
      .list(info, namespace, { labels: [], fields: [] })
      .map((o) => this.objects.present(info, version, o));
  }

  load(objects: Iterable<KubeObject>): number {
    let n = 0;
    for (const obj of orderForSeeding(objects)) {
      this.upsert(obj);
      n++;
    }
    return n;
  }

  kubeconfig(contextName?: string): string {
    return kubeconfigYaml(this.url, contextName);
  }

  async close(): Promise<void> {
    for (const w of [...this.watches]) w.drop();
    const server = this.server;
    if (!server) return;
    await new Promise<void>((resolve) => {
      server.close(() => {
        resolve();
      });
      server.closeAllConnections();
    });
  }
}

/** Start an embedded Kubernetes API server (plain HTTP, no auth) and seed it as asked. */
export async function startApiServer(options: ApiServerOptions = {}): Promise<ApiServer> {
  const sim = new SimServer(options);
  for (const name of ["default", "kube-system", "kube-public"])
    sim.create({ apiVersion: "v1", kind: "Namespace", metadata: { name } });
  if (options.seedPaths && options.seedPaths.length > 0) sim.load(await loadSeedFiles(options.seedPaths));
  if (options.objects) sim.load(options.objects);
  if (options.synthetic !== undefined && options.synthetic > 0) {
    const crdDir = options.kubestashCrdDir ?? defaultKubeStashCrdDir();
    sim.load(
      (await loadSeedFiles([crdDir])).filter(
        (o) => o.kind === "CustomResourceDefinition" && getString(o, "apiVersion") === `${CRD_GROUP}/v1`,
      ),
    );
    // Objects are generated in key order per resource, so every insert is an append.
    for (const obj of generateKubeStashEstate(options.synthetic, options.syntheticSeed ?? 1)) sim.adopt(obj);
  }
  await sim.listen();
  return sim;
}

function defaultKubeStashCrdDir(): string {
  // dist/sim/server.js or src/sim/server.ts → <package root>/deploy/crds/kubestash
  return new URL("../../deploy/crds/kubestash", import.meta.url).pathname;
}
