/**
 * Public API of the kube layer. Only client.ts loads @kubernetes/client-node; importing
 * types from here does not.
 */
export { KubeApiError, errorFromStatus } from "./api.js";
export type { KubeApi, ListOptions, WatchCallbacks, WatchHandle, WatchOptions } from "./api.js";
export { createKubeApi, loadKubeConfig, KubeConfigError } from "./client.js";
export type { KubeConnectOptions, LoadedKubeConfig } from "./client.js";
export { Backoff, DEFAULT_BACKOFF } from "./backoff.js";
export type { BackoffOptions } from "./backoff.js";
export { Discovery } from "./discovery.js";
export { Reflector } from "./reflector.js";
export type {
  ListResult,
  ReflectorError,
  ReflectorHandler,
  ReflectorObserver,
  ReflectorOptions,
  WatchRestartReason,
} from "./reflector.js";
export { ObjectCache } from "./object-cache.js";
export type { ObjectCacheListener } from "./object-cache.js";
export { CRD_RESOURCE, CrdWatcher, parseCrd, resolveResource, servedResource } from "./crd-watch.js";
export type { CrdChange, CrdInfo, CrdListener, CrdVersionInfo, CrdWatcherOptions } from "./crd-watch.js";
export { buildEvent, recordEvent } from "./events.js";
export type { EventInput } from "./events.js";
export {
  apiVersionOf,
  collectionPath,
  isRecord,
  objectKey,
  parseApiVersion,
  resourceKey,
  toKubeObject,
} from "./types.js";
export type { KubeObject, ListPage, ObjectMeta, ResourceRef, WatchEvent, WatchEventType } from "./types.js";
