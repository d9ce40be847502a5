import { afterEach, describe, expect, it } from "@jest/globals";
import { KindPolicy } from "../src/controller/kinds.js";
import type { JsonObject, KubeObject } from "../src/sim/index.js";
import {
  eventually,
  MC_API,
  MC_KIND,
  readyz,
  sample,
  scrape,
  startLive,
  MC_CRD,
  telemetry,
  type Live,
} from "./support/live.js";

/**
 * What the exporter refuses, live: target kinds (Secrets by default, --deny-kinds,
 * --allow-kinds) and series beyond --max-series-per-configuration / --max-series, each reported
 * in the configuration's status and in self-metrics. Logs never carry object contents.
 */

/** A value that must never reach a log line (or /metrics, when it is a Secret's). */
const MARKER = "s3cr3t-Marker-7f1d";

let live: Live | undefined;

afterEach(async () => {
  await live?.close();
  live = undefined;
});

function config(name: string, apiVersion: string, kind: string, metrics: JsonObject[]): KubeObject {
  return {
    apiVersion: MC_API,
    kind: MC_KIND,
    metadata: { name },
    spec: { targetRef: { apiVersion, kind }, metrics },
  };
}

const INFO = {
  name: "info",
  help: "One per object.",
  type: "gauge",
  labels: [{ key: "owner", valuePath: ".data.owner" }],
  metricValue: { value: 1 },
};

function configMap(name: string, namespace = "a", data: Record<string, string> = {}): KubeObject {
  return {
    apiVersion: "v1",
    kind: "ConfigMap",
    metadata: { name, namespace },
    data: { owner: "team", ...data },
  };
}

function secret(name: string): KubeObject {
  return {
    apiVersion: "v1",
    kind: "Secret",
    metadata: { name, namespace: "a" },
    type: "Opaque",
    stringData: { password: MARKER },
    data: { password: Buffer.from(MARKER).toString("base64") },
  };
}

function status(
  l: Live,
  name: string,
): {
  conditions?: { type: string; status: string; reason: string; message: string }[];
} {
  return (l.sim.get({ apiVersion: MC_API, kind: MC_KIND, name })?.status ?? {}) as ReturnType<typeof status>;
}

function condition(l: Live, name: string, type: string): string | undefined {
  const c = status(l, name).conditions?.find((x) => x.type === type);
  return c ? `${c.status}/${c.reason}` : undefined;
}

/** `configmap="…"` label values of a family, in served order. */
function served(text: string, family: string): string[] {
  return text
    .split("\n")
    .filter((l) => l.startsWith(`${family}{`))
    .map((l) => /configmap="([^"]*)"/.exec(l)?.[1] ?? "?");
}

describe("target kinds", () => {
  it("refuses Secrets by default and --deny-kinds kinds: TargetDenied, no watch, nothing served or logged", async () => {
    const l = (live = await startLive({
      sim: {
        seedPaths: [MC_CRD],
        objects: [
          secret("db"),
          configMap("cm-0"),
          { apiVersion: "v1", kind: "Pod", metadata: { name: "p", namespace: "a" }, spec: {} },
          config("secrets", "v1", "Secret", [
            { ...INFO, labels: [{ key: "password", valuePath: ".data.password" }] },
          ]),
          config("pods", "v1", "Pod", [INFO]),
          config("configmaps", "v1", "ConfigMap", [INFO]),
        ],
      },
      exporter: { kinds: new KindPolicy({ deny: ["core/Pod"] }) },
    }));
    await l.exporter.whenReady();
    await eventually(
      () =>
        condition(l, "secrets", "Invalid") === "True/TargetDenied" &&
        condition(l, "pods", "Invalid") === "True/TargetDenied" &&
        condition(l, "configmaps", "Ready") === "True/Serving",
      10_000,
      "TargetDenied conditions",
      () => JSON.stringify([status(l, "secrets"), status(l, "pods")]),
    );
    expect(condition(l, "secrets", "Ready")).toBe("False/TargetDenied");
    const message = status(l, "secrets").conditions?.find((c) => c.type === "Invalid")?.message ?? "";
    expect(message).toMatch(/core\/Secret is denied by default/);
    expect(status(l, "pods").conditions?.find((c) => c.type === "Invalid")?.message).toMatch(/--deny-kinds/);

    const metrics = await scrape(l.metricsUrl);
    expect(metrics).toContain('core_configmap_info{namespace="a",configmap="cm-0",owner="team"} 1');
    expect(metrics).not.toContain("core_secret");
    expect(metrics).not.toContain("core_pod");
    const tel = await telemetry(l);
    // No reflector: the secrets and pods resources were never listed.
    expect(sample(tel, "crd_state_metrics_list_total", { resource: "core/v1/secrets" })).toBeUndefined();
    expect(sample(tel, "crd_state_metrics_list_total", { resource: "core/v1/pods" })).toBeUndefined();
    expect(sample(tel, "crd_state_metrics_configurations", { state: "invalid" })).toBe(2);
    expect(l.logs.matching(/^target refused: core\/Secret is denied by default/).length).toBe(1);

    // A configuration that fails on the object's data reports where, never what.
    l.sim.create(
      config("counts", "v1", "ConfigMap", [
        {
          name: "count",
          help: "Not a number.",
          type: "gauge",
          field: { path: ".data.count", type: "Integer" },
          metricValue: { valueFromPath: ".data.count" },
        },
        {
          name: "minus",
          help: "Arithmetic on text.",
          type: "gauge",
          params: [{ key: "count", valuePath: ".data.count" }],
          metricValue: { valueFromExpression: "count - 1" },
        },
      ]),
    );
    l.sim.create(configMap("cm-1", "a", { count: MARKER }));
    await eventually(
      () => l.logs.matching(/^evaluation error/).length > 1,
      10_000,
      "an evaluation error log line",
    );
    await scrape(l.metricsUrl);
    for (const line of l.logs.lines) expect(JSON.stringify(line)).not.toContain(MARKER);
    // The full message (which may quote up to 40 characters of a value) is in status only.
    expect(JSON.stringify(status(l, "counts"))).toContain("got string");
  });

  it("--allow-kinds narrows targets; naming Secret there is the way to serve Secrets", async () => {
    const l = (live = await startLive({
      sim: {
        seedPaths: [MC_CRD],
        objects: [
          secret("db"),
          configMap("cm-0"),
          config("secrets", "v1", "Secret", [{ ...INFO, labels: [] }]),
          config("configmaps", "v1", "ConfigMap", [INFO]),
        ],
      },
      exporter: { kinds: new KindPolicy({ allow: ["Secret"] }) },
    }));
    await l.exporter.whenReady();
    await eventually(
      () =>
        condition(l, "configmaps", "Invalid") === "True/TargetDenied" &&
        condition(l, "secrets", "Ready") === "True/Serving",
      10_000,
      "conditions",
    );
    expect(status(l, "configmaps").conditions?.find((c) => c.type === "Invalid")?.message).toMatch(
      /not in --allow-kinds/,
    );
    const metrics = await scrape(l.metricsUrl);
    expect(metrics).toContain('core_secret_info{namespace="a",secret="db"} 1');
    expect(metrics).not.toContain("core_configmap");
  });
});

describe("series limits", () => {
  it("withholds objects beyond --max-series-per-configuration in (namespace, name) order, and re-admits when room frees", async () => {
    const objects = ["cm-3", "cm-0", "cm-6", "cm-1", "cm-7", "cm-2", "cm-5", "cm-4"].map((n) => configMap(n));
    const l = (live = await startLive({
      sim: { seedPaths: [MC_CRD], objects: [...objects, config("configmaps", "v1", "ConfigMap", [INFO])] },
      exporter: { limits: { perConfiguration: 5, reevaluateMs: 200 } },
    }));
    await l.exporter.whenReady();
    await eventually(
      () => condition(l, "configmaps", "CardinalityLimited") === "True/SeriesLimit",
      10_000,
      "CardinalityLimited=True",
    );
    expect(served(await scrape(l.metricsUrl), "core_configmap_info")).toEqual([
      "cm-0",
      "cm-1",
      "cm-2",
      "cm-3",
      "cm-4",
    ]);
    expect(status(l, "configmaps").conditions?.find((c) => c.type === "CardinalityLimited")?.message).toBe(
      "3 series of 3 object(s) withheld beyond --max-series-per-configuration=5",
    );
    let tel = await telemetry(l);
    expect(sample(tel, "crd_state_metrics_cardinality_limited", { configuration: "configmaps" })).toBe(1);
    expect(sample(tel, "crd_state_metrics_series_dropped", { configuration: "configmaps" })).toBe(3);
    expect(sample(tel, "crd_state_metrics_series", { configuration: "configmaps" })).toBe(5);

    // A new object while at the limit is withheld; a delete makes room and the relist that
    // follows admits the withheld objects in order again.
    l.sim.create(configMap("cm-8"));
    l.sim.delete({ apiVersion: "v1", kind: "ConfigMap", namespace: "a", name: "cm-1" });
    await eventually(
      async () =>
        served(await scrape(l.metricsUrl), "core_configmap_info").join(",") === "cm-0,cm-2,cm-3,cm-4,cm-5",
      10_000,
      "cm-5 admitted after cm-1 went",
      async () => served(await scrape(l.metricsUrl), "core_configmap_info").join(","),
    );
    for (const n of ["cm-0", "cm-2", "cm-3", "cm-4"]) {
      l.sim.delete({ apiVersion: "v1", kind: "ConfigMap", namespace: "a", name: n });
    }
    await eventually(
      async () =>
        served(await scrape(l.metricsUrl), "core_configmap_info").join(",") === "cm-5,cm-6,cm-7,cm-8",
      10_000,
      "every object served once under the limit",
      async () => served(await scrape(l.metricsUrl), "core_configmap_info").join(","),
    );
    await eventually(
      () => condition(l, "configmaps", "CardinalityLimited") === "False/WithinLimits",
      10_000,
      "CardinalityLimited=False",
    );
    tel = await telemetry(l);
    expect(sample(tel, "crd_state_metrics_cardinality_limited", { configuration: "configmaps" })).toBe(0);
    expect(l.logs.matching(/^series limits: relisting/).length).toBeGreaterThan(0);
    expect(await readyz(l.metricsUrl)).toBe(200);
  });

  it("--max-series caps the whole exporter", async () => {
    const objects = ["cm-0", "cm-1", "cm-2", "cm-3"].map((n) => configMap(n));
    const second = { ...INFO, name: "second", help: "Another." };
    const l = (live = await startLive({
      sim: {
        seedPaths: [MC_CRD],
        objects: [
          ...objects,
          config("first", "v1", "ConfigMap", [INFO]),
          config("zsecond", "v1", "ConfigMap", [second]),
        ],
      },
      exporter: { limits: { global: 6 } },
    }));
    await l.exporter.whenReady();
    const text = await scrape(l.metricsUrl);
    const total = text.split("\n").filter((x) => x.startsWith("core_configmap_")).length;
    expect(total).toBeLessThanOrEqual(6);
    expect(total).toBeGreaterThanOrEqual(4);
    await eventually(
      () =>
        condition(l, "first", "CardinalityLimited") === "True/GlobalSeriesLimit" ||
        condition(l, "zsecond", "CardinalityLimited") === "True/GlobalSeriesLimit",
      10_000,
      "a GlobalSeriesLimit condition",
    );
  });
});
