/**
 * The only module that imports @kubernetes/client-node. It is used for what it does well —
 * kubeconfig loading and authentication (certificates, tokens, exec and auth-provider plugins) —
 * while requests go through node:http(s) directly:
 *   - client-node's Watch drops the error body and Retry-After, reports activity only per whole
 *     line, and cannot be aborted before response headers arrive (a hung server leaks it);
 *   - its generated APIs build model instances per object, which a 100k-object list cannot afford,
 *     and they need per-kind typing while custom resources need one generic path.
 */
import http from "node:http";
import https from "node:https";
import { KubeConfig } from "@kubernetes/client-node";
import {
  errorFromStatus,
  KubeApiError,
  type KubeApi,
  type ListOptions,
  type WatchCallbacks,
  type WatchHandle,
  type WatchOptions,
} from "./api.js";
import { stripMembers, UNREAD_METADATA, WATCH_OBJECT_METADATA } from "./strip.js";
import {
  apiVersionOf,
  collectionPath,
  isRecord,
  toKubeObject,
  type KubeObject,
  type ListPage,
  type ResourceRef,
  type WatchEventType,
} from "./types.js";

export interface KubeConnectOptions {
  /** Path of a kubeconfig file (`--kubeconfig`). */
  kubeconfig?: string;
  /** Context name within the kubeconfig (`--context`). */
  context?: string;
  /** Talk to this URL directly (embedded API server, tests); bypasses kubeconfig loading. */
  server?: string;
  /** Bearer token to use with `server`. */
  token?: string;
  /** Idle timeout for non-watch requests; a list page that stalls this long fails. */
  requestTimeoutMs?: number;
  userAgent?: string;
}

export class KubeConfigError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "KubeConfigError";
  }
}

export interface LoadedKubeConfig {
  config: KubeConfig;
  /** Where it came from, for one log line. */
  source: "server" | "file" | "in-cluster" | "default";
  context: string;
  server: string;
}

/**
 * `--kubeconfig`/`--context` → that file and context; neither and running in a pod → in-cluster;
 * otherwise client-node's default loading rules (KUBECONFIG, ~/.kube/config, ...).
 */
export function loadKubeConfig(options: KubeConnectOptions = {}): LoadedKubeConfig {
  const kc = new KubeConfig();
  let source: LoadedKubeConfig["source"];
  try {
    if (options.server !== undefined) {
      kc.loadFromClusterAndUser(
        { name: "direct", server: options.server, skipTLSVerify: options.server.startsWith("http:") },
        options.token === undefined ? { name: "direct" } : { name: "direct", token: options.token },
      );
      source = "server";
    } else if (options.kubeconfig !== undefined) {
      kc.loadFromFile(options.kubeconfig);
      source = "file";
    } else if (options.context === undefined && process.env.KUBERNETES_SERVICE_HOST) {
      kc.loadFromCluster();
      source = "in-cluster";
    } else {
      kc.loadFromDefault();
      source = "default";
    }
  } catch (err) {
    const where = options.kubeconfig ?? "the default kubeconfig";
    throw new KubeConfigError(`cannot load ${where}: ${err instanceof Error ? err.message : String(err)}`, {
      cause: err,
    });
  }
  if (options.context !== undefined && options.server === undefined) {
    if (kc.getContextObject(options.context) === null) {
      throw new KubeConfigError(
        `context "${options.context}" not found in ${options.kubeconfig ?? "kubeconfig"}`,
      );
    }
    kc.setCurrentContext(options.context);
  }
  const cluster = kc.getCurrentCluster();
  if (cluster === null) {
    throw new KubeConfigError(`kubeconfig context "${kc.getCurrentContext()}" has no cluster`);
  }
  return { config: kc, source, context: kc.getCurrentContext(), server: cluster.server.replace(/\/+$/, "") };
}

/** Creates the API client for the given connection options. */
export function createKubeApi(options: KubeConnectOptions = {}): KubeApi {
  return new HttpKubeApi(loadKubeConfig(options), options);
}

interface Prepared {
  url: URL;
  transport: typeof http | typeof https;
  options: https.RequestOptions;
}

interface RequestSpec {
  method: string;
  path: string;
  query?: Record<string, string | undefined>;
  body?: unknown;
  contentType?: string;
  signal?: AbortSignal;
  /** Watches must not be cut by the idle timeout; their watchdog lives in the reflector. */
  stream?: boolean;
}

const DEFAULT_REQUEST_TIMEOUT_MS = 60_000;
const NEWLINE = 0x0a;

class HttpKubeApi implements KubeApi {
  readonly server: string;
  private readonly kc: KubeConfig;
  private readonly requestTimeoutMs: number;
  private readonly userAgent: string;
  private agent: http.Agent | undefined;
  private agentMaterial: readonly unknown[] = [];

  constructor(loaded: LoadedKubeConfig, options: KubeConnectOptions) {
    this.kc = loaded.config;
    this.server = loaded.server;
    this.requestTimeoutMs = options.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
    this.userAgent = options.userAgent ?? "crd-state-metrics";
  }

  async list(resource: ResourceRef, options: ListOptions = {}): Promise<ListPage> {
    const body = await this.requestJson({
      method: "GET",
      path: collectionPath(resource, options.namespace),
      query: {
        limit: options.limit === undefined ? undefined : String(options.limit),
        continue: options.continue,
        resourceVersion: options.resourceVersion,
        resourceVersionMatch: options.resourceVersionMatch,
        labelSelector: options.labelSelector,
        fieldSelector: options.fieldSelector,
      },
      signal: options.signal,
      // Not stripped: a list page is mostly spec and status, which the scan would have to step
      // through to reach the next item; measured, that costs what the smaller parse saves.
    });
    if (!isRecord(body) || !Array.isArray(body.items)) {
      throw new KubeApiError(`list ${collectionPath(resource, options.namespace)}: response is not a list`);
    }
    const meta = isRecord(body.metadata) ? body.metadata : {};
    const apiVersion = apiVersionOf(resource);
    const items: KubeObject[] = [];
    for (const raw of body.items as unknown[]) {
      const obj = toKubeObject(raw);
      if (obj === undefined) continue;
      // Built-in list responses omit per-item apiVersion/kind; configurations may read them.
      obj.apiVersion ??= apiVersion;
      obj.kind ??= resource.kind;
      items.push(obj);
    }
    const page: ListPage = {
      items,
      resourceVersion: typeof meta.resourceVersion === "string" ? meta.resourceVersion : "",
    };
    if (typeof meta.continue === "string" && meta.continue !== "") page.continue = meta.continue;
    if (typeof meta.remainingItemCount === "number") page.remainingItemCount = meta.remainingItemCount;
    return page;
  }

  async get(resource: ResourceRef, name: string, namespace?: string): Promise<KubeObject> {
    const body = await this.requestJson({
      method: "GET",
      path: `${collectionPath(resource, namespace)}/${encodeURIComponent(name)}`,
    });
    return this.expectObject(body, name);
  }

  getJson(path: string, signal?: AbortSignal): Promise<unknown> {
    return this.requestJson({ method: "GET", path, signal });
  }

  async patchStatus(
    resource: ResourceRef,
    name: string,
    patch: unknown,
    namespace?: string,
  ): Promise<KubeObject> {
    const body = await this.requestJson({
      method: "PATCH",
      path: `${collectionPath(resource, namespace)}/${encodeURIComponent(name)}/status`,
      body: patch,
      contentType: "application/merge-patch+json",
    });
    return this.expectObject(body, name);
  }

  async patchMerge(
    resource: ResourceRef,
    name: string,
    patch: unknown,
    namespace?: string,
  ): Promise<KubeObject> {
    const body = await this.requestJson({
      method: "PATCH",
      path: `${collectionPath(resource, namespace)}/${encodeURIComponent(name)}`,
      body: patch,
      contentType: "application/merge-patch+json",
    });
    return this.expectObject(body, name);
  }

  postJson(path: string, body: unknown): Promise<unknown> {
    return this.requestJson({ method: "POST", path, body, contentType: "application/json" });
  }

  async createEvent(namespace: string, event: Record<string, unknown>): Promise<void> {
    await this.requestJson({
      method: "POST",
      path: `/api/v1/namespaces/${encodeURIComponent(namespace)}/events`,
      body: event,
      contentType: "application/json",
    });
  }

  watch(resource: ResourceRef, options: WatchOptions, callbacks: WatchCallbacks): WatchHandle {
    const controller = new AbortController();
    let finished = false;
    const isFinished = (): boolean => finished;
    const finish = (error?: KubeApiError): void => {
      if (finished) return;
      finished = true;
      controller.abort();
      callbacks.onDone(error);
    };
    const run = async (): Promise<void> => {
      const res = await this.send({
        method: "GET",
        path: collectionPath(resource, options.namespace),
        query: {
          watch: "true",
          resourceVersion: options.resourceVersion,
          allowWatchBookmarks: options.allowWatchBookmarks === false ? undefined : "true",
          timeoutSeconds: String(Math.max(1, Math.round(options.timeoutSeconds))),
          labelSelector: options.labelSelector,
          fieldSelector: options.fieldSelector,
        },
        signal: controller.signal,
        stream: true,
      });
      if (finished) {
        res.destroy();
        return;
      }
      if (res.statusCode !== 200) {
        finish(errorFromResponse(res, await readBody(res)));
        return;
      }
      callbacks.onActivity?.();
      const apiVersion = apiVersionOf(resource);
      // Lines can span chunks; keep the tail until its newline arrives. Buffers (not strings)
      // so a multi-byte character split across chunks is decoded whole.
      let pending: Buffer[] = [];
      res.on("data", (chunk: Buffer) => {
        if (finished) return;
        callbacks.onActivity?.();
        let start = 0;
        for (let nl = chunk.indexOf(NEWLINE); nl >= 0; nl = chunk.indexOf(NEWLINE, start)) {
          const piece = chunk.subarray(start, nl);
          start = nl + 1;
          const line = pending.length === 0 ? piece : Buffer.concat([...pending, piece]);
          pending = [];
          if (line.length === 0) continue;
          const error = deliverLine(line, apiVersion, resource.kind, callbacks);
          if (error !== undefined) {
            finish(error);
            return;
          }
          // The handler may have aborted the watch from inside onEvent.
          if (isFinished()) return;
        }
        if (start < chunk.length) pending.push(chunk.subarray(start));
      });
      res.on("end", () => {
        finish();
      });
      res.on("error", (err) => {
        finish(transportError(err));
      });
      res.on("close", () => {
        // A stream torn down mid-body (connection reset, proxy cut) is not a clean end.
        finish(
          res.complete
            ? undefined
            : new KubeApiError("watch stream closed before its end", { code: "ECONNRESET" }),
        );
      });
    };
    run().catch((err: unknown) => {
      finish(err instanceof KubeApiError ? err : transportError(err));
    });
    return {
      abort: () => {
        finished = true;
        controller.abort();
      },
    };
  }

  close(): void {
    this.agent?.destroy();
    this.agent = undefined;
  }

  private expectObject(body: unknown, what: string): KubeObject {
    const obj = toKubeObject(body);
    if (obj === undefined) throw new KubeApiError(`${what}: response is not a Kubernetes object`);
    return obj;
  }

  private async requestJson(spec: RequestSpec): Promise<unknown> {
    const res = await this.send(spec);
    const body = await readBody(res);
    const status = res.statusCode ?? 0;
    if (status < 200 || status >= 300) throw errorFromResponse(res, body);
    if (body.length === 0) return undefined;
    try {
      return JSON.parse(body.toString("utf8")) as unknown;
    } catch (err) {
      throw new KubeApiError(`${spec.method} ${spec.path}: invalid JSON in response`, {
        statusCode: status,
        cause: err,
      });
    }
  }

  private async prepare(spec: RequestSpec): Promise<Prepared> {
    const url = new URL(this.server + spec.path);
    for (const [key, value] of Object.entries(spec.query ?? {})) {
      if (value !== undefined && value !== "") url.searchParams.set(key, value);
    }
    const options: https.RequestOptions = {};
    const plain = url.protocol === "http:";
    try {
      // Per request, so rotating tokens (exec plugins, projected service-account tokens) refresh.
      await this.kc.applyToHTTPSOptions(options);
    } catch (err) {
      // client-node refuses to build an agent for http:// servers without skipTLSVerify, after it
      // has already set the auth headers; plain HTTP needs no agent from it, so carry on.
      if (!plain) throw new KubeApiError(`authentication setup failed: ${errorMessage(err)}`, { cause: err });
    }
    options.method = spec.method;
    options.headers = {
      ...headerRecord(options.headers),
      Accept: "application/json",
      "User-Agent": this.userAgent,
    };
    options.agent = this.agentFor(plain, options);
    return { url, transport: plain ? http : https, options };
  }

  /**
   * client-node creates a fresh agent per call, which would mean a new TCP/TLS handshake for every
   * list page; keep one keep-alive agent and rebuild it only when the TLS material changes.
   */
  private agentFor(plain: boolean, options: https.RequestOptions): http.Agent {
    const cluster = this.kc.getCurrentCluster();
    if (cluster?.proxyUrl !== undefined && options.agent instanceof http.Agent) return options.agent;
    const material = [
      plain,
      options.ca,
      options.cert,
      options.key,
      options.pfx,
      options.rejectUnauthorized,
      options.servername,
    ];
    if (this.agent !== undefined && sameMaterial(material, this.agentMaterial)) return this.agent;
    this.agent?.destroy();
    this.agentMaterial = material;
    this.agent = plain
      ? new http.Agent({ keepAlive: true })
      : new https.Agent({
          keepAlive: true,
          ca: options.ca,
          cert: options.cert,
          key: options.key,
          pfx: options.pfx,
          passphrase: options.passphrase,
          servername: options.servername,
          ...(options.rejectUnauthorized === undefined
            ? {}
            : { rejectUnauthorized: options.rejectUnauthorized }),
        });
    return this.agent;
  }

  private async send(spec: RequestSpec): Promise<http.IncomingMessage> {
    const prepared = await this.prepare(spec);
    let payload: Buffer | undefined;
    if (spec.body !== undefined) {
      payload = Buffer.from(JSON.stringify(spec.body), "utf8");
      prepared.options.headers = {
        ...headerRecord(prepared.options.headers),
        "Content-Type": spec.contentType ?? "application/json",
        "Content-Length": String(payload.length),
      };
    }
    const signal = spec.signal;
    if (signal?.aborted === true) throw abortError();
    // Aborts and timeouts destroy without an error object on purpose: once a response has
    // completed its socket is back in the keep-alive pool, and destroying the request with an
    // error then raises it on that socket with no listener (an uncaught exception). Callers learn
    // of the abort through the promise or the stream's incomplete close instead.
    return new Promise<http.IncomingMessage>((resolve, reject) => {
      const req = prepared.transport.request(prepared.url, prepared.options, (res) => {
        signal?.removeEventListener("abort", abortRequest);
        if (signal !== undefined) {
          const abortResponse = (): void => {
            if (!res.complete) res.destroy();
          };
          signal.addEventListener("abort", abortResponse, { once: true });
          res.on("close", () => {
            signal.removeEventListener("abort", abortResponse);
          });
        }
        if (spec.stream) {
          req.setTimeout(0);
        } else {
          // The idle timeout keeps applying while the body streams in.
          res.setTimeout(this.requestTimeoutMs, () => {
            if (!res.complete) {
              res.destroy(
                new KubeApiError(`${spec.method} ${spec.path}: no data for ${this.requestTimeoutMs} ms`, {
                  code: "ETIMEDOUT",
                }),
              );
            }
          });
        }
        resolve(res);
      });
      const abortRequest = (): void => {
        req.destroy();
        reject(abortError());
      };
      signal?.addEventListener("abort", abortRequest, { once: true });
      req.on("close", () => {
        signal?.removeEventListener("abort", abortRequest);
      });
      req.on("error", (err) => {
        reject(transportError(err));
      });
      req.setTimeout(this.requestTimeoutMs, () => {
        // Until headers arrive even a watch is an ordinary request: a server that never answers
        // must not hold it forever.
        req.destroy();
        reject(
          new KubeApiError(`${spec.method} ${spec.path}: no response for ${this.requestTimeoutMs} ms`, {
            code: "ETIMEDOUT",
          }),
        );
      });
      req.end(payload);
    });
  }
}

function headerRecord(
  headers: http.OutgoingHttpHeaders | readonly string[] | undefined,
): http.OutgoingHttpHeaders {
  if (headers === undefined) return {};
  if (!Array.isArray(headers)) return headers as http.OutgoingHttpHeaders;
  // Raw [name, value, name, value, ...] form.
  const raw = headers as readonly string[];
  const record: http.OutgoingHttpHeaders = {};
  for (let i = 0; i + 1 < raw.length; i += 2) record[raw[i]!] = raw[i + 1];
  return record;
}

function sameMaterial(a: readonly unknown[], b: readonly unknown[]): boolean {
  if (a.length !== b.length) return false;
  return a.every((value, i) => {
    const other = b[i];
    if (Buffer.isBuffer(value) && Buffer.isBuffer(other)) return value.equals(other);
    return value === other;
  });
}

function deliverLine(
  line: Buffer,
  apiVersion: string,
  kind: string,
  callbacks: WatchCallbacks,
): KubeApiError | undefined {
  let parsed: unknown;
  try {
    // managedFields never outlive toKubeObject: not parsing them at all is cheaper.
    parsed = JSON.parse(stripMembers(line, WATCH_OBJECT_METADATA, UNREAD_METADATA));
  } catch (err) {
    return new KubeApiError("watch stream carried invalid JSON", { cause: err });
  }
  if (!isRecord(parsed) || typeof parsed.type !== "string") {
    return new KubeApiError("watch stream carried a line that is not a watch event");
  }
  const type = parsed.type as WatchEventType;
  if (type === "ERROR") {
    return errorFromStatus(parsed.object, { message: "watch ERROR event" });
  }
  const object = toKubeObject(parsed.object);
  if (object === undefined) {
    // Bookmarks carry only metadata.resourceVersion and no name.
    const rawObject = parsed.object;
    if (type === "BOOKMARK" && isRecord(rawObject) && isRecord(rawObject.metadata)) {
      callbacks.onEvent({ type, object: rawObject as unknown as KubeObject });
      return undefined;
    }
    return new KubeApiError(`watch ${type} event without an object`);
  }
  object.apiVersion ??= apiVersion;
  object.kind ??= kind;
  try {
    callbacks.onEvent({ type, object });
  } catch (err) {
    return new KubeApiError(`watch event handler failed: ${errorMessage(err)}`, {
      code: "EHANDLER",
      cause: err,
    });
  }
  return undefined;
}

function readBody(res: http.IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    res.on("data", (chunk: Buffer) => chunks.push(chunk));
    res.on("end", () => {
      resolve(Buffer.concat(chunks));
    });
    res.on("error", (err) => {
      reject(transportError(err));
    });
    res.on("close", () => {
      if (!res.complete) reject(new KubeApiError("response closed before its end", { code: "ECONNRESET" }));
    });
  });
}

function errorFromResponse(res: http.IncomingMessage, body: Buffer): KubeApiError {
  const statusCode = res.statusCode ?? 0;
  const retryAfter = parseRetryAfter(res.headers["retry-after"]);
  let status: unknown;
  try {
    status = JSON.parse(body.toString("utf8"));
  } catch {
    status = undefined;
  }
  return errorFromStatus(status, {
    statusCode,
    message: `HTTP ${statusCode} ${http.STATUS_CODES[statusCode] ?? ""}`.trim(),
    ...(retryAfter === undefined ? {} : { retryAfterSeconds: retryAfter }),
  });
}

/** Retry-After is either delta-seconds or an HTTP date. */
function parseRetryAfter(header: string | undefined): number | undefined {
  if (header === undefined || header === "") return undefined;
  const seconds = Number(header);
  if (Number.isFinite(seconds)) return Math.max(0, seconds);
  const date = Date.parse(header);
  if (Number.isNaN(date)) return undefined;
  return Math.max(0, (date - Date.now()) / 1000);
}

function transportError(err: unknown): KubeApiError {
  if (err instanceof KubeApiError) return err;
  const code = isRecord(err) && typeof err.code === "string" ? err.code : undefined;
  return new KubeApiError(errorMessage(err), { code, cause: err });
}

function abortError(): KubeApiError {
  return new KubeApiError("request aborted", { code: "ABORT_ERR" });
}

function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
