import type { IncomingMessage, ServerResponse } from "node:http";
import { setTimeout as sleep } from "node:timers/promises";
import type { Faults } from "./faults.js";
import { decodeBody, readBody, sendJson, streamList } from "./http.js";
import type { Objects, PatchType } from "./objects.js";
import { apiVersionFor, storageKey, type ResourceInfo } from "./registry.js";
import { parseFieldSelector, parseLabelSelector, isEverything, matches, type Selector } from "./selectors.js";
import { ApiError, errors, successStatus } from "./status.js";
import type { Entry, Store, Stored } from "./store.js";
import { toTable, wantsTable } from "./table.js";
import { getObject, getString, isObject, metadataOf, type JsonObject, type KubeObject } from "./types.js";
import { WatchStream } from "./watch.js";

export interface Route {
  info: ResourceInfo;
  version: string;
  namespace: string;
  name?: string;
  subresource?: string;
  watch: boolean;
}

export interface HandlerContext {
  objects: Objects;
  store: Store;
  faults: Faults;
  watches: Set<WatchStream>;
  bookmarkIntervalMs: number;
  defaultWatchTimeoutSeconds: number;
  maxWatchQueue: number;
}

interface ContinueToken {
  id: string;
  rv: number;
  offset: number;
}

function encodeContinue(t: ContinueToken): string {
  return Buffer.from(JSON.stringify({ v: "csm.sim/v1", ...t })).toString("base64url");
}

function decodeContinue(token: string): ContinueToken {
  try {
    const parsed: unknown = JSON.parse(Buffer.from(token, "base64url").toString("utf8"));
    if (
      isObject(parsed) &&
      typeof parsed.id === "string" &&
      typeof parsed.rv === "number" &&
      typeof parsed.offset === "number"
    )
      return { id: parsed.id, rv: parsed.rv, offset: parsed.offset };
  } catch {
    // fall through to the same answer as any other malformed token
  }
  throw errors.badRequest(`invalid value for continue: "${token}"`);
}

function selectorFrom(query: URLSearchParams, info: ResourceInfo): Selector {
  return {
    labels: parseLabelSelector(query.get("labelSelector")),
    fields: parseFieldSelector(query.get("fieldSelector"), storageKey(info)),
  };
}

function isTrue(v: string | null): boolean {
  return v === "true" || v === "1";
}

function nonNegativeInt(query: URLSearchParams, name: string): number | undefined {
  const raw = query.get(name);
  if (raw === null || raw === "") return undefined;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0) throw errors.badRequest(`invalid value for ${name}: "${raw}"`);
  return n;
}

function faultError(status: number, retryAfterSeconds: number): ApiError {
  if (status === 410) return errors.expired("injected: the requested resourceVersion is too old");
  if (status === 429) return errors.tooManyRequests(retryAfterSeconds);
  if (status === 500) return errors.internal("injected failure");
  return new ApiError(status, "InternalError", `injected failure (${status})`, { retryAfterSeconds });
}

function patchTypeOf(contentType: string | undefined): PatchType {
  const type = (contentType ?? "").split(";")[0]?.trim().toLowerCase();
  switch (type) {
    case "application/merge-patch+json":
      return "merge";
    case "application/json-patch+json":
      return "json";
    case "application/strategic-merge-patch+json":
      return "strategic";
    case "application/apply-patch+yaml":
    case "application/apply-patch+cbor":
      return "apply";
    default:
      throw errors.unsupportedMediaType(type ?? "");
  }
}

export class ResourceHandlers {
  constructor(private readonly ctx: HandlerContext) {}

  async handle(
    route: Route,
    req: IncomingMessage,
    res: ServerResponse,
    query: URLSearchParams,
  ): Promise<void> {
    const method = req.method ?? "GET";
    const { info, name, subresource } = route;
    if (subresource !== undefined && (subresource !== "status" || !info.statusSubresource || !name))
      throw errors.notFound(info.group, info.plural, name ?? "");
    if (name === undefined) {
      if (method === "GET") {
        if (route.watch || isTrue(query.get("watch"))) {
          this.watch(route, req, res, query);
          return;
        }
        await this.list(route, req, res, query);
        return;
      }
      if (method === "POST") {
        if (info.namespaced && !route.namespace)
          throw errors.methodNotAllowed(`POST is not supported on the cluster-wide path of ${info.plural}`);
        const body = decodeBody(await readBody(req), req.headers["content-type"]);
        const created = this.ctx.objects.create(info, route.namespace, body, { dryRun: isDryRun(query) });
        sendJson(res, 201, this.ctx.objects.present(info, route.version, created));
        return;
      }
      if (method === "DELETE") {
        const deleted = this.ctx.objects.deleteCollection(info, route.namespace, selectorFrom(query, info), {
          dryRun: isDryRun(query),
        });
        sendJson(res, 200, {
          kind: info.listKind,
          apiVersion: apiVersionFor(info.group, route.version),
          metadata: { resourceVersion: String(this.ctx.store.resourceVersion) },
          items: deleted.map((o) => this.ctx.objects.present(info, route.version, o)),
        });
        return;
      }
      throw errors.methodNotAllowed(`${method} is not supported on a collection`);
    }
    const opts = {
      dryRun: isDryRun(query),
      ...(subresource === "status" ? { subresource: "status" as const } : {}),
    };
    switch (method) {
      case "GET": {
        const obj = this.ctx.objects.present(
          info,
          route.version,
          this.ctx.objects.get(info, route.namespace, name),
        );
        sendJson(
          res,
          200,
          wantsTable(req.headers.accept)
            ? toTable(info, route.version, [obj], { resourceVersion: resourceVersionOfObj(obj) })
            : obj,
        );
        return;
      }
      case "PUT": {
        const body = decodeBody(await readBody(req), req.headers["content-type"]);
        const updated = this.ctx.objects.update(info, route.namespace, name, body, opts);
        sendJson(res, 200, this.ctx.objects.present(info, route.version, updated));
        return;
      }
      case "PATCH": {
        const type = patchTypeOf(req.headers["content-type"]);
        const body = decodeBody(
          await readBody(req),
          type === "apply" ? "application/yaml" : "application/json",
        );
        const existed = this.exists(route, name);
        const patched = this.ctx.objects.patch(info, route.namespace, name, type, body, {
          ...opts,
          version: route.version,
        });
        sendJson(res, existed ? 200 : 201, this.ctx.objects.present(info, route.version, patched));
        return;
      }
      case "DELETE": {
        const body = decodeBody(await readBody(req), req.headers["content-type"]);
        const deleteOpts: { dryRun: boolean; preconditions?: { uid?: string; resourceVersion?: string } } = {
          dryRun:
            opts.dryRun || (isObject(body) && Array.isArray(body.dryRun) && body.dryRun.includes("All")),
        };
        const pre = isObject(body) ? getObject(body, "preconditions") : undefined;
        if (pre) {
          deleteOpts.preconditions = {};
          const uid = getString(pre, "uid");
          const rv = getString(pre, "resourceVersion");
          if (uid) deleteOpts.preconditions.uid = uid;
          if (rv) deleteOpts.preconditions.resourceVersion = rv;
        }
        const deleted = this.ctx.objects.delete(info, route.namespace, name, deleteOpts);
        if (info.group === "" && ["configmaps", "secrets", "events"].includes(info.plural)) {
          sendJson(res, 200, successStatus({ name, group: info.group, kind: info.plural }));
          return;
        }
        sendJson(res, 200, this.ctx.objects.present(info, route.version, deleted));
        return;
      }
      default:
        throw errors.methodNotAllowed(`${method} is not supported on ${info.plural}`);
    }
  }

  private exists(route: Route, name: string): boolean {
    try {
      this.ctx.objects.get(route.info, route.namespace, name);
      return true;
    } catch {
      return false;
    }
  }

  private async list(
    route: Route,
    req: IncomingMessage,
    res: ServerResponse,
    query: URLSearchParams,
  ): Promise<void> {
    const { info, version } = route;
    const failure = this.ctx.faults.takeFailure(info, "list");
    if (failure) throw faultError(failure.status, failure.retryAfterSeconds);
    const selector = selectorFrom(query, info);
    const limit = nonNegativeInt(query, "limit") ?? 0;
    const token = query.get("continue");
    let entries: readonly Entry[];
    let rv: number;
    let offset = 0;
    let snapshotId: string | undefined;
    if (token) {
      const t = decodeContinue(token);
      const snap = this.ctx.store.snapshot(t.id, t.rv);
      if (!snap || snap.resource !== storageKey(info))
        throw errors.expired(
          "the continue token has expired: the list it belongs to is no longer held; start the list again without it",
        );
      entries = snap.entries;
      rv = snap.rv;
      offset = t.offset;
      snapshotId = snap.id;
    } else {
      entries = this.ctx.store.entries(storageKey(info), info.namespaced ? route.namespace : "");
      rv = this.ctx.store.resourceVersion;
    }
    const delay = this.ctx.faults.listDelay(info);
    if (delay > 0) await sleep(delay);
    const everything = isEverything(selector);
    const picked: Stored[] = [];
    let pos = offset;
    while (pos < entries.length && (limit === 0 || picked.length < limit)) {
      const e = entries[pos++]!;
      if (everything || matches(e.value.obj, selector)) picked.push(e.value);
    }
    const metadata: JsonObject = { resourceVersion: String(rv) };
    if (pos < entries.length) {
      // The rv the entries were read at: writes during a slow-list delay must not break the token.
      snapshotId ??= this.ctx.store.takeSnapshot(storageKey(info), entries, rv).id;
      metadata.continue = encodeContinue({ id: snapshotId, rv, offset: pos });
      if (everything) metadata.remainingItemCount = entries.length - pos;
    } else if (snapshotId) {
      this.ctx.store.releaseSnapshot(snapshotId);
    }
    if (wantsTable(req.headers.accept)) {
      const objects = picked.map((s) => this.ctx.objects.present(info, version, s.obj));
      sendJson(res, 200, toTable(info, version, objects, metadata));
      return;
    }
    const head = { kind: info.listKind, apiVersion: apiVersionFor(info.group, version), metadata };
    await streamList(
      res,
      head,
      picked.map((s) => this.jsonOf(info, version, s)),
    );
  }

  /** The stored text when the version matches, else a re-serialised presentation. */
  private jsonOf(info: ResourceInfo, version: string, stored: Stored): string {
    if (stored.apiVersion === apiVersionFor(info.group, version)) return stored.json;
    return JSON.stringify(this.ctx.objects.present(info, version, stored.obj));
  }

  private watch(route: Route, req: IncomingMessage, res: ServerResponse, query: URLSearchParams): void {
    const { info } = route;
    const selector = selectorFrom(query, info);
    const rvParam = query.get("resourceVersion") ?? "";
    const fromRv = rvParam === "" || rvParam === "0" ? undefined : Number(rvParam);
    if (fromRv !== undefined && !Number.isSafeInteger(fromRv))
      throw errors.badRequest(`invalid resource version: "${rvParam}"`);
    const failure = this.ctx.faults.takeFailure(info, "watch");
    if (failure && failure.status !== 410) throw faultError(failure.status, failure.retryAfterSeconds);
    const timeoutSeconds = nonNegativeInt(query, "timeoutSeconds");
    const stream = new WatchStream(
      res,
      {
        info,
        version: route.version,
        namespace: info.namespaced ? route.namespace : "",
        selector,
        bookmarks: isTrue(query.get("allowWatchBookmarks")),
        bookmarkIntervalMs: this.ctx.bookmarkIntervalMs,
        timeoutMs: (timeoutSeconds ?? this.ctx.defaultWatchTimeoutSeconds) * 1000,
        table: wantsTable(req.headers.accept),
        maxQueue: this.ctx.maxWatchQueue,
        currentResourceVersion: () => this.ctx.store.resourceVersion,
        present: (o) => this.ctx.objects.present(info, route.version, o),
        json: (s) => this.jsonOf(info, route.version, s),
      },
      (w) => this.ctx.watches.delete(w),
    );
    this.ctx.watches.add(stream);
    stream.open();
    if (failure) {
      stream.fail(faultError(410, failure.retryAfterSeconds));
      return;
    }
    if (this.ctx.faults.takeHang(info)) {
      stream.hang();
      return;
    }
    const subscribe = (fn: Parameters<Store["subscribe"]>[0]): (() => void) => this.ctx.store.subscribe(fn);
    if (fromRv === undefined) {
      stream.startWithState(
        this.ctx.store.entries(storageKey(info), info.namespaced ? route.namespace : ""),
        subscribe,
      );
      return;
    }
    const current = this.ctx.store.resourceVersion;
    if (fromRv > current) {
      // A version from before a backend reset: the client must relist, as after a compaction.
      stream.fail(errors.expired(`too large resource version: ${fromRv}, current: ${current}`));
      return;
    }
    const events = this.ctx.store.eventsSince(fromRv, storageKey(info));
    if (!events) {
      stream.fail(
        errors.expired(`too old resource version: ${fromRv} (${this.ctx.store.oldestResumableVersion})`),
      );
      return;
    }
    stream.startFrom(events, subscribe);
  }
}

function isDryRun(query: URLSearchParams): boolean {
  return query.getAll("dryRun").includes("All");
}

function resourceVersionOfObj(obj: KubeObject): string {
  return getString(metadataOf(obj), "resourceVersion") ?? "";
}
