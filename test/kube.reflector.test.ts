import { afterEach, beforeEach, describe, expect, it } from "@jest/globals";
import type { KubeApi } from "../src/kube/api.js";
import { createKubeApi } from "../src/kube/client.js";
import { Reflector, type ReflectorOptions } from "../src/kube/reflector.js";
import { startApiServer, type ApiServer } from "../src/sim/server.js";
import {
  CountingObserver,
  countingApi,
  delay,
  eventually,
  mapsEqual,
  RecordingHandler,
  serverState,
  WIDGET,
  WIDGET_API,
  widget,
  widgetCrd,
} from "./kube.harness.js";

describe("Reflector against the embedded API server", () => {
  let sim: ApiServer;
  let api: ReturnType<typeof countingApi>;
  let raw: KubeApi;
  let reflectors: Reflector[] = [];

  beforeEach(async () => {
    sim = await startApiServer({ bookmarkIntervalMs: 60_000 });
    sim.create(widgetCrd());
    raw = createKubeApi({ server: sim.url, requestTimeoutMs: 5000 });
    api = countingApi(raw);
    reflectors = [];
  });

  afterEach(async () => {
    await Promise.all(reflectors.map((r) => r.stop()));
    raw.close();
    await sim.close();
  });

  function start(
    handler: RecordingHandler,
    observer: CountingObserver,
    options: Partial<ReflectorOptions> = {},
  ): Reflector {
    const reflector = new Reflector({
      api,
      resource: WIDGET,
      handler,
      observer,
      pageSize: 100,
      watchTimeoutSeconds: 60,
      watchdogSeconds: 30,
      backoff: { initialMs: 50, maxMs: 400 },
      ...options,
    });
    reflectors.push(reflector);
    reflector.start();
    return reflector;
  }

  const converged = (handler: RecordingHandler, namespaces?: string[]) => () =>
    mapsEqual(handler.versions(), serverState(sim, WIDGET_API, "Widget", namespaces));

  function seed(count: number, namespace = "default"): void {
    for (let i = 0; i < count; i++) sim.create(widget(`w-${String(i).padStart(5, "0")}`, namespace, i));
  }

  it("lists in pages, then follows adds, updates and deletes through the watch", async () => {
    seed(1200);
    const handler = new RecordingHandler();
    const observer = new CountingObserver();
    const reflector = start(handler, observer);
    await reflector.synced;
    expect(reflector.hasSynced).toBe(true);
    expect(handler.pages).toEqual(new Array(12).fill(100));
    expect(handler.relistStarts).toBe(1);
    expect(handler.relistDones).toBe(1);
    expect(observer.get("list:success")).toBe(1);
    expect(observer.get("synced")).toBe(1);
    expect(converged(handler)()).toBe(true);
    expect(handler.violations).toEqual([]);
    const first = handler.state.get("default/w-00000");
    expect(first?.apiVersion).toBe(WIDGET_API);
    expect(first?.kind).toBe("Widget");

    sim.create(widget("added", "default"));
    sim.patch({ apiVersion: WIDGET_API, kind: "Widget", name: "w-00001", namespace: "default" }, "merge", {
      spec: { size: 99 },
    });
    sim.delete({ apiVersion: WIDGET_API, kind: "Widget", name: "w-00002", namespace: "default" });
    await eventually(converged(handler), "watch convergence");
    expect(handler.state.has("default/added")).toBe(true);
    expect(handler.state.get("default/w-00001")?.spec).toEqual({ size: 99 });
    expect(handler.state.has("default/w-00002")).toBe(false);
    expect(observer.get("event:ADDED")).toBe(1);
    expect(observer.get("event:MODIFIED")).toBe(1);
    expect(observer.get("event:DELETED")).toBe(1);
    expect(observer.lastEventSeconds).toBeGreaterThan(Date.now() / 1000 - 60);
    expect(handler.relistStarts).toBe(1);
    expect(handler.violations).toEqual([]);
  });

  it("restarts a watch that reaches its server timeout from the last resourceVersion, without relisting", async () => {
    seed(10);
    const handler = new RecordingHandler();
    const observer = new CountingObserver();
    start(handler, observer, { watchTimeoutSeconds: 1 });
    await eventually(() => observer.get("restart:timeout") >= 2, "two watch timeouts");
    sim.create(widget("after-timeouts", "default"));
    await eventually(converged(handler), "convergence after timeouts");
    expect(handler.relistStarts).toBe(1);
    expect(api.lists).toBe(1);
    expect(api.watches).toBeGreaterThanOrEqual(3);
    expect(observer.get("restart:closed")).toBe(0);
  });

  it("moves its resourceVersion forward on bookmarks, which also keep the watchdog quiet", async () => {
    await sim.close();
    sim = await startApiServer({ bookmarkIntervalMs: 200 });
    sim.create(widgetCrd());
    raw.close();
    raw = createKubeApi({ server: sim.url });
    api = countingApi(raw);
    seed(3);
    const handler = new RecordingHandler();
    const observer = new CountingObserver();
    const reflector = start(handler, observer, { watchdogSeconds: 1 });
    await reflector.synced;
    const listed = reflector.resourceVersions.get("");
    // Changes elsewhere advance the global resourceVersion; only bookmarks tell this watch.
    for (let i = 0; i < 5; i++)
      sim.create({
        apiVersion: "v1",
        kind: "ConfigMap",
        metadata: { name: `cm-${i}`, namespace: "default" },
      });
    await eventually(() => observer.get("event:BOOKMARK") >= 3, "bookmarks");
    expect(Number(reflector.resourceVersions.get(""))).toBeGreaterThan(Number(listed));
    await delay(1500);
    expect(observer.get("restart:watchdog")).toBe(0);
    expect(handler.upserts).toBe(0);
  });

  it("resumes a dropped watch from the last resourceVersion and misses nothing", async () => {
    seed(20);
    const handler = new RecordingHandler();
    const observer = new CountingObserver();
    const reflector = start(handler, observer);
    await reflector.synced;
    await eventually(() => sim.openWatches >= 1, "watch open");
    sim.create(widget("before-drop", "default"));
    await eventually(() => handler.state.has("default/before-drop"), "event before drop");
    expect(sim.faults.dropWatches({ resource: "widgets" })).toBe(1);
    // Written while no watch is open: only a resume from the right version delivers them.
    sim.create(widget("during-drop", "default"));
    sim.delete({ apiVersion: WIDGET_API, kind: "Widget", name: "w-00003", namespace: "default" });
    await eventually(converged(handler), "convergence after drop");
    expect(handler.relistStarts).toBe(1);
    expect(api.lists).toBe(1);
    expect(observer.get("restart:error") + observer.get("restart:closed")).toBeGreaterThanOrEqual(1);
    const resumedFrom = api.watchVersions[api.watchVersions.length - 1];
    expect(Number(resumedFrom)).toBeGreaterThan(Number(api.watchVersions[0]));
  });

  it("relists on 410 without a moment where an existing object is missing", async () => {
    seed(500);
    const handler = new RecordingHandler();
    const observer = new CountingObserver();
    const reflector = start(handler, observer, { pageSize: 50 });
    await reflector.synced;
    await eventually(() => sim.openWatches >= 1, "watch open");
    // These exist throughout; a relist that cleared state first would be caught by the handler.
    for (const key of handler.state.keys()) handler.mustStay.add(key);
    sim.faults.slowLists({ resource: "widgets", delayMs: 20 });
    // The watch's version becomes too old: other resources advance it, then history is compacted.
    sim.create({ apiVersion: "v1", kind: "ConfigMap", metadata: { name: "advance", namespace: "default" } });
    sim.faults.compact();
    sim.create(widget("new-after-compact", "default"));
    sim.faults.dropWatches({ resource: "widgets" });
    await eventually(() => handler.relistDones >= 2, "relist");
    sim.faults.clearSlowLists();
    await eventually(converged(handler), "convergence after 410");
    expect(handler.relistStarts).toBe(2);
    expect(handler.pages.length).toBeGreaterThan(20);
    expect(observer.get("restart:gone")).toBeGreaterThanOrEqual(1);
    expect(handler.violations).toEqual([]);
  });

  it("relists on a watch answered with 410", async () => {
    seed(300);
    const handler = new RecordingHandler();
    const observer = new CountingObserver();
    const reflector = start(handler, observer);
    await reflector.synced;
    await eventually(() => sim.openWatches >= 1, "watch open");
    for (const key of handler.state.keys()) handler.mustStay.add(key);
    sim.faults.failNext({ resource: "widgets", verb: "watch", status: 410 });
    sim.faults.dropWatches({ resource: "widgets" });
    await eventually(() => handler.relistDones >= 2, "relist");
    await eventually(converged(handler), "convergence");
    expect(observer.get("restart:gone")).toBe(1);
    expect(api.lists).toBe(6);
    expect(handler.violations).toEqual([]);
  });

  it("starts a list over when its continue token expires midway", async () => {
    seed(300);
    sim.faults.slowLists({ resource: "widgets", delayMs: 100 });
    const handler = new RecordingHandler();
    const observer = new CountingObserver();
    const reflector = start(handler, observer, { pageSize: 50 });
    await eventually(() => handler.pages.length >= 1, "first page");
    sim.faults.compact();
    sim.faults.clearSlowLists();
    await reflector.synced;
    expect(observer.get("list:expired")).toBe(1);
    expect(handler.relistStarts).toBe(2);
    expect(handler.relistDones).toBe(1);
    expect(converged(handler)()).toBe(true);
  });

  it("backs off on 500 and honours Retry-After on 429, then recovers", async () => {
    seed(5);
    sim.faults.failNext({ resource: "widgets", verb: "list", status: 500, count: 3 });
    const handler = new RecordingHandler();
    const observer = new CountingObserver();
    const reflector = start(handler, observer);
    await reflector.synced;
    expect(observer.get("list:error")).toBe(3);
    expect(observer.errors.length).toBe(3);
    // Failed attempts never reached the handler.
    expect(handler.relistStarts).toBe(1);
    expect(reflector.lastError).toBeUndefined();
    expect(converged(handler)()).toBe(true);

    await eventually(() => sim.openWatches >= 1, "watch open");
    sim.faults.failNext({ resource: "widgets", verb: "watch", status: 429, retryAfterSeconds: 1 });
    const dropped = Date.now();
    sim.faults.dropWatches({ resource: "widgets" });
    await eventually(() => observer.get("restart:throttled") === 1, "throttled restart");
    expect(reflector.lastError?.error.statusCode).toBe(429);
    expect(reflector.lastError?.error.retryAfterSeconds).toBe(1);
    sim.create(widget("after-429", "default"));
    await eventually(() => handler.state.has("default/after-429"), "recovery after 429");
    expect(Date.now() - dropped).toBeGreaterThanOrEqual(950);
    expect(handler.relistStarts).toBe(1);
  });

  it("starts its backoff over once a watch has stayed open, so a quiet resource recovers promptly", async () => {
    seed(3);
    const handler = new RecordingHandler();
    const observer = new CountingObserver();
    const retryIn = (line: string | undefined): number => Number(/retry in (\d+) ms/.exec(line ?? "")?.[1]);
    const reflector = start(handler, observer, { backoff: { initialMs: 100, maxMs: 60_000 } });
    await reflector.synced;
    // A run of failed watches builds the backoff up: the dropped stream, then three 500s
    // (100, 200, 400, 800 ms bases; each delay is at least half its base).
    await eventually(() => sim.openWatches >= 1, "watch open");
    sim.faults.failNext({ resource: "widgets", verb: "watch", status: 500, count: 3 });
    sim.faults.dropWatches({ resource: "widgets" });
    await eventually(
      () => observer.errors.length === 4 && sim.openWatches >= 1,
      "watch back after three 500s",
    );
    expect(retryIn(observer.errors[3])).toBeGreaterThanOrEqual(400);
    // The watch then stays open, quiet (no events, no bookmarks), for longer than a failure in
    // disguise would, and is dropped: that run of failures is over, the retry comes at once.
    await delay(1_200);
    sim.faults.dropWatches({ resource: "widgets" });
    await eventually(() => observer.errors.length === 5, "the next failure");
    expect(retryIn(observer.errors[4])).toBeLessThanOrEqual(100);
    sim.create(widget("after-quiet-drop", "default"));
    await eventually(converged(handler), "convergence");
  });

  it("abandons a hung stream through the inactivity watchdog", async () => {
    seed(5);
    const handler = new RecordingHandler();
    const observer = new CountingObserver();
    const reflector = start(handler, observer, { watchdogSeconds: 1 });
    await reflector.synced;
    await eventually(() => sim.openWatches >= 1, "watch open");
    expect(sim.faults.hangWatches({ resource: "widgets" })).toBe(1);
    sim.create(widget("while-hung", "default"));
    await eventually(() => observer.get("restart:watchdog") >= 1, "watchdog");
    await eventually(converged(handler), "convergence after watchdog");
    expect(handler.relistStarts).toBe(1);
  });

  it("abandons a watch that hangs from the start", async () => {
    seed(5);
    sim.faults.hangNextWatches({ resource: "widgets", count: 1 });
    const handler = new RecordingHandler();
    const observer = new CountingObserver();
    start(handler, observer, { watchdogSeconds: 1 });
    await eventually(() => observer.get("restart:watchdog") === 1, "watchdog");
    sim.create(widget("after-hang", "default"));
    await eventually(converged(handler), "convergence");
  });

  it("relists and converges after an API server restart that resets resourceVersions", async () => {
    seed(50);
    const handler = new RecordingHandler();
    const observer = new CountingObserver();
    const reflector = start(handler, observer);
    await reflector.synced;
    for (const key of handler.state.keys()) handler.mustStay.add(key);
    await eventually(() => sim.openWatches >= 1, "watch open");
    sim.faults.restart({ resourceVersionBase: 10 });
    sim.create(widget("after-restart", "default"));
    sim.patch({ apiVersion: WIDGET_API, kind: "Widget", name: "w-00007", namespace: "default" }, "merge", {
      spec: { size: 7000 },
    });
    await eventually(converged(handler), "convergence after restart");
    expect(handler.relistStarts).toBe(2);
    expect(handler.violations).toEqual([]);
  });

  it("keeps one list and watch per namespace when restricted to namespaces", async () => {
    seed(3, "default");
    seed(4, "team-a");
    seed(5, "team-b");
    const handler = new RecordingHandler();
    const observer = new CountingObserver();
    const reflector = start(handler, observer, { namespaces: ["team-a", "team-b"] });
    await reflector.synced;
    expect(handler.state.size).toBe(9);
    expect(observer.get("list:success")).toBe(2);
    expect(converged(handler, ["team-a", "team-b"])()).toBe(true);
    await eventually(() => sim.openWatches >= 2, "two watches");
    // One macrotask between writes: the embedded server's watch pump can strand an event that
    // follows, in the same tick, one its namespace filter dropped (reported to the sim's owner).
    sim.create(widget("new", "team-b"));
    await delay(10);
    sim.create(widget("ignored", "default"));
    await delay(10);
    sim.delete({ apiVersion: WIDGET_API, kind: "Widget", name: "w-00000", namespace: "team-a" });
    await eventually(converged(handler, ["team-a", "team-b"]), "namespaced convergence");
    // A 410 in one namespace relists all of them: the handler's swap covers the whole state.
    for (const key of handler.state.keys()) handler.mustStay.add(key);
    sim.faults.failNext({ resource: "widgets", verb: "watch", status: 410 });
    sim.faults.dropWatches({ resource: "widgets" });
    await eventually(() => handler.relistDones === 2, "relist");
    await eventually(converged(handler, ["team-a", "team-b"]), "convergence after relist");
    expect(handler.violations).toEqual([]);
  });

  it("stops promptly and calls the handler no more", async () => {
    seed(5);
    const handler = new RecordingHandler();
    const observer = new CountingObserver();
    const reflector = start(handler, observer);
    await reflector.synced;
    await eventually(() => sim.openWatches >= 1, "watch open");
    await reflector.stop();
    const calls = handler.upserts;
    sim.create(widget("after-stop", "default"));
    await delay(200);
    expect(handler.upserts).toBe(calls);
    await eventually(() => sim.openWatches === 0, "watch closed on the server");
  });
});
