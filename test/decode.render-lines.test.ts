import { describe, expect, it } from "@jest/globals";
import { join } from "node:path";
import { compileConfiguration } from "../src/config/compile.js";
import type { CompiledConfiguration } from "../src/config/compiled.js";
import { loadConfigurations } from "../src/config/load.js";
import { PlanRenderer, planSignature, unpackBatch } from "../src/decode/render-lines.js";
import type { PlanSpec, RenderedObject } from "../src/decode/protocol.js";
import { renderObject, type EvaluationErrorReason } from "../src/engine/evaluate.js";
import { buildPlan, type TargetPlan } from "../src/engine/plan.js";
import type { KubeObject, WatchEvent } from "../src/kube/types.js";
import { owns } from "../src/shard/shard.js";
import { generateKubeStashEstate } from "../src/sim/synthetic.js";
import { ROOT } from "./support/live.js";

/**
 * What a decode worker computes must be what TargetRunner computes inline: the same events, the
 * same identities and versions, and fragments whose bytes are the inline fragments' UTF-8.
 */

const BS_API = "core.kubestash.com/v1alpha1";
const BS_KIND = "BackupSession";

function specFor(
  configurations: readonly CompiledConfiguration[],
  plan: TargetPlan,
  extra: Partial<PlanSpec> = {},
): PlanSpec {
  return {
    configurations: configurations.map((c) => ({ document: c.document, source: c.source })),
    target: plan.key,
    signature: planSignature(plan),
    ...extra,
  };
}

function lines(events: readonly { type: string; object: unknown }[]): Buffer {
  return Buffer.from(events.map((e) => JSON.stringify(e) + "\n").join(""));
}

function utf8AsLatin1(s: string | undefined): string | undefined {
  return s === undefined ? undefined : Buffer.from(s, "utf8").toString("latin1");
}

async function kubestash(): Promise<{
  configs: CompiledConfiguration[];
  plan: TargetPlan;
  sessions: KubeObject[];
}> {
  const { configurations } = await loadConfigurations([join(ROOT, "metricsconfigurations", "kubestash")]);
  const plan = buildPlan(configurations).targets.get(`${BS_API}/${BS_KIND}`);
  if (!plan) throw new Error("no BackupSession plan");
  const sessions: KubeObject[] = [];
  for (const o of generateKubeStashEstate(2000))
    if (o.kind === BS_KIND) sessions.push(o as unknown as KubeObject);
  return { configs: configurations, plan, sessions };
}

function build(spec: PlanSpec): PlanRenderer {
  const r = PlanRenderer.build(spec);
  if (typeof r === "string") throw new Error(r);
  return r;
}

describe("decode worker rendering (in one thread)", () => {
  it("gives every event, identity, version and fragment the inline path gives", async () => {
    const { configs, plan, sessions } = await kubestash();
    expect(sessions.length).toBeGreaterThan(100);
    const picked = sessions.slice(0, 150);
    const input = [
      ...picked.map((o, i) => ({ type: i % 2 === 0 ? "ADDED" : "MODIFIED", object: o })),
      {
        type: "BOOKMARK",
        object: { kind: BS_KIND, apiVersion: BS_API, metadata: { resourceVersion: "777" } },
      },
      { type: "DELETED", object: picked[3] },
    ];
    const renderer = build(specFor(configs, plan));
    const packed = renderer.decode(lines(input), BS_API, BS_KIND);
    expect(packed.error).toBeUndefined();
    const { events, error } = unpackBatch(packed, BS_API, BS_KIND);
    expect(error).toBeUndefined();
    expect(events.map((e) => e.type)).toEqual(input.map((e) => e.type));
    events.slice(0, picked.length).forEach((event, i) => {
      const obj = picked[i]!;
      expect(event.object.metadata).toEqual({
        name: obj.metadata.name,
        namespace: obj.metadata.namespace,
        uid: obj.metadata.uid,
        ...(obj.metadata.resourceVersion === undefined
          ? {}
          : { resourceVersion: obj.metadata.resourceVersion }),
      });
      const counts: number[] = [];
      const inline = renderObject(plan, structuredClone(obj), {}, counts);
      const decoded = event.decoded as RenderedObject;
      expect(decoded.owned).toBe(true);
      expect(decoded.fragments).toEqual(inline.map(utf8AsLatin1));
      expect(decoded.counts).toEqual(counts);
    });
    // Most sessions have series in several families: the comparison above is not vacuous.
    const rendered = events
      .slice(0, picked.length)
      .flatMap((e) => (e.decoded as RenderedObject).fragments ?? []);
    expect(rendered.filter((f) => f !== undefined).length).toBeGreaterThan(picked.length * 3);
    expect(events[picked.length]!.object.metadata.resourceVersion).toBe("777");
    const deleted = events[picked.length + 1]!;
    expect(deleted.decoded).toBeUndefined();
    expect(deleted.object.metadata.name).toBe(picked[3]!.metadata.name);
  });

  it("sends non-ASCII label values as UTF-8 bytes", () => {
    const doc = {
      apiVersion: "metrics.appscode.com/v1alpha1",
      kind: "MetricsConfiguration",
      metadata: { name: "widgets" },
      spec: {
        targetRef: { apiVersion: "example.com/v1", kind: "Widget" },
        metrics: [
          {
            name: "info",
            help: "Widget info",
            type: "gauge",
            labels: [{ key: "title", valuePath: ".spec.title" }],
            metricValue: { value: 1 },
          },
        ],
      },
    };
    const configs = [compileConfiguration(doc, {})];
    expect(configs[0]!.diagnostics).toEqual([]);
    const plan = buildPlan(configs).targets.get("example.com/v1/Widget")!;
    const widget = {
      apiVersion: "example.com/v1",
      kind: "Widget",
      metadata: { name: "w", namespace: "ns" },
      spec: { title: "Grüße 😀" },
    };
    const { events } = unpackBatch(
      build(specFor(configs, plan)).decode(
        lines([{ type: "ADDED", object: widget }]),
        "example.com/v1",
        "Widget",
      ),
      "example.com/v1",
      "Widget",
    );
    const fragment = (events[0]!.decoded as RenderedObject).fragments![0]!;
    expect(Buffer.from(fragment, "latin1").toString("utf8")).toContain('title="Grüße 😀"');
    expect(fragment).toBe(utf8AsLatin1(renderObject(plan, widget)[0]));
  });

  it("stops at a bad line with the events before it, as the inline client does", async () => {
    const { configs, plan, sessions } = await kubestash();
    const good = lines([
      { type: "MODIFIED", object: sessions[0] },
      { type: "MODIFIED", object: sessions[1] },
    ]);
    const bytes = Buffer.concat([
      good,
      Buffer.from("\n{not json\n"),
      lines([{ type: "MODIFIED", object: sessions[2] }]),
    ]);
    const packed = build(specFor(configs, plan)).decode(bytes, BS_API, BS_KIND);
    const { events, error } = unpackBatch(packed, BS_API, BS_KIND);
    expect(events.map((e) => e.object.metadata.name)).toEqual([
      sessions[0]!.metadata.name,
      sessions[1]!.metadata.name,
    ]);
    expect(error).toBe("watch stream carried invalid JSON");
    const noObject = build(specFor(configs, plan)).decode(
      Buffer.from('{"type":"ADDED","object":{}}\n'),
      BS_API,
      BS_KIND,
    );
    expect(noObject.error).toBe("watch ADDED event without an object");
    const notEvent = build(specFor(configs, plan)).decode(Buffer.from("[1,2]\n"), BS_API, BS_KIND);
    expect(notEvent.error).toBe("watch stream carried a line that is not a watch event");
  });

  it("passes ERROR events on with their Status", async () => {
    const { configs, plan } = await kubestash();
    const status = {
      kind: "Status",
      apiVersion: "v1",
      status: "Failure",
      code: 410,
      reason: "Expired",
      message: "too old",
    };
    const { events } = unpackBatch(
      build(specFor(configs, plan)).decode(lines([{ type: "ERROR", object: status }]), BS_API, BS_KIND),
      BS_API,
      BS_KIND,
    );
    expect(events).toEqual([{ type: "ERROR", object: status }]);
  });

  it("renders only what its shard owns", async () => {
    const { configs, plan, sessions } = await kubestash();
    const shard = { index: 1, total: 3 };
    const picked = sessions.slice(0, 60);
    const { events } = unpackBatch(
      build(specFor(configs, plan, { shard })).decode(
        lines(picked.map((o) => ({ type: "MODIFIED", object: o }))),
        BS_API,
        BS_KIND,
      ),
      BS_API,
      BS_KIND,
    );
    const owned = events.map((e) => (e.decoded as RenderedObject).owned);
    expect(owned).toEqual(picked.map((o) => owns(shard, o)));
    expect(owned.filter(Boolean).length).toBeGreaterThan(0);
    expect(owned.filter((o) => !o).length).toBeGreaterThan(0);
    for (const e of events)
      if (!(e.decoded as RenderedObject).owned)
        expect((e.decoded as RenderedObject).fragments).toBeUndefined();
  });

  it("attributes evaluation errors and duplicates to their event and metric", () => {
    const doc = {
      apiVersion: "metrics.appscode.com/v1alpha1",
      kind: "MetricsConfiguration",
      metadata: { name: "widgets" },
      spec: {
        targetRef: { apiVersion: "example.com/v1", kind: "Widget" },
        metrics: [
          { name: "ok", help: "ok", type: "gauge", metricValue: { value: 1 } },
          {
            name: "size",
            help: "size",
            type: "gauge",
            field: { path: ".spec.size", type: "Integer" },
            metricValue: { valueFromPath: ".spec.size" },
          },
          {
            name: "port",
            help: "ports",
            type: "gauge",
            field: { path: ".spec.ports", type: "Array" },
            labels: [{ key: "kind", value: "same" }],
            metricValue: { value: 1 },
          },
        ],
      },
    };
    const configs = [compileConfiguration(doc, {})];
    expect(configs[0]!.diagnostics.filter((d) => d.severity === "error")).toEqual([]);
    const plan = buildPlan(configs).targets.get("example.com/v1/Widget")!;
    const fine = {
      apiVersion: "example.com/v1",
      kind: "Widget",
      metadata: { name: "a", namespace: "ns" },
      spec: { size: 3 },
    };
    const bad = {
      apiVersion: "example.com/v1",
      kind: "Widget",
      metadata: { name: "b", namespace: "ns" },
      spec: { size: "lots", ports: [1, 2] },
    };
    const inlineErrors: [string, EvaluationErrorReason][] = [];
    const inlineDuplicates: string[] = [];
    for (const o of [fine, bad]) {
      renderObject(plan, structuredClone(o), {
        onError: (metric, reason) => inlineErrors.push([`${o.metadata.name}/${metric.name}`, reason]),
        onDuplicate: (family) => inlineDuplicates.push(`${o.metadata.name}/${family}`),
      });
    }
    // The configuration really does produce both kinds of trouble for "b" only.
    expect(inlineErrors.length).toBeGreaterThan(0);
    expect(inlineDuplicates.length).toBeGreaterThan(0);
    const { events } = unpackBatch(
      build(specFor(configs, plan)).decode(
        lines([
          { type: "ADDED", object: fine },
          { type: "ADDED", object: bad },
        ]),
        "example.com/v1",
        "Widget",
      ),
      "example.com/v1",
      "Widget",
    );
    const replayedErrors: [string, EvaluationErrorReason][] = [];
    const replayedDuplicates: string[] = [];
    for (const e of events as WatchEvent[]) {
      const d = e.decoded as RenderedObject;
      for (const [i, reason] of d.errors ?? [])
        replayedErrors.push([`${e.object.metadata.name}/${plan.metrics[i]!.metric.name}`, reason]);
      for (const family of d.duplicates ?? []) replayedDuplicates.push(`${e.object.metadata.name}/${family}`);
    }
    expect(replayedErrors).toEqual(inlineErrors);
    expect(replayedDuplicates).toEqual(inlineDuplicates);
  });

  it("refuses to render when its compilation of the plan differs", async () => {
    const { configs, plan } = await kubestash();
    expect(PlanRenderer.build(specFor(configs, plan, { signature: "other" }))).toMatch(
      /compiles differently/,
    );
    expect(PlanRenderer.build(specFor(configs, plan, { target: "example.com/v1/Nothing" }))).toMatch(
      /no plan/,
    );
  });
});
