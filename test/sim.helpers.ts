/* eslint-disable @typescript-eslint/no-explicit-any -- tests handle Kubernetes objects as loose JSON, as clients see them on the wire */
import { KubeConfig, Watch } from "@kubernetes/client-node";
import { startApiServer, type ApiServer, type ApiServerOptions } from "../src/sim/index.js";

export async function startSim(options: ApiServerOptions = {}): Promise<{ sim: ApiServer; kc: KubeConfig }> {
  const sim = await startApiServer({ port: 0, bookmarkIntervalMs: 100, ...options });
  const kc = new KubeConfig();
  kc.loadFromString(sim.kubeconfig());
  return { sim, kc };
}

export interface WatchEvent {
  type: string;
  object: any;
}

/** A client-node watch that records events and how it ended. */
export class Recorder {
  events: WatchEvent[] = [];
  ended: { err: unknown } | undefined;
  private controller: AbortController | undefined;
  private waiters: (() => void)[] = [];

  static async start(
    kc: KubeConfig,
    path: string,
    query: Record<string, string | number | boolean | undefined> = {},
  ): Promise<Recorder> {
    const r = new Recorder();
    r.controller = await new Watch(kc).watch(
      path,
      query,
      (type, object) => {
        r.events.push({ type, object });
        r.notify();
      },
      (err) => {
        r.ended = { err };
        r.notify();
      },
    );
    return r;
  }

  private notify(): void {
    for (const w of this.waiters.splice(0)) w();
  }

  async until(pred: (r: Recorder) => boolean, timeoutMs = 5000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!pred(this)) {
      if (Date.now() > deadline)
        throw new Error(`timed out; events: ${JSON.stringify(this.events.map((e) => e.type))}`);
      await new Promise<void>((resolve) => {
        this.waiters.push(resolve);
        setTimeout(resolve, 50);
      });
    }
  }

  types(): string[] {
    return this.events.map((e) => e.type);
  }

  stop(): void {
    this.controller?.abort();
  }
}

export const widgetCrd = {
  apiVersion: "apiextensions.k8s.io/v1",
  kind: "CustomResourceDefinition",
  metadata: { name: "widgets.example.com" },
  spec: {
    group: "example.com",
    scope: "Namespaced",
    names: { plural: "widgets", singular: "widget", kind: "Widget", shortNames: ["wd"] },
    versions: [
      {
        name: "v1",
        served: true,
        storage: true,
        subresources: { status: {} },
        schema: { openAPIV3Schema: { type: "object", "x-kubernetes-preserve-unknown-fields": true } },
      },
    ],
  },
};

export function widget(name: string, namespace = "default", extra: Record<string, unknown> = {}): any {
  return {
    apiVersion: "example.com/v1",
    kind: "Widget",
    metadata: { name, namespace, ...extra },
    spec: { size: 1 },
  };
}

export async function getJson(
  url: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; body: any; headers: Headers }> {
  const res = await fetch(url, { headers });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : undefined, headers: res.headers };
}
