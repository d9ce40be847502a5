import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "@jest/globals";
import { KubeApiError, type KubeApi } from "../src/kube/api.js";
import { createKubeApi, KubeConfigError, loadKubeConfig } from "../src/kube/client.js";
import { CrdWatcher, resolveResource, type CrdChange } from "../src/kube/crd-watch.js";
import { Discovery } from "../src/kube/discovery.js";
import { recordEvent } from "../src/kube/events.js";
import { Reflector } from "../src/kube/reflector.js";
import { resourceKey } from "../src/kube/types.js";
import { startApiServer, type ApiServer } from "../src/sim/server.js";
import {
  eventually,
  mapsEqual,
  RecordingHandler,
  serverState,
  WIDGET,
  WIDGET_API,
  widget,
  widgetCrd,
} from "./kube.harness.js";

const FAST = {
  watchTimeoutSeconds: 30,
  watchdogSeconds: 30,
  backoff: { initialMs: 50, maxMs: 400 },
} as const;

describe("discovery, CRD watching and the API client", () => {
  let sim: ApiServer;
  let api: KubeApi;
  const stoppers: (() => Promise<void>)[] = [];

  beforeEach(async () => {
    sim = await startApiServer({ bookmarkIntervalMs: 60_000 });
    api = createKubeApi({ server: sim.url, requestTimeoutMs: 5000 });
  });

  afterEach(async () => {
    for (const stop of stoppers.splice(0)) await stop();
    api.close();
    await sim.close();
  });

  it("resolves built-in kinds, skips subresources and answers NotFound without throwing", async () => {
    const discovery = new Discovery(api);
    expect(await discovery.resolve("v1", "Pod")).toEqual({
      group: "",
      version: "v1",
      plural: "pods",
      kind: "Pod",
      namespaced: true,
    });
    expect(await discovery.resolve("v1", "Namespace")).toMatchObject({
      plural: "namespaces",
      namespaced: false,
    });
    expect(await discovery.resolve("apiextensions.k8s.io/v1", "CustomResourceDefinition")).toMatchObject({
      plural: "customresourcedefinitions",
      namespaced: false,
    });
    expect((await discovery.resources("v1")).every((r) => !r.plural.includes("/"))).toBe(true);
    expect(await discovery.resolve("v1", "NoSuchKind")).toBeUndefined();
    expect(await discovery.resolve(WIDGET_API, "Widget")).toBeUndefined();
    expect(await discovery.resolve("nowhere.example/v9", "Thing")).toBeUndefined();

    sim.create(widgetCrd());
    // Cached NotFound until refreshed (the CRD watcher does that).
    expect(await discovery.resolve(WIDGET_API, "Widget")).toBeUndefined();
    discovery.refresh(WIDGET_API);
    expect(await discovery.resolve(WIDGET_API, "Widget")).toEqual(WIDGET);
    expect(resourceKey(WIDGET)).toBe("example.com/v1/widgets");
    expect(resourceKey({ group: "", version: "v1", plural: "pods" })).toBe("core/v1/pods");
  });

  it("picks up a CRD installed after start, then drops its objects when it is deleted", async () => {
    const discovery = new Discovery(api);
    const crds = new CrdWatcher({ api, discovery, reflector: FAST });
    const changes: CrdChange[] = [];
    crds.subscribe((change) => changes.push(change));
    crds.start();
    stoppers.push(() => crds.stop());
    await crds.synced;
    expect(crds.find("example.com", "Widget")).toBeUndefined();
    expect(await resolveResource(discovery, crds, WIDGET_API, "Widget")).toBeUndefined();

    // The controller's part, in miniature: start a reflector when the target's CRD appears.
    const handler = new RecordingHandler();
    let reflector: Reflector | undefined;
    crds.subscribe((change) => {
      if (change.type === "removed") {
        // kube-apiserver sends DELETED for every object before the CRD goes, but the series must
        // go even where those events are lost, so the controller drops the reflector's state.
        const stopping = reflector;
        reflector = undefined;
        void stopping?.stop().then(() => {
          handler.state.clear();
        });
        return;
      }
      if (reflector !== undefined) return;
      void resolveResource(discovery, crds, WIDGET_API, "Widget").then((resource) => {
        if (resource === undefined || reflector !== undefined) return;
        reflector = new Reflector({ api, resource, handler, pageSize: 100, ...FAST });
        reflector.start();
      });
    });
    stoppers.push(async () => reflector?.stop());

    sim.create(widgetCrd());
    for (let i = 0; i < 5; i++) sim.create(widget(`w-${i}`, "default"));
    await eventually(() => changes.some((c) => c.type === "added" && c.crd.kind === "Widget"), "CRD added");
    expect(crds.resolve(WIDGET_API, "Widget")).toEqual(WIDGET);
    expect(await discovery.resolve(WIDGET_API, "Widget")).toEqual(WIDGET);
    const info = crds.find("example.com", "Widget");
    expect(info?.versions).toEqual([{ name: "v1", served: true, storage: true, statusSubresource: true }]);
    await eventually(() => reflector?.hasSynced === true, "target reflector synced");
    sim.create(widget("late", "default"));
    await eventually(
      () => mapsEqual(handler.versions(), serverState(sim, WIDGET_API, "Widget")) && handler.state.size === 6,
      "target convergence",
    );

    sim.delete({
      apiVersion: "apiextensions.k8s.io/v1",
      kind: "CustomResourceDefinition",
      name: "widgets.example.com",
    });
    await eventually(() => changes.some((c) => c.type === "removed"), "CRD removed");
    await eventually(() => handler.state.size === 0, "objects gone with their CRD");
    expect(crds.resolve(WIDGET_API, "Widget")).toBeUndefined();
    expect(await resolveResource(discovery, crds, WIDGET_API, "Widget")).toBeUndefined();
  });

  it("reports a change of served versions", async () => {
    sim.create(widgetCrd());
    const crds = new CrdWatcher({ api, reflector: FAST });
    const changes: CrdChange[] = [];
    crds.subscribe((change) => changes.push(change));
    crds.start();
    stoppers.push(() => crds.stop());
    await crds.synced;
    expect(changes.map((c) => c.type)).toEqual(["added"]);
    const crd = widgetCrd();
    const spec = crd.spec as { versions: Record<string, unknown>[] };
    spec.versions = [
      { ...spec.versions[0], storage: false },
      { ...spec.versions[0], name: "v2", storage: true },
    ] as typeof spec.versions;
    sim.upsert(crd);
    await eventually(() => changes.length === 2, "change");
    expect(changes[1]?.type).toBe("changed");
    expect(changes[1]?.crd.versions.map((v) => v.name)).toEqual(["v1", "v2"]);
    expect(crds.resolve("example.com/v2", "Widget")).toMatchObject({ version: "v2", plural: "widgets" });
    // Status-only updates of the CRD are not changes.
    sim.upsert(crd);
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(changes.length).toBe(2);
  });

  it("patches status, creates Events and reports errors with their Status reason", async () => {
    sim.create(widgetCrd());
    sim.create(widget("w", "default"));
    const patched = await api.patchStatus(WIDGET, "w", { status: { phase: "Ready" } }, "default");
    expect(patched.status).toEqual({ phase: "Ready" });
    expect(
      sim.get({ apiVersion: WIDGET_API, kind: "Widget", name: "w", namespace: "default" })?.status,
    ).toEqual({
      phase: "Ready",
    });
    const merged = await api.patchMerge(WIDGET, "w", { metadata: { labels: { extra: "yes" } } }, "default");
    expect(merged.metadata.labels).toEqual({ app: "demo", extra: "yes" });
    expect(merged.metadata.managedFields).toBeUndefined();

    await recordEvent(api, {
      involved: merged,
      type: "Warning",
      reason: "Invalid",
      message: "metric foo: bad path",
      component: "crd-state-metrics",
    });
    const events = sim.list("v1", "Event", "default");
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({
      reason: "Invalid",
      type: "Warning",
      involvedObject: { kind: "Widget", name: "w", namespace: "default" },
    });

    const missing = await api.get(WIDGET, "nope", "default").catch((err: unknown) => err);
    expect(missing).toBeInstanceOf(KubeApiError);
    expect((missing as KubeApiError).statusCode).toBe(404);
    expect((missing as KubeApiError).reason).toBe("NotFound");
    expect((missing as KubeApiError).isNotFound).toBe(true);

    sim.faults.failNext({ resource: "widgets", verb: "list", status: 429, retryAfterSeconds: 3 });
    const throttled = await api.list(WIDGET, { limit: 10 }).catch((err: unknown) => err);
    expect(throttled).toMatchObject({ statusCode: 429, retryAfterSeconds: 3, isThrottled: true });

    const refused = createKubeApi({ server: "http://127.0.0.1:1" });
    const network = await refused.list(WIDGET).catch((err: unknown) => err);
    expect(network).toBeInstanceOf(KubeApiError);
    expect((network as KubeApiError).statusCode).toBeUndefined();
    expect((network as KubeApiError).code).toBe("ECONNREFUSED");
    refused.close();
  });

  it("loads kubeconfig files and contexts, and chooses in-cluster config inside a pod", async () => {
    const dir = mkdtempSync(join(tmpdir(), "csm-kube-"));
    try {
      const file = join(dir, "config");
      writeFileSync(file, sim.kubeconfig("sim"));
      const loaded = loadKubeConfig({ kubeconfig: file, context: "sim" });
      expect(loaded).toMatchObject({ source: "file", context: "sim", server: sim.url });
      expect(() => loadKubeConfig({ kubeconfig: file, context: "other" })).toThrow(KubeConfigError);
      expect(() => loadKubeConfig({ kubeconfig: join(dir, "missing") })).toThrow(KubeConfigError);

      // A plain-HTTP kubeconfig without insecure-skip-tls-verify still works (as with kubectl).
      sim.create(widgetCrd());
      sim.create(widget("w", "default"));
      const fromFile = createKubeApi({ kubeconfig: file });
      const page = await fromFile.list(WIDGET, { limit: 1 });
      expect(page.items.map((o) => o.metadata.name)).toEqual(["w"]);
      fromFile.close();

      const saved = { host: process.env.KUBERNETES_SERVICE_HOST, port: process.env.KUBERNETES_SERVICE_PORT };
      process.env.KUBERNETES_SERVICE_HOST = "10.96.0.1";
      process.env.KUBERNETES_SERVICE_PORT = "443";
      try {
        expect(loadKubeConfig({})).toMatchObject({ source: "in-cluster", server: "https://10.96.0.1:443" });
        expect(loadKubeConfig({ kubeconfig: file }).source).toBe("file");
      } finally {
        restoreEnv("KUBERNETES_SERVICE_HOST", saved.host);
        restoreEnv("KUBERNETES_SERVICE_PORT", saved.port);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

function restoreEnv(name: string, value: string | undefined): void {
  if (value === undefined) Reflect.deleteProperty(process.env, name);
  else process.env[name] = value;
}
