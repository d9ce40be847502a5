/**
 * Shared pieces of the kube tests: a recording ReflectorHandler that checks the "no moment of
 * missing objects" invariant on every call, an observer that counts, a KubeApi wrapper that counts
 * requests (they still go over HTTP to the embedded API server), and fixtures.
 */
import type { KubeApi } from "../src/kube/api.js";
import type { ReflectorHandler, ReflectorObserver } from "../src/kube/reflector.js";
import { objectKey, type KubeObject, type ResourceRef } from "../src/kube/types.js";
import type { JsonObject } from "../src/sim/types.js";

export class RecordingHandler implements ReflectorHandler {
  readonly state = new Map<string, KubeObject>();
  relistStarts = 0;
  relistDones = 0;
  pages: number[] = [];
  upserts = 0;
  deletes = 0;
  /** Keys that must be present at every handler call once they were first seen. */
  readonly mustStay = new Set<string>();
  readonly violations: string[] = [];
  private seen: Set<string> | undefined;

  relistStart(): void {
    this.relistStarts++;
    this.seen = new Set();
    this.check("relistStart");
  }

  relistPage(objects: readonly KubeObject[]): void {
    this.pages.push(objects.length);
    for (const obj of objects) {
      if (obj.metadata.managedFields !== undefined) this.violations.push("managedFields kept");
      this.seen?.add(objectKey(obj));
      this.state.set(objectKey(obj), obj);
    }
    this.check("relistPage");
  }

  relistDone(_rv: string): void {
    this.relistDones++;
    for (const key of [...this.state.keys()])
      if (this.seen !== undefined && !this.seen.has(key)) this.state.delete(key);
    this.seen = undefined;
    this.check("relistDone");
  }

  upsert(obj: KubeObject): void {
    this.upserts++;
    this.state.set(objectKey(obj), obj);
    this.check("upsert");
  }

  delete(obj: KubeObject): void {
    this.deletes++;
    this.state.delete(objectKey(obj));
    this.check("delete");
  }

  /** key → resourceVersion, comparable with serverState(). */
  versions(): Map<string, string> {
    return new Map([...this.state].map(([k, o]) => [k, o.metadata.resourceVersion ?? ""]));
  }

  private check(where: string): void {
    for (const key of this.mustStay)
      if (!this.state.has(key)) this.violations.push(`${key} missing at ${where}`);
  }
}

export class CountingObserver implements ReflectorObserver {
  readonly counts = new Map<string, number>();
  readonly errors: string[] = [];
  lastEventSeconds = 0;

  get(name: string): number {
    return this.counts.get(name) ?? 0;
  }

  onList(_r: string, result: string): void {
    this.bump(`list:${result}`);
  }
  onWatchEvent(_r: string, type: string): void {
    this.bump(`event:${type}`);
  }
  onWatchRestart(_r: string, reason: string): void {
    this.bump(`restart:${reason}`);
  }
  onEventTimestamp(_r: string, seconds: number): void {
    this.lastEventSeconds = seconds;
  }
  onSynced(): void {
    this.bump("synced");
  }
  onError(_r: string, error: Error, phase: string, delayMs: number): void {
    this.errors.push(`${phase}: ${error.message} (retry in ${delayMs} ms)`);
  }

  private bump(name: string): void {
    this.counts.set(name, this.get(name) + 1);
  }
}

/** Passes through to a real client, counting list and watch requests. */
export function countingApi(
  api: KubeApi,
): KubeApi & { lists: number; watches: number; watchVersions: string[] } {
  const counted = {
    lists: 0,
    watches: 0,
    watchVersions: [] as string[],
    get server() {
      return api.server;
    },
    list: (...args: Parameters<KubeApi["list"]>) => {
      counted.lists++;
      return api.list(...args);
    },
    watch: (...args: Parameters<KubeApi["watch"]>) => {
      counted.watches++;
      counted.watchVersions.push(args[1].resourceVersion);
      return api.watch(...args);
    },
    get: api.get.bind(api),
    getJson: api.getJson.bind(api),
    patchStatus: api.patchStatus.bind(api),
    patchMerge: api.patchMerge.bind(api),
    postJson: api.postJson.bind(api),
    createEvent: api.createEvent.bind(api),
    close: api.close.bind(api),
  };
  return counted;
}

/** Minimal structural view of the embedded server used by these tests. */
interface SimLike {
  list(apiVersion: string, kind: string, namespace?: string): JsonObject[];
}

export function serverState(
  sim: SimLike,
  apiVersion: string,
  kind: string,
  namespaces?: string[],
): Map<string, string> {
  const objects =
    namespaces === undefined
      ? sim.list(apiVersion, kind)
      : namespaces.flatMap((ns) => sim.list(apiVersion, kind, ns));
  return new Map(
    objects.map((o) => {
      const obj = o as unknown as KubeObject;
      return [objectKey(obj), obj.metadata.resourceVersion ?? ""];
    }),
  );
}

export async function eventually(condition: () => boolean, what: string, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await delay(20);
  }
}

export function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

export function mapsEqual(a: ReadonlyMap<string, string>, b: ReadonlyMap<string, string>): boolean {
  if (a.size !== b.size) return false;
  for (const [k, v] of a) if (b.get(k) !== v) return false;
  return true;
}

export const WIDGET: ResourceRef = {
  group: "example.com",
  version: "v1",
  plural: "widgets",
  kind: "Widget",
  namespaced: true,
};
export const WIDGET_API = "example.com/v1";

export function widgetCrd(
  options: { statusSubresource?: boolean; scope?: "Namespaced" | "Cluster" } = {},
): JsonObject {
  return {
    apiVersion: "apiextensions.k8s.io/v1",
    kind: "CustomResourceDefinition",
    metadata: { name: "widgets.example.com" },
    spec: {
      group: "example.com",
      names: { kind: "Widget", plural: "widgets", singular: "widget", listKind: "WidgetList" },
      scope: options.scope ?? "Namespaced",
      versions: [
        {
          name: "v1",
          served: true,
          storage: true,
          schema: { openAPIV3Schema: { type: "object", "x-kubernetes-preserve-unknown-fields": true } },
          ...(options.statusSubresource === false ? {} : { subresources: { status: {} } }),
        },
      ],
    },
  };
}

export function widget(name: string, namespace: string, size = 1): JsonObject {
  return {
    apiVersion: WIDGET_API,
    kind: "Widget",
    metadata: {
      name,
      namespace,
      labels: { app: "demo" },
      managedFields: [
        {
          manager: "kubectl",
          operation: "Apply",
          apiVersion: WIDGET_API,
          fieldsType: "FieldsV1",
          fieldsV1: {},
        },
      ],
    },
    spec: { size },
  };
}
