import { createHash, timingSafeEqual } from "node:crypto";
import { watch, type FSWatcher } from "node:fs";
import { readFile, stat } from "node:fs/promises";
import { basename, dirname } from "node:path";
import type { IncomingMessage } from "node:http";
import type { NextFunction, Request, RequestHandler, Response } from "express";
import type { Logger } from "../log/logger.js";

/**
 * Access control for the two /metrics endpoints (docs/security.md, "Authentication"):
 * - `--auth-token-file PATH`: a Bearer token compared in constant time against the file's
 *   tokens (one per line, so a rotation can serve old and new for a while); the file is re-read
 *   when it changes (fs.watch on its directory, which also sees Kubernetes' symlink swaps of
 *   mounted Secrets, plus a periodic stat in case events are missed).
 * - `--auth kubernetes`: TokenReview, then SubjectAccessReview for `get` on the non-resource URL
 *   (`/metrics`), through the exporter's own API client; answers are cached briefly.
 * Only /metrics is guarded: /, /healthz, /livez and /readyz stay open for probes.
 */

export type AuthVerdict =
  | { ok: true; user?: string }
  | { ok: false; status: 401 | 403 | 503; message: string };

export interface Authenticator {
  readonly mode: "token-file" | "kubernetes";
  check(req: IncomingMessage): Promise<AuthVerdict>;
  close(): void;
}

const REALM = 'Bearer realm="crd-state-metrics"';

/** The token of an `Authorization: Bearer …` header, or undefined. */
export function bearerToken(req: IncomingMessage): string | undefined {
  const header = req.headers.authorization;
  if (typeof header !== "string") return undefined;
  const m = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(header);
  return m?.[1];
}

function digest(s: string): Buffer {
  return createHash("sha256").update(s, "utf8").digest();
}

/** Express middleware: 401 with WWW-Authenticate, 403 or 503 when the authenticator says no. */
export function requireAuth(auth: Authenticator, log?: Logger): RequestHandler {
  return (req: Request, res: Response, next: NextFunction) => {
    auth
      .check(req)
      .then((verdict) => {
        if (verdict.ok) {
          next();
          return;
        }
        if (verdict.status === 401) {
          res.setHeader(
            "WWW-Authenticate",
            bearerToken(req) === undefined ? REALM : `${REALM}, error="invalid_token"`,
          );
        }
        res.status(verdict.status).type("text/plain").send(`${verdict.message}\n`);
      })
      .catch((err: unknown) => {
        log?.warn({ err: err instanceof Error ? err.message : String(err) }, "authentication failed");
        res.status(503).type("text/plain").send("authentication unavailable\n");
      });
  };
}

// ---- --auth-token-file --------------------------------------------------------------------

function parseTokens(text: string): Buffer[] {
  return text
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l !== "" && !l.startsWith("#"))
    .map(digest);
}

export class TokenFileError extends Error {}

/**
 * Reads the token file once (failing when it is unreadable or holds no token), then keeps it
 * current. A later unreadable or empty file keeps the last good tokens and logs a warning.
 */
export async function tokenFileAuth(
  path: string,
  options: { logger?: Logger; pollMs?: number } = {},
): Promise<Authenticator> {
  const log = options.logger;
  let tokens: Buffer[];
  try {
    tokens = parseTokens(await readFile(path, "utf8"));
  } catch (err) {
    throw new TokenFileError(
      `--auth-token-file ${path}: ${err instanceof Error ? err.message : String(err)}`,
    );
  }
  if (tokens.length === 0) throw new TokenFileError(`--auth-token-file ${path}: no token in the file`);
  let lastStat = "";
  const statKey = async (): Promise<string> => {
    try {
      const s = await stat(path);
      return `${s.ino}:${s.size}:${s.mtimeMs}`;
    } catch {
      return "missing";
    }
  };
  lastStat = await statKey();
  let reloading: Promise<void> | undefined;
  const reload = (): Promise<void> =>
    (reloading ??= (async () => {
      try {
        const next = parseTokens(await readFile(path, "utf8"));
        if (next.length === 0) {
          log?.warn({ path }, "auth token file holds no token; keeping the previous tokens");
          return;
        }
        const changed = next.length !== tokens.length || next.some((t, i) => !t.equals(tokens[i]!));
        tokens = next;
        if (changed) log?.info({ path, tokens: next.length }, "auth token file reloaded");
      } catch (err) {
        log?.warn(
          { path, err: err instanceof Error ? err.message : String(err) },
          "auth token file unreadable; keeping the previous tokens",
        );
      } finally {
        reloading = undefined;
      }
    })());
  let debounce: NodeJS.Timeout | undefined;
  let watcher: FSWatcher | undefined;
  try {
    const name = basename(path);
    watcher = watch(dirname(path), (_event, file) => {
      // Kubernetes swaps a `..data` symlink: any change in the directory may be ours.
      if (file !== null && file !== name && !file.startsWith("..")) return;
      clearTimeout(debounce);
      debounce = setTimeout(() => {
        void reload();
      }, 50);
      debounce.unref();
    });
    watcher.unref();
    watcher.on("error", () => {
      watcher?.close();
      watcher = undefined;
    });
  } catch {
    // Not watchable (some filesystems): the periodic stat below still notices changes.
  }
  const poll = setInterval(() => {
    void statKey().then((key) => {
      if (key === lastStat) return;
      lastStat = key;
      return reload();
    });
  }, options.pollMs ?? 10_000);
  poll.unref();

  return {
    mode: "token-file",
    check: (req) => {
      const presented = bearerToken(req);
      if (presented === undefined) {
        return Promise.resolve({
          ok: false,
          status: 401,
          message: "Unauthorized: a Bearer token is required",
        });
      }
      const d = digest(presented);
      // Compare against every token, without stopping early, over equal-length digests.
      let match = false;
      for (const t of tokens) match = timingSafeEqual(d, t) || match;
      return Promise.resolve(
        match ? { ok: true } : { ok: false, status: 401, message: "Unauthorized: invalid token" },
      );
    },
    close: () => {
      clearInterval(poll);
      clearTimeout(debounce);
      watcher?.close();
    },
  };
}

// ---- --auth kubernetes --------------------------------------------------------------------

/** What `--auth kubernetes` needs of the API client. */
export interface ReviewApi {
  postJson(path: string, body: unknown): Promise<unknown>;
}

const TOKEN_REVIEWS = "/apis/authentication.k8s.io/v1/tokenreviews";
const ACCESS_REVIEWS = "/apis/authorization.k8s.io/v1/subjectaccessreviews";

function record(v: unknown): Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : {};
}

function strings(v: unknown): string[] | undefined {
  return Array.isArray(v) && v.every((x) => typeof x === "string") ? v : undefined;
}

export interface KubernetesAuthOptions {
  logger?: Logger;
  /** How long an allowed answer is reused. Default 60 s. */
  allowTtlMs?: number;
  /** How long a refusal (401 or 403) is reused. Default 10 s. */
  denyTtlMs?: number;
  /** Cached answers kept (least recently used go first). Default 1024. */
  maxEntries?: number;
  /** The non-resource URL checked with SubjectAccessReview. Default: the request path. */
  path?: string;
}

interface Cached {
  verdict: AuthVerdict;
  expires: number;
}

/**
 * TokenReview + SubjectAccessReview, the way kube-rbac-proxy guards a metrics endpoint. Errors
 * talking to the API server answer 503 and are not cached.
 */
export function kubernetesAuth(api: ReviewApi, options: KubernetesAuthOptions = {}): Authenticator {
  const allowTtl = options.allowTtlMs ?? 60_000;
  const denyTtl = options.denyTtlMs ?? 10_000;
  const max = options.maxEntries ?? 1024;
  const cache = new Map<string, Cached>();
  const inFlight = new Map<string, Promise<AuthVerdict>>();

  const review = async (token: string, path: string): Promise<AuthVerdict> => {
    const tr = record(
      await api.postJson(TOKEN_REVIEWS, {
        apiVersion: "authentication.k8s.io/v1",
        kind: "TokenReview",
        spec: { token },
      }),
    );
    const trStatus = record(tr.status);
    if (trStatus.authenticated !== true) {
      return { ok: false, status: 401, message: "Unauthorized: the token was not accepted" };
    }
    const user = record(trStatus.user);
    const username = typeof user.username === "string" ? user.username : "";
    const extra: Record<string, string[]> = {};
    for (const [k, v] of Object.entries(record(user.extra))) {
      const list = strings(v);
      if (list) extra[k] = list;
    }
    const sar = record(
      await api.postJson(ACCESS_REVIEWS, {
        apiVersion: "authorization.k8s.io/v1",
        kind: "SubjectAccessReview",
        spec: {
          user: username,
          ...(typeof user.uid === "string" ? { uid: user.uid } : {}),
          ...(strings(user.groups) ? { groups: strings(user.groups) } : {}),
          ...(Object.keys(extra).length > 0 ? { extra } : {}),
          nonResourceAttributes: { path, verb: "get" },
        },
      }),
    );
    const sarStatus = record(sar.status);
    if (sarStatus.allowed === true && sarStatus.denied !== true) return { ok: true, user: username };
    return { ok: false, status: 403, message: `Forbidden: ${username} may not get ${path}` };
  };

  return {
    mode: "kubernetes",
    check: async (req) => {
      const token = bearerToken(req);
      if (token === undefined) {
        return { ok: false, status: 401, message: "Unauthorized: a Bearer token is required" };
      }
      // Under app.use("/metrics", …) express strips the mount path from req.url.
      const url = (req as { originalUrl?: string }).originalUrl ?? req.url ?? "/";
      const path = options.path ?? url.split("?")[0] ?? "/";
      // The cache is keyed by a digest: tokens themselves are never kept.
      const key = `${digest(token).toString("base64")} ${path}`;
      const now = Date.now();
      const hit = cache.get(key);
      if (hit && hit.expires > now) {
        cache.delete(key);
        cache.set(key, hit); // most recently used last
        return hit.verdict;
      }
      let pending = inFlight.get(key);
      if (!pending) {
        pending = review(token, path).finally(() => inFlight.delete(key));
        inFlight.set(key, pending);
      }
      let verdict: AuthVerdict;
      try {
        verdict = await pending;
      } catch (err) {
        options.logger?.warn(
          { err: err instanceof Error ? err.message : String(err) },
          "TokenReview/SubjectAccessReview failed; answering 503",
        );
        return { ok: false, status: 503, message: "Service Unavailable: could not review the token" };
      }
      cache.delete(key);
      cache.set(key, { verdict, expires: Date.now() + (verdict.ok ? allowTtl : denyTtl) });
      while (cache.size > max) {
        const oldest = cache.keys().next().value;
        if (oldest === undefined) break;
        cache.delete(oldest);
      }
      return verdict;
    },
    close: () => {
      cache.clear();
    },
  };
}
