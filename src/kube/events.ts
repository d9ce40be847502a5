/**
 * core/v1 Events about an object, for configurations whose installed CRD has no status
 * subresource (SPEC §7). Events are namespaced; for a cluster-scoped object they go to
 * `default`, which is where kubectl describe looks for them.
 */
import { randomBytes } from "node:crypto";
import type { KubeApi } from "./api.js";
import type { KubeObject } from "./types.js";

export interface EventInput {
  /** The object the event is about. */
  involved: KubeObject;
  type: "Normal" | "Warning";
  /** UpperCamelCase, machine-readable. */
  reason: string;
  message: string;
  /** Reporting component, e.g. "crd-state-metrics". */
  component: string;
  /** Pod or host name of the reporting instance. */
  host?: string;
}

export function buildEvent(
  input: EventInput,
  now: Date = new Date(),
): { namespace: string; event: Record<string, unknown> } {
  const meta = input.involved.metadata;
  const namespace = meta.namespace ?? "default";
  const time = now.toISOString().replace(/\.\d+Z$/, "Z");
  // kubectl's naming scheme: unique per occurrence, recognisably about the object.
  const name = `${meta.name}.${randomBytes(8).toString("hex")}`;
  const event: Record<string, unknown> = {
    apiVersion: "v1",
    kind: "Event",
    metadata: { name, namespace },
    involvedObject: {
      apiVersion: input.involved.apiVersion,
      kind: input.involved.kind,
      name: meta.name,
      ...(meta.namespace === undefined ? {} : { namespace: meta.namespace }),
      ...(meta.uid === undefined ? {} : { uid: meta.uid }),
      ...(meta.resourceVersion === undefined ? {} : { resourceVersion: meta.resourceVersion }),
    },
    type: input.type,
    reason: input.reason,
    // The API server rejects messages over 1 KiB.
    message: input.message.length > 1024 ? `${input.message.slice(0, 1021)}...` : input.message,
    source: { component: input.component, ...(input.host === undefined ? {} : { host: input.host }) },
    reportingComponent: input.component,
    reportingInstance: input.host ?? input.component,
    firstTimestamp: time,
    lastTimestamp: time,
    count: 1,
  };
  return { namespace, event };
}

export async function recordEvent(api: KubeApi, input: EventInput): Promise<void> {
  const { namespace, event } = buildEvent(input);
  await api.createEvent(namespace, event);
}
