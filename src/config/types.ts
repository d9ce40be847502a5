/**
 * MetricsConfiguration as written by users (SPEC §1). Everything arrives as untrusted YAML/JSON,
 * so these types describe the *validated* shape; validate.ts narrows unknown input into them.
 */

export const GROUP = "metrics.appscode.com";
export const VERSION = "v1alpha1";
export const API_VERSION = `${GROUP}/${VERSION}`;
export const KIND = "MetricsConfiguration";

export const FIELD_TYPES = ["Integer", "DateTime", "Array", "String"] as const;
export type FieldType = (typeof FIELD_TYPES)[number];

export interface LabelSpec {
  key: string;
  value?: string;
  valuePath?: string;
}

export type ParamSpec = LabelSpec;

export interface MetricValueSpec {
  value?: number;
  valueFromPath?: string;
  valueFromExpression?: string;
}

export interface MetricSpec {
  name: string;
  help: string;
  type: "gauge";
  field?: { path: string; type: FieldType };
  labels?: LabelSpec[];
  params?: ParamSpec[];
  states?: { labelKey: string; values: { labelValue: string; metricValue: MetricValueSpec }[] };
  metricValue?: MetricValueSpec;
}

export interface MetricsConfigurationSpec {
  targetRef: { apiVersion: string; kind: string };
  commonLabels?: LabelSpec[];
  metrics: MetricSpec[];
}

/** Where a configuration came from: a file on disk or an object in the cluster. */
export interface ConfigSource {
  /** File path (offline, or `--config`); absent for cluster objects. */
  file?: string;
  /** 0-based index of the YAML document (or List item) inside the file. */
  document?: number;
  uid?: string;
  resourceVersion?: string;
  generation?: number;
  /** RFC 3339; decides which configuration loses a family conflict (SPEC §3.7). */
  creationTimestamp?: string;
}

/** One problem found in a configuration, located precisely enough to fix it without guessing. */
export interface Diagnostic {
  severity: "error" | "warning";
  file?: string;
  configuration: string;
  /** Metric name (as written) when the problem belongs to one metric. */
  metric?: string;
  /** Field path inside the object, e.g. `spec.metrics[2].field.path`. */
  field: string;
  message: string;
}

export function formatDiagnostic(d: Diagnostic): string {
  const where = [
    d.file ?? "<cluster>",
    `configuration "${d.configuration}"`,
    ...(d.metric === undefined ? [] : [`metric "${d.metric}"`]),
    d.field,
  ].join(": ");
  return `${d.severity}: ${where}: ${d.message}`;
}
