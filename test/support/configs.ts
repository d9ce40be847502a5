import { compileConfiguration } from "../../src/config/compile.js";
import type { CompiledConfiguration } from "../../src/config/compiled.js";

/** A MetricsConfiguration document around the given metrics (and optional common labels). */
export function configDoc(
  metrics: unknown[],
  extra: { name?: string; apiVersion?: string; kind?: string; commonLabels?: unknown[] } = {},
): Record<string, unknown> {
  return {
    apiVersion: "metrics.appscode.com/v1alpha1",
    kind: "MetricsConfiguration",
    metadata: { name: extra.name ?? "test" },
    spec: {
      targetRef: { apiVersion: extra.apiVersion ?? "example.com/v1", kind: extra.kind ?? "Widget" },
      ...(extra.commonLabels ? { commonLabels: extra.commonLabels } : {}),
      metrics,
    },
  };
}

export function compile(
  metrics: unknown[],
  extra: Parameters<typeof configDoc>[1] = {},
): CompiledConfiguration {
  return compileConfiguration(configDoc(metrics, extra), { file: "test.yaml" });
}

export function widget(
  name: string,
  body: Record<string, unknown> = {},
  namespace = "ns",
): Record<string, unknown> {
  return {
    apiVersion: "example.com/v1",
    kind: "Widget",
    metadata: { name, ...(namespace === "" ? {} : { namespace }) },
    ...body,
  };
}
