/* eslint-disable @typescript-eslint/no-explicit-any, @typescript-eslint/no-unsafe-class-instance-assignment, @typescript-eslint/no-unsafe-return, @typescript-eslint/no-misused-spread -- tests handle Kubernetes objects as loose JSON, as clients see them on the wire */
import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import {
  ApiextensionsV1Api,
  CoreV1Api,
  CustomObjectsApi,
  PatchStrategy,
  makeInformer,
  setHeaderOptions,
  type KubeConfig,
  type V1ConfigMap,
} from "@kubernetes/client-node";
import type { ApiServer } from "../src/sim/index.js";
import { Recorder, getJson, startSim, widget, widgetCrd } from "./sim.helpers.js";

let sim: ApiServer;
let kc: KubeConfig;
let core: CoreV1Api;
let custom: CustomObjectsApi;
let ext: ApiextensionsV1Api;

const W = { group: "example.com", version: "v1", plural: "widgets" };

async function apiError(p: Promise<unknown>): Promise<{ code: number; body: any }> {
  try {
    await p;
  } catch (err: any) {
    const body = typeof err.body === "string" ? JSON.parse(err.body) : err.body;
    return { code: err.code, body };
  }
  throw new Error("expected the call to fail");
}

beforeAll(async () => {
  ({ sim, kc } = await startSim());
  core = kc.makeApiClient(CoreV1Api);
  custom = kc.makeApiClient(CustomObjectsApi);
  ext = kc.makeApiClient(ApiextensionsV1Api);
  await ext.createCustomResourceDefinition({ body: widgetCrd });
});

afterAll(async () => {
  await sim.close();
});

describe("discovery", () => {
  it("serves /version, /api, /apis and resource lists with status subresources", async () => {
    expect((await getJson(`${sim.url}/version`)).body.major).toBe("1");
    expect((await getJson(`${sim.url}/api`)).body.versions).toEqual(["v1"]);
    const apis = (await getJson(`${sim.url}/apis`)).body;
    expect(apis.kind).toBe("APIGroupList");
    expect(apis.groups.map((g: any) => g.name)).toEqual(
      expect.arrayContaining(["apiextensions.k8s.io", "example.com"]),
    );
    const group = (await getJson(`${sim.url}/apis/example.com`)).body;
    expect(group.preferredVersion).toEqual({ groupVersion: "example.com/v1", version: "v1" });
    const list = (await getJson(`${sim.url}/apis/example.com/v1`)).body;
    expect(list.resources).toEqual([
      expect.objectContaining({
        name: "widgets",
        singularName: "widget",
        namespaced: true,
        kind: "Widget",
        shortNames: ["wd"],
      }),
      expect.objectContaining({ name: "widgets/status", verbs: ["get", "patch", "update"] }),
    ]);
    const v1 = (await getJson(`${sim.url}/api/v1`)).body;
    expect(v1.resources.map((r: any) => r.name)).toEqual(
      expect.arrayContaining(["namespaces", "configmaps", "secrets", "events", "pods"]),
    );
  });

  it("answers an aggregated-discovery Accept with the plain document", async () => {
    const res = await getJson(`${sim.url}/apis`, {
      accept: "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json",
    });
    expect(res.headers.get("content-type")).toBe("application/json");
    expect(res.body.kind).toBe("APIGroupList");
  });

  it("gives unknown paths a NotFound Status", async () => {
    const res = await getJson(`${sim.url}/apis/nope.example.com/v1/things`);
    expect(res.status).toBe(404);
    expect(res.body).toMatchObject({
      kind: "Status",
      apiVersion: "v1",
      status: "Failure",
      reason: "NotFound",
      code: 404,
    });
  });
});

describe("objects", () => {
  it("creates, reads, updates and deletes ConfigMaps with kube metadata", async () => {
    const created = await core.createNamespacedConfigMap({
      namespace: "default",
      body: { metadata: { name: "cm1" }, data: { a: "1" } },
    });
    expect(created.metadata?.uid).toMatch(/^[0-9a-f-]{36}$/);
    expect(created.metadata?.creationTimestamp).toBeInstanceOf(Date);
    expect(Number(created.metadata?.resourceVersion)).toBeGreaterThan(0);
    const got = await core.readNamespacedConfigMap({ name: "cm1", namespace: "default" });
    expect(got.data).toEqual({ a: "1" });
    const updated = await core.replaceNamespacedConfigMap({
      name: "cm1",
      namespace: "default",
      body: { ...got, data: { a: "2" } },
    });
    expect(Number(updated.metadata?.resourceVersion)).toBeGreaterThan(Number(got.metadata?.resourceVersion));
    const stale = await apiError(
      core.replaceNamespacedConfigMap({
        name: "cm1",
        namespace: "default",
        body: { ...got, data: { a: "3" } },
      }),
    );
    expect(stale.code).toBe(409);
    expect(stale.body).toMatchObject({ reason: "Conflict", code: 409 });
    const dup = await apiError(
      core.createNamespacedConfigMap({ namespace: "default", body: { metadata: { name: "cm1" } } }),
    );
    expect(dup.body).toMatchObject({ reason: "AlreadyExists", details: { name: "cm1", kind: "configmaps" } });
    await core.deleteNamespacedConfigMap({ name: "cm1", namespace: "default" });
    const gone = await apiError(core.readNamespacedConfigMap({ name: "cm1", namespace: "default" }));
    expect(gone.code).toBe(404);
    expect(gone.body.message).toBe('configmaps "cm1" not found');
  });

  it("rejects a missing namespace with 404 and a bad name with 422", async () => {
    const noNs = await apiError(
      core.createNamespacedConfigMap({ namespace: "nowhere", body: { metadata: { name: "x" } } }),
    );
    expect(noNs.code).toBe(404);
    expect(noNs.body.message).toBe('namespaces "nowhere" not found');
    const bad = await apiError(
      core.createNamespacedConfigMap({ namespace: "default", body: { metadata: { name: "Bad_Name" } } }),
    );
    expect(bad.code).toBe(422);
    expect(bad.body.reason).toBe("Invalid");
  });

  it("keeps status out of main-resource writes and bumps generation on spec changes only", async () => {
    const created: any = await custom.createNamespacedCustomObject({
      ...W,
      namespace: "default",
      body: { ...widget("g1"), status: { phase: "X" } },
    });
    expect(created.status).toBeUndefined();
    expect(created.metadata.generation).toBe(1);
    const withStatus: any = await custom.replaceNamespacedCustomObjectStatus({
      ...W,
      namespace: "default",
      name: "g1",
      body: { ...created, spec: { size: 99 }, status: { phase: "Ready" } },
    });
    expect(withStatus.status).toEqual({ phase: "Ready" });
    expect(withStatus.spec).toEqual({ size: 1 });
    expect(withStatus.metadata.generation).toBe(1);
    const replaced: any = await custom.replaceNamespacedCustomObject({
      ...W,
      namespace: "default",
      name: "g1",
      body: { ...withStatus, spec: { size: 2 }, status: { phase: "Ignored" } },
    });
    expect(replaced.status).toEqual({ phase: "Ready" });
    expect(replaced.metadata.generation).toBe(2);
    const labelled: any = await custom.patchNamespacedCustomObject(
      { ...W, namespace: "default", name: "g1", body: { metadata: { labels: { a: "b" } } } },
      setHeaderOptions("Content-Type", PatchStrategy.MergePatch),
    );
    expect(labelled.metadata.generation).toBe(2);
    const status: any = await custom.getNamespacedCustomObjectStatus({
      ...W,
      namespace: "default",
      name: "g1",
    });
    expect(status.status.phase).toBe("Ready");
  });

  it("applies merge, JSON and strategic-merge patches", async () => {
    await custom.createNamespacedCustomObject({
      ...W,
      namespace: "default",
      body: { ...widget("p1"), spec: { size: 1, tags: ["a"], nested: { x: 1, y: 2 } } },
    });
    const merged: any = await custom.patchNamespacedCustomObject(
      { ...W, namespace: "default", name: "p1", body: { spec: { nested: { y: null, z: 3 } } } },
      setHeaderOptions("Content-Type", PatchStrategy.MergePatch),
    );
    expect(merged.spec.nested).toEqual({ x: 1, z: 3 });
    const jsonPatched: any = await custom.patchNamespacedCustomObject(
      {
        ...W,
        namespace: "default",
        name: "p1",
        body: [
          { op: "add", path: "/spec/tags/-", value: "b" },
          { op: "copy", from: "/spec/size", path: "/spec/copied" },
          { op: "move", from: "/spec/nested/z", path: "/spec/moved" },
          { op: "test", path: "/spec/size", value: 1 },
        ],
      },
      setHeaderOptions("Content-Type", PatchStrategy.JsonPatch),
    );
    expect(jsonPatched.spec).toEqual({ size: 1, tags: ["a", "b"], nested: { x: 1 }, copied: 1, moved: 3 });
    const failed = await apiError(
      custom.patchNamespacedCustomObject(
        { ...W, namespace: "default", name: "p1", body: [{ op: "test", path: "/spec/size", value: 2 }] },
        setHeaderOptions("Content-Type", PatchStrategy.JsonPatch),
      ),
    );
    expect(failed.code).toBe(422);
    const smp: any = await custom.patchNamespacedCustomObject(
      {
        ...W,
        namespace: "default",
        name: "p1",
        body: { spec: { tags: ["c"], "$setElementOrder/tags": ["c"] } },
      },
      setHeaderOptions("Content-Type", PatchStrategy.StrategicMergePatch),
    );
    expect(smp.spec.tags).toEqual(["c"]);
    const conflict = await apiError(
      custom.patchNamespacedCustomObject(
        {
          ...W,
          namespace: "default",
          name: "p1",
          body: { metadata: { resourceVersion: "1" }, spec: { size: 5 } },
        },
        setHeaderOptions("Content-Type", PatchStrategy.MergePatch),
      ),
    );
    expect(conflict.code).toBe(409);
  });

  it("holds objects with finalizers until the finalizers are removed", async () => {
    await custom.createNamespacedCustomObject({
      ...W,
      namespace: "default",
      body: widget("f1", "default", { finalizers: ["example.com/keep"] }),
    });
    const deleting: any = await custom.deleteNamespacedCustomObject({
      ...W,
      namespace: "default",
      name: "f1",
    });
    expect(deleting.metadata.deletionTimestamp).toBeDefined();
    expect(
      sim.get({ apiVersion: "example.com/v1", kind: "Widget", namespace: "default", name: "f1" }),
    ).toBeDefined();
    await custom.patchNamespacedCustomObject(
      { ...W, namespace: "default", name: "f1", body: [{ op: "remove", path: "/metadata/finalizers" }] },
      setHeaderOptions("Content-Type", PatchStrategy.JsonPatch),
    );
    expect(
      sim.get({ apiVersion: "example.com/v1", kind: "Widget", namespace: "default", name: "f1" }),
    ).toBeUndefined();
  });
});

describe("lists", () => {
  beforeAll(async () => {
    await core.createNamespace({ body: { metadata: { name: "paging" } } });
    for (let i = 0; i < 25; i++) {
      const labels: Record<string, string> = {
        tier: i % 3 === 0 ? "gold" : i % 3 === 1 ? "silver" : "bronze",
      };
      if (i % 5 === 0) labels.special = "yes";
      await core.createNamespacedConfigMap({
        namespace: "paging",
        body: { metadata: { name: `cm-${String(i).padStart(2, "0")}`, labels } },
      });
    }
  });

  it("pages with limit/continue from a consistent snapshot", async () => {
    const first = await core.listNamespacedConfigMap({ namespace: "paging", limit: 10 });
    expect(first.items).toHaveLength(10);
    expect(first.metadata?.remainingItemCount).toBe(15);
    expect(first.kind).toBe("ConfigMapList");
    const rv = first.metadata?.resourceVersion;
    // Changes after the first page must not show up in later pages of the same list.
    await core.deleteNamespacedConfigMap({ name: "cm-24", namespace: "paging" });
    await core.createNamespacedConfigMap({ namespace: "paging", body: { metadata: { name: "cm-99" } } });
    const names: string[] = first.items.map((c) => c.metadata?.name ?? "");
    let cont = first.metadata?._continue;
    while (cont) {
      const page = await core.listNamespacedConfigMap({ namespace: "paging", limit: 10, _continue: cont });
      expect(page.metadata?.resourceVersion).toBe(rv);
      names.push(...page.items.map((c) => c.metadata?.name ?? ""));
      cont = page.metadata?._continue;
    }
    expect(names).toEqual(Array.from({ length: 25 }, (_, i) => `cm-${String(i).padStart(2, "0")}`));
    const now = await core.listNamespacedConfigMap({ namespace: "paging" });
    expect(now.items.map((c) => c.metadata?.name)).toContain("cm-99");
    expect(Number(now.metadata?.resourceVersion)).toBeGreaterThan(Number(rv));
    await core.createNamespacedConfigMap({
      namespace: "paging",
      body: { metadata: { name: "cm-24", labels: { tier: "gold" } } },
    });
    await core.deleteNamespacedConfigMap({ name: "cm-99", namespace: "paging" });
  });

  it("answers an expired continue token with 410 Expired", async () => {
    const first = await core.listNamespacedConfigMap({ namespace: "paging", limit: 5 });
    sim.faults.compact();
    const err = await apiError(
      core.listNamespacedConfigMap({
        namespace: "paging",
        limit: 5,
        _continue: first.metadata?._continue ?? "",
      }),
    );
    expect(err.code).toBe(410);
    expect(err.body.reason).toBe("Expired");
  });

  it("filters by label and field selectors", async () => {
    const names = async (labelSelector?: string, fieldSelector?: string): Promise<string[]> =>
      (await core.listNamespacedConfigMap({ namespace: "paging", labelSelector, fieldSelector })).items.map(
        (c: V1ConfigMap) => c.metadata?.name ?? "",
      );
    expect(await names("tier=gold")).toHaveLength(9);
    expect(await names("tier==gold")).toHaveLength(9);
    expect(await names("tier!=gold")).toHaveLength(16);
    expect(await names("tier in (gold, silver)")).toHaveLength(17);
    expect(await names("tier notin (gold,silver)")).toHaveLength(8);
    expect(await names("special")).toEqual(["cm-00", "cm-05", "cm-10", "cm-15", "cm-20"]);
    expect(await names("!special")).toHaveLength(20);
    expect(await names("special,tier=gold")).toEqual(["cm-00", "cm-15"]);
    expect(await names(undefined, "metadata.name=cm-03")).toEqual(["cm-03"]);
    expect(await names(undefined, "metadata.name!=cm-03,metadata.namespace=paging")).toHaveLength(24);
    const all = await core.listConfigMapForAllNamespaces({ fieldSelector: "metadata.namespace=paging" });
    expect(all.items).toHaveLength(25);
    const bad = await apiError(
      core.listNamespacedConfigMap({ namespace: "paging", fieldSelector: "data.a=1" }),
    );
    expect(bad.code).toBe(400);
  });
});

describe("watch", () => {
  it("streams initial ADDED events, then changes, and resumes from a resourceVersion", async () => {
    await core.createNamespace({ body: { metadata: { name: "w1" } } });
    sim.create(widget("a", "w1"));
    const r = await Recorder.start(kc, "/apis/example.com/v1/namespaces/w1/widgets");
    await r.until((x) => x.events.length === 1);
    expect(r.events[0]).toMatchObject({ type: "ADDED", object: { metadata: { name: "a" } } });
    sim.create(widget("b", "w1"));
    sim.patch({ apiVersion: "example.com/v1", kind: "Widget", namespace: "w1", name: "a" }, "merge", {
      spec: { size: 2 },
    });
    sim.delete({ apiVersion: "example.com/v1", kind: "Widget", namespace: "w1", name: "b" });
    await r.until((x) => x.events.length === 4);
    expect(r.types()).toEqual(["ADDED", "ADDED", "MODIFIED", "DELETED"]);
    const rv = r.events[1]!.object.metadata.resourceVersion;
    r.stop();
    const resumed = await Recorder.start(kc, "/apis/example.com/v1/namespaces/w1/widgets", {
      resourceVersion: rv,
    });
    await resumed.until((x) => x.events.length === 2);
    expect(resumed.types()).toEqual(["MODIFIED", "DELETED"]);
    resumed.stop();
  });

  it("sends BOOKMARKs when allowed and ends at timeoutSeconds", async () => {
    const r = await Recorder.start(kc, "/api/v1/namespaces", {
      allowWatchBookmarks: true,
      timeoutSeconds: 1,
      resourceVersion: sim.resourceVersion,
    });
    await r.until((x) => x.ended !== undefined, 3000);
    const bookmarks = r.events.filter((e) => e.type === "BOOKMARK");
    expect(bookmarks.length).toBeGreaterThan(2);
    expect(bookmarks[0]!.object).toEqual({
      kind: "Namespace",
      apiVersion: "v1",
      metadata: { resourceVersion: sim.resourceVersion },
    });
    expect(r.ended?.err).toBeNull();
  });

  it("sends an ERROR 410 event for a resourceVersion older than the window", async () => {
    const old = sim.resourceVersion;
    sim.create(widget("c", "w1"));
    sim.faults.compact();
    const r = await Recorder.start(kc, "/apis/example.com/v1/namespaces/w1/widgets", {
      resourceVersion: old,
    });
    await r.until((x) => x.ended !== undefined);
    expect(r.events).toHaveLength(1);
    expect(r.events[0]).toMatchObject({
      type: "ERROR",
      object: { kind: "Status", code: 410, reason: "Expired" },
    });
  });

  it("turns selector transitions into ADDED/DELETED", async () => {
    const r = await Recorder.start(kc, "/apis/example.com/v1/namespaces/w1/widgets", {
      labelSelector: "watched=yes",
      resourceVersion: sim.resourceVersion,
    });
    const ref = { apiVersion: "example.com/v1", kind: "Widget", namespace: "w1", name: "c" };
    sim.patch(ref, "merge", { metadata: { labels: { watched: "yes" } } });
    sim.patch(ref, "merge", { spec: { size: 7 } });
    sim.patch(ref, "merge", { metadata: { labels: { watched: "no" } } });
    await r.until((x) => x.events.length === 3);
    expect(r.types()).toEqual(["ADDED", "MODIFIED", "DELETED"]);
    r.stop();
  });

  it("removes a CRD's resource and objects when the CRD is deleted", async () => {
    await ext.createCustomResourceDefinition({
      body: {
        ...widgetCrd,
        metadata: { name: "gadgets.example.com" },
        spec: { ...widgetCrd.spec, names: { plural: "gadgets", singular: "gadget", kind: "Gadget" } },
      },
    });
    const crd = await ext.readCustomResourceDefinition({ name: "gadgets.example.com" });
    expect(crd.status?.conditions?.find((c) => c.type === "Established")?.status).toBe("True");
    await custom.createNamespacedCustomObject({
      group: "example.com",
      version: "v1",
      plural: "gadgets",
      namespace: "default",
      body: { apiVersion: "example.com/v1", kind: "Gadget", metadata: { name: "g" } },
    });
    const r = await Recorder.start(kc, "/apis/example.com/v1/gadgets");
    await r.until((x) => x.events.length === 1);
    await ext.deleteCustomResourceDefinition({ name: "gadgets.example.com" });
    await r.until((x) => x.ended !== undefined);
    expect(r.types()).toEqual(["ADDED", "DELETED"]);
    const err = await apiError(
      custom.listClusterCustomObject({ group: "example.com", version: "v1", plural: "gadgets" }),
    );
    expect(err.code).toBe(404);
    const list = (await getJson(`${sim.url}/apis/example.com/v1`)).body;
    expect(list.resources.map((x: any) => x.name)).not.toContain("gadgets");
  });
});

describe("faults", () => {
  it("fails the next lists with 500 and 429 + Retry-After", async () => {
    sim.faults.failNext({ resource: "configmaps", verb: "list", status: 429, retryAfterSeconds: 3 });
    const res = await fetch(`${sim.url}/api/v1/configmaps`);
    expect(res.status).toBe(429);
    expect(res.headers.get("retry-after")).toBe("3");
    expect(((await res.json()) as any).reason).toBe("TooManyRequests");
    sim.faults.failNext({ resource: "configmaps", status: 500, count: 2 });
    expect((await fetch(`${sim.url}/api/v1/configmaps`)).status).toBe(500);
    expect((await fetch(`${sim.url}/api/v1/configmaps?watch=1`)).status).toBe(500);
    expect((await fetch(`${sim.url}/api/v1/configmaps`)).status).toBe(200);
  });

  it("drops watch streams and hangs new ones", async () => {
    const r = await Recorder.start(kc, "/api/v1/namespaces");
    await r.until((x) => x.events.length > 0);
    expect(sim.faults.dropWatches({ resource: "namespaces" })).toBe(1);
    await r.until((x) => x.ended !== undefined);
    sim.faults.hangNextWatches({ resource: "namespaces" });
    const hung = await Recorder.start(kc, "/api/v1/namespaces", { allowWatchBookmarks: true });
    await core.createNamespace({ body: { metadata: { name: "hang-test" } } });
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(hung.events).toHaveLength(0);
    expect(hung.ended).toBeUndefined();
    hung.stop();
  });

  it("restarts with a resourceVersion reset that drops watchers", async () => {
    const r = await Recorder.start(kc, "/api/v1/namespaces", { resourceVersion: sim.resourceVersion });
    await new Promise((resolve) => setTimeout(resolve, 50));
    const before = Number(sim.resourceVersion);
    const base = sim.faults.restart();
    expect(base).toBeGreaterThan(before);
    await r.until((x) => x.ended !== undefined);
    const ns = await core.createNamespace({ body: { metadata: { name: "after-restart" } } });
    expect(Number(ns.metadata?.resourceVersion)).toBe(base + 1);
    const resumed = await Recorder.start(kc, "/api/v1/namespaces", { resourceVersion: String(before) });
    await resumed.until((x) => x.ended !== undefined);
    expect(resumed.events[0]).toMatchObject({ type: "ERROR", object: { code: 410 } });
  });

  it("slows list pages", async () => {
    sim.faults.slowLists({ resource: "configmaps", delayMs: 200 });
    const t0 = Date.now();
    await core.listNamespacedConfigMap({ namespace: "default" });
    expect(Date.now() - t0).toBeGreaterThanOrEqual(190);
    sim.faults.reset();
  });
});

describe("client-node informer", () => {
  it("lists, watches and relists after a 410", async () => {
    await core.createNamespace({ body: { metadata: { name: "inf" } } });
    sim.create({ apiVersion: "v1", kind: "ConfigMap", metadata: { name: "one", namespace: "inf" } });
    const informer = makeInformer(kc, "/api/v1/namespaces/inf/configmaps", () =>
      core.listNamespacedConfigMap({ namespace: "inf" }),
    );
    const seen: string[] = [];
    informer.on("add", (o) => seen.push(`add:${o.metadata?.name ?? ""}`));
    informer.on("update", (o) => seen.push(`update:${o.metadata?.name ?? ""}`));
    informer.on("delete", (o) => seen.push(`delete:${o.metadata?.name ?? ""}`));
    // client-node informers stop on a broken connection; restarting is the caller's job.
    informer.on("error", () => {
      seen.push("error");
      setTimeout(() => void informer.start(), 50);
    });
    await informer.start();
    sim.create({ apiVersion: "v1", kind: "ConfigMap", metadata: { name: "two", namespace: "inf" } });
    const until = async (pred: () => boolean): Promise<void> => {
      const deadline = Date.now() + 5000;
      while (!pred()) {
        if (Date.now() > deadline) throw new Error(`timed out: ${seen.join(" ")}`);
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    };
    await until(() => seen.includes("add:two"));
    sim.faults.compact();
    sim.faults.failNext({ resource: "configmaps", verb: "watch", status: 410 });
    sim.faults.dropWatches({ resource: "configmaps" });
    sim.delete({ apiVersion: "v1", kind: "ConfigMap", namespace: "inf", name: "one" });
    await until(() => seen.includes("delete:one"));
    expect(seen).toContain("error");
    expect(informer.list().map((o) => o.metadata?.name)).toEqual(["two"]);
    await informer.stop();
  });
});
