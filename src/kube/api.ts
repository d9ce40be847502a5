/**
 * The typed API surface the rest of the exporter uses. Only client.ts implements it (and only
 * client.ts imports client-node), so everything else can be exercised with any implementation.
 */
import { isRecord, type KubeObject, type ListPage, type ResourceRef, type WatchEvent } from "./types.js";

export interface ListOptions {
  namespace?: string;
  limit?: number;
  continue?: string;
  /** Unset means "most recent" (a consistent, paginated read). */
  resourceVersion?: string;
  resourceVersionMatch?: "Exact" | "NotOlderThan";
  labelSelector?: string;
  fieldSelector?: string;
  signal?: AbortSignal;
}

export interface WatchOptions {
  namespace?: string;
  resourceVersion: string;
  /** Server-side timeout; the server ends the stream cleanly after it. */
  timeoutSeconds: number;
  allowWatchBookmarks?: boolean;
  labelSelector?: string;
  fieldSelector?: string;
}

export interface WatchCallbacks {
  onEvent(event: WatchEvent): void;
  /** Any bytes received (including heartbeats and bookmarks); feeds inactivity watchdogs. */
  onActivity?(): void;
  /** The stream ended: cleanly (no error) or with a KubeApiError. Not called after abort(). */
  onDone(error?: KubeApiError): void;
}

export interface WatchHandle {
  /** Closes the stream; no callback fires afterwards. Safe to call more than once. */
  abort(): void;
}

export interface KubeApi {
  /** Server URL of the current context, for logs. */
  readonly server: string;
  list(resource: ResourceRef, options?: ListOptions): Promise<ListPage>;
  /** Returns at once; the request is issued asynchronously and can be aborted at any stage. */
  watch(resource: ResourceRef, options: WatchOptions, callbacks: WatchCallbacks): WatchHandle;
  get(resource: ResourceRef, name: string, namespace?: string): Promise<KubeObject>;
  /** GET of an arbitrary API path (discovery documents), parsed as JSON. */
  getJson(path: string, signal?: AbortSignal): Promise<unknown>;
  /** JSON merge patch on the `status` subresource. */
  patchStatus(resource: ResourceRef, name: string, patch: unknown, namespace?: string): Promise<KubeObject>;
  /** JSON merge patch on the object itself. */
  patchMerge(resource: ResourceRef, name: string, patch: unknown, namespace?: string): Promise<KubeObject>;
  /** POST a JSON body to an arbitrary API path (TokenReview, SubjectAccessReview); the parsed answer. */
  postJson(path: string, body: unknown): Promise<unknown>;
  /** POST a core/v1 Event into `namespace`. */
  createEvent(namespace: string, event: Record<string, unknown>): Promise<void>;
  /** Releases pooled connections; in-flight watches should be aborted first. */
  close(): void;
}

/** Cause reason kube-apiserver gives (with a 504) when asked for a version it has not reached. */
const TOO_LARGE_RESOURCE_VERSION = "ResourceVersionTooLarge";

/**
 * Every failure of the API layer. `statusCode` is undefined for transport failures, so callers
 * can tell 410 (relist) from 429 (honour Retry-After) from 5xx and network errors (back off).
 */
export class KubeApiError extends Error {
  readonly statusCode: number | undefined;
  /** Kubernetes Status `reason`, e.g. Expired, Gone, NotFound, TooManyRequests. */
  readonly reason: string | undefined;
  readonly retryAfterSeconds: number | undefined;
  /** Low-level cause code for transport errors (ECONNREFUSED, ECONNRESET, ...). */
  readonly code: string | undefined;

  constructor(
    message: string,
    details: {
      statusCode?: number;
      reason?: string;
      retryAfterSeconds?: number;
      code?: string;
      cause?: unknown;
    } = {},
  ) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.name = "KubeApiError";
    this.statusCode = details.statusCode;
    this.reason = details.reason;
    this.retryAfterSeconds = details.retryAfterSeconds;
    this.code = details.code;
  }

  /**
   * The requested resourceVersion or continue token is unusable — too old (410), or newer than
   * the server has (after an etcd restore) — so only a fresh list helps.
   */
  get isGone(): boolean {
    return (
      this.statusCode === 410 ||
      this.reason === "Expired" ||
      this.reason === "Gone" ||
      this.reason === TOO_LARGE_RESOURCE_VERSION ||
      /too large resource version/i.test(this.message)
    );
  }

  get isNotFound(): boolean {
    return this.statusCode === 404;
  }

  get isThrottled(): boolean {
    return this.statusCode === 429;
  }
}

/** Builds a KubeApiError from a Kubernetes Status object (HTTP error body or watch ERROR event). */
export function errorFromStatus(
  status: unknown,
  fallback: { statusCode?: number; message: string; retryAfterSeconds?: number },
): KubeApiError {
  let message = fallback.message;
  let reason: string | undefined;
  let statusCode = fallback.statusCode;
  let retryAfterSeconds = fallback.retryAfterSeconds;
  if (isRecord(status)) {
    if (typeof status.message === "string" && status.message !== "") message = status.message;
    if (typeof status.reason === "string" && status.reason !== "") reason = status.reason;
    if (typeof status.code === "number" && status.code > 0) statusCode = status.code;
    const details = status.details;
    if (
      retryAfterSeconds === undefined &&
      isRecord(details) &&
      typeof details.retryAfterSeconds === "number"
    ) {
      retryAfterSeconds = details.retryAfterSeconds;
    }
  }
  return new KubeApiError(message, {
    ...(statusCode === undefined ? {} : { statusCode }),
    ...(reason === undefined ? {} : { reason }),
    ...(retryAfterSeconds === undefined ? {} : { retryAfterSeconds }),
  });
}
