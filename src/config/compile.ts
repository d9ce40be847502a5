import { compileExpression, ExpressionError } from "../expression/index.js";
import { compilePath, JsonPathError, parseValidated, relativeToArray } from "../jsonpath/index.js";
import type {
  BoundPath,
  CompiledConfiguration,
  CompiledLabel,
  CompiledMetric,
  CompiledState,
  CompiledValue,
  TargetRef,
} from "./compiled.js";
import { familyName, isValidMetricName, labelNameProblem, parseApiVersion } from "./naming.js";
import {
  API_VERSION,
  FIELD_TYPES,
  KIND,
  type ConfigSource,
  type Diagnostic,
  type FieldType,
} from "./types.js";

/**
 * Validation and compilation in one pass (SPEC §1–2): validating a path or an expression means
 * parsing it, and the parse is exactly what evaluation needs, so nothing is parsed twice.
 * Never throws: every problem becomes a Diagnostic; an invalid metric is dropped, the rest stay.
 */

type Obj = Record<string, unknown>;

const KNOWN_FIELDS = {
  root: ["apiVersion", "kind", "metadata", "spec", "status"],
  spec: ["targetRef", "commonLabels", "metrics"],
  targetRef: ["apiVersion", "kind"],
  label: ["key", "value", "valuePath"],
  metric: ["name", "help", "type", "field", "labels", "params", "states", "metricValue"],
  field: ["path", "type"],
  states: ["labelKey", "values"],
  state: ["labelValue", "metricValue"],
  metricValue: ["value", "valueFromPath", "valueFromExpression"],
} as const;

function isObj(v: unknown): v is Obj {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function describe(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "a list";
  return typeof v === "object" ? "an object" : `${typeof v} ${JSON.stringify(v)}`;
}

class Reporter {
  readonly diagnostics: Diagnostic[] = [];
  constructor(
    private readonly file: string | undefined,
    readonly configuration: string,
  ) {}
  add(severity: Diagnostic["severity"], field: string, message: string, metric?: string): void {
    this.diagnostics.push({
      severity,
      ...(this.file === undefined ? {} : { file: this.file }),
      configuration: this.configuration,
      ...(metric === undefined ? {} : { metric }),
      field,
      message,
    });
  }
  unknownFields(obj: Obj, known: readonly string[], at: string, metric?: string): void {
    for (const key of Object.keys(obj)) {
      if (!known.includes(key)) {
        this.add("warning", childField(at, key), `unknown field ${JSON.stringify(key)} is ignored`, metric);
      }
    }
  }
}

/** `at.key`, or `at["key"]` when the key is not a plain name (empty, dots, control characters…). */
function childField(at: string, key: string): string {
  if (/^[A-Za-z_$][\w$-]*$/.test(key)) return at ? `${at}.${key}` : key;
  return `${at}[${JSON.stringify(key)}]`;
}

/** Per-metric compilation state: errors make the metric invalid, warnings do not. */
class MetricScope {
  errors = 0;
  constructor(
    readonly r: Reporter,
    readonly metric: string | undefined,
  ) {}
  error(field: string, message: string): void {
    this.errors++;
    this.r.add("error", field, message, this.metric);
  }
  warn(field: string, message: string): void {
    this.r.add("warning", field, message, this.metric);
  }
}

function optionalString(s: MetricScope, obj: Obj, key: string, at: string): string | undefined {
  const v = obj[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v === "string") return v;
  s.error(`${at}.${key}`, `must be a string, got ${describe(v)}`);
  return undefined;
}

function requiredString(s: MetricScope, obj: Obj, key: string, at: string): string | undefined {
  const v = optionalString(s, obj, key, at);
  if (v === undefined && (obj[key] === undefined || obj[key] === null)) {
    s.error(`${at}.${key}`, "is required");
  }
  return v;
}

function optionalList(s: MetricScope, obj: Obj, key: string, at: string): unknown[] {
  const v = obj[key];
  if (v === undefined || v === null) return [];
  if (Array.isArray(v)) return v;
  s.error(`${at}.${key}`, `must be a list, got ${describe(v)}`);
  return [];
}

function bindPath(
  s: MetricScope,
  source: string,
  at: string,
  arrayPath: string | undefined,
): BoundPath | undefined {
  try {
    if (arrayPath !== undefined) {
      const relative = relativeToArray(arrayPath, source);
      if (relative !== undefined) return { source, path: compilePath(relative), rowRelative: true };
    }
    return { source, path: compilePath(source), rowRelative: false };
  } catch (err) {
    if (err instanceof JsonPathError) {
      s.error(at, `invalid JSONPath ${JSON.stringify(source)}: ${err.message}`);
      return undefined;
    }
    throw err;
  }
}

/**
 * Fields whose values change with every update or take unboundedly many values: as a label, each
 * new value starts a new series (and the old one lingers in Prometheus until it goes stale).
 * Matched on the last field name of the path, case-sensitively, as Kubernetes spells them.
 */
const UNBOUNDED_FIELDS: readonly { readonly test: RegExp; readonly what: string }[] = [
  { test: /^(uid|resourceVersion|generation|observedGeneration)$/, what: "an identifier or version" },
  { test: /^(creationTimestamp|deletionTimestamp)$|(Time|Timestamp)$/, what: "a timestamp" },
  { test: /^(message|reason|error|lastError)$|Message$/, what: "free text" },
  {
    test: /^(size|totalSize|duration)$|(Size|Duration|Count|Bytes|Seconds)$/,
    what: "a size, duration or count",
  },
];

function lastFieldName(path: string): string | undefined {
  try {
    const steps = parseValidated(path).steps;
    const last = steps[steps.length - 1];
    return last?.kind === "field" || last?.kind === "descendant" ? last.name : undefined;
  } catch {
    return undefined; // reported where the path is compiled
  }
}

function warnUnboundedLabel(s: MetricScope, key: string, valuePath: string, at: string): void {
  const name = lastFieldName(valuePath);
  if (name === undefined) return;
  const hit = UNBOUNDED_FIELDS.find((u) => u.test.test(name));
  if (hit === undefined) return;
  s.warn(
    at,
    `label "${key}" takes its value from an unbounded field (${JSON.stringify(valuePath)} is ${hit.what}); every change creates a new series`,
  );
}

/** Labels and params share one shape: `key` plus `value` (wins) or `valuePath`. */
function compileLabelList(
  s: MetricScope,
  items: unknown[],
  at: string,
  arrayPath: string | undefined,
  what: "label" | "param",
): CompiledLabel[] {
  const out: CompiledLabel[] = [];
  const seen = new Set<string>();
  items.forEach((item, i) => {
    const itemAt = `${at}[${i}]`;
    if (!isObj(item)) {
      s.error(itemAt, `must be an object with "key" and "value" or "valuePath", got ${describe(item)}`);
      return;
    }
    s.r.unknownFields(item, KNOWN_FIELDS.label, itemAt, s.metric);
    const key = requiredString(s, item, "key", itemAt);
    if (key === undefined) return;
    if (what === "label") {
      const problem = labelNameProblem(key);
      if (problem) {
        s.error(`${itemAt}.key`, problem);
        return;
      }
    } else if (!/^[a-zA-Z_][a-zA-Z0-9_]*$/.test(key)) {
      s.error(`${itemAt}.key`, `parameter name "${key}" must be an identifier ([a-zA-Z_][a-zA-Z0-9_]*)`);
      return;
    }
    if (seen.has(key)) s.warn(`${itemAt}.key`, `${what} "${key}" is defined twice; the later one wins`);
    seen.add(key);
    let value = item.value;
    if (typeof value === "number" || typeof value === "boolean") {
      s.warn(`${itemAt}.value`, `should be a string; using "${String(value)}"`);
      value = String(value);
    }
    const valuePath = optionalString(s, item, "valuePath", itemAt);
    if (typeof value === "string") {
      if (valuePath !== undefined) s.warn(`${itemAt}.valuePath`, `ignored because "value" is set`);
      out.push({ key, kind: "const", value });
      return;
    }
    if (value !== undefined && value !== null) {
      s.error(`${itemAt}.value`, `must be a string, got ${describe(value)}`);
      return;
    }
    if (valuePath === undefined) {
      s.error(itemAt, `${what} "${key}" needs "value" or "valuePath"`);
      return;
    }
    const path = bindPath(s, valuePath, `${itemAt}.valuePath`, arrayPath);
    if (path) out.push({ key, kind: "path", path });
    if (path && what === "label") warnUnboundedLabel(s, key, valuePath, `${itemAt}.valuePath`);
  });
  return out;
}

function compileMetricValue(
  s: MetricScope,
  raw: unknown,
  at: string,
  arrayPath: string | undefined,
  params: ReadonlySet<string>,
  usedParams: Set<string>,
): CompiledValue | undefined {
  if (!isObj(raw)) {
    s.error(
      at,
      `must be an object with "value", "valueFromPath" or "valueFromExpression", got ${describe(raw)}`,
    );
    return undefined;
  }
  s.r.unknownFields(raw, KNOWN_FIELDS.metricValue, at, s.metric);
  const set = KNOWN_FIELDS.metricValue.filter((k) => raw[k] !== undefined && raw[k] !== null);
  if (set.length === 0) {
    s.error(at, `needs one of "value", "valueFromPath" or "valueFromExpression"`);
    return undefined;
  }
  if (set.length > 1) {
    s.warn(at, `several of ${set.map((k) => `"${k}"`).join(", ")} are set; only "${set[0]!}" is used`);
  }
  const which = set[0]!;
  const v = raw[which];
  if (which === "value") {
    if (typeof v === "number") return { kind: "const", value: v };
    if (typeof v === "string" && v.trim() !== "" && Number.isFinite(Number(v))) {
      s.warn(`${at}.value`, `should be a number; using ${Number(v)}`);
      return { kind: "const", value: Number(v) };
    }
    s.error(`${at}.value`, `must be a number, got ${describe(v)}`);
    return undefined;
  }
  if (typeof v !== "string") {
    s.error(`${at}.${which}`, `must be a string, got ${describe(v)}`);
    return undefined;
  }
  if (which === "valueFromPath") {
    const path = bindPath(s, v, `${at}.valueFromPath`, arrayPath);
    return path ? { kind: "path", path } : undefined;
  }
  try {
    const expression = compileExpression(v, { knownParams: params });
    for (const p of expression.params) usedParams.add(p);
    return { kind: "expression", expression };
  } catch (err) {
    if (err instanceof ExpressionError) {
      s.error(`${at}.valueFromExpression`, `invalid expression ${JSON.stringify(v)}: ${err.message}`);
      return undefined;
    }
    throw err;
  }
}

function compileTarget(s: MetricScope, spec: Obj): TargetRef | undefined {
  const raw = spec.targetRef;
  if (!isObj(raw)) {
    s.error("spec.targetRef", raw === undefined ? "is required" : `must be an object, got ${describe(raw)}`);
    return undefined;
  }
  s.r.unknownFields(raw, KNOWN_FIELDS.targetRef, "spec.targetRef");
  const apiVersion = requiredString(s, raw, "apiVersion", "spec.targetRef");
  const kind = requiredString(s, raw, "kind", "spec.targetRef");
  if (apiVersion === undefined || kind === undefined) return undefined;
  const gv = parseApiVersion(apiVersion);
  if (!gv) {
    s.error("spec.targetRef.apiVersion", `"${apiVersion}" is not "<group>/<version>" or "v1"`);
    return undefined;
  }
  if (!/^[A-Za-z][A-Za-z0-9]*$/.test(kind)) {
    s.error("spec.targetRef.kind", `"${kind}" is not a Kubernetes kind name`);
    return undefined;
  }
  return { apiVersion, group: gv.group, version: gv.version, kind };
}

/** Layers of labels in precedence order; reports keys that a later layer overrides. */
function reportOverrides(
  s: MetricScope,
  at: string,
  defaults: readonly string[],
  common: readonly CompiledLabel[],
  labels: readonly CompiledLabel[],
  stateKey: string | undefined,
): void {
  const owner = new Map<string, string>();
  for (const d of defaults) owner.set(d, "a default identity label");
  const layer = (keys: readonly string[], name: string, field: string): void => {
    for (const k of keys) {
      const prev = owner.get(k);
      if (prev !== undefined && prev !== name) s.warn(field, `label "${k}" overrides ${prev}`);
      owner.set(k, name);
    }
  };
  layer(
    common.map((l) => l.key),
    "a commonLabels entry",
    "spec.commonLabels",
  );
  layer(
    labels.map((l) => l.key),
    "a metric label",
    `${at}.labels`,
  );
  if (stateKey !== undefined) layer([stateKey], "the states label", `${at}.states.labelKey`);
}

function compileMetric(
  r: Reporter,
  raw: unknown,
  index: number,
  target: TargetRef,
  commonRaw: unknown[],
): CompiledMetric | undefined {
  const at = `spec.metrics[${index}]`;
  const metricName = isObj(raw) && typeof raw.name === "string" && raw.name !== "" ? raw.name : `#${index}`;
  const s = new MetricScope(r, metricName);
  if (!isObj(raw)) {
    s.error(at, `must be an object, got ${describe(raw)}`);
    return undefined;
  }
  r.unknownFields(raw, KNOWN_FIELDS.metric, at, metricName);
  const name = requiredString(s, raw, "name", at);
  const help = requiredString(s, raw, "help", at);
  if (help !== undefined && help.trim() === "") s.warn(`${at}.help`, "is empty");
  const type = requiredString(s, raw, "type", at);
  if (type !== undefined && type !== "gauge")
    s.error(`${at}.type`, `"${type}" is not supported; only "gauge"`);

  let family: string | undefined;
  if (name !== undefined) {
    if (name === "") s.error(`${at}.name`, "must not be empty");
    else {
      family = familyName(target.group, target.kind, name);
      if (!isValidMetricName(family)) {
        s.error(`${at}.name`, `family name "${family}" must match [a-zA-Z_:][a-zA-Z0-9_:]*`);
      }
    }
  }

  let field: CompiledMetric["field"];
  let arrayPath: string | undefined;
  if (raw.field !== undefined && raw.field !== null) {
    if (!isObj(raw.field)) s.error(`${at}.field`, `must be an object, got ${describe(raw.field)}`);
    else {
      r.unknownFields(raw.field, KNOWN_FIELDS.field, `${at}.field`, metricName);
      const path = requiredString(s, raw.field, "path", `${at}.field`);
      const ftype = requiredString(s, raw.field, "type", `${at}.field`);
      if (ftype !== undefined && !(FIELD_TYPES as readonly string[]).includes(ftype)) {
        s.error(`${at}.field.type`, `"${ftype}" is not one of ${FIELD_TYPES.join(", ")}`);
      }
      if (path !== undefined && ftype !== undefined && (FIELD_TYPES as readonly string[]).includes(ftype)) {
        const bound = bindPath(s, path, `${at}.field.path`, undefined);
        if (bound) {
          field = { path: bound.path, type: ftype as FieldType };
          if (ftype === "Array") arrayPath = path;
        }
      }
    }
  }

  // commonLabels are compiled again per metric because in an Array metric their row-relative paths
  // read the row; their problems were already reported once, at spec level.
  const sCommon = new MetricScope(new Reporter(undefined, r.configuration), metricName);
  const common = compileLabelList(sCommon, commonRaw, "spec.commonLabels", arrayPath, "label");
  const labels = compileLabelList(s, optionalList(s, raw, "labels", at), `${at}.labels`, arrayPath, "label");
  const params = compileLabelList(s, optionalList(s, raw, "params", at), `${at}.params`, arrayPath, "param");
  const paramKeys = new Set(params.map((p) => p.key));
  const usedParams = new Set<string>();

  let states: CompiledMetric["states"];
  let value: CompiledValue | undefined;
  const hasStates = raw.states !== undefined && raw.states !== null;
  const hasValue = raw.metricValue !== undefined && raw.metricValue !== null;
  if (hasStates) {
    if (hasValue) s.warn(`${at}.metricValue`, `ignored because "states" is set`);
    const st = raw.states;
    if (!isObj(st)) s.error(`${at}.states`, `must be an object, got ${describe(st)}`);
    else {
      r.unknownFields(st, KNOWN_FIELDS.states, `${at}.states`, metricName);
      const labelKey = requiredString(s, st, "labelKey", `${at}.states`);
      const problem = labelKey === undefined ? undefined : labelNameProblem(labelKey);
      if (problem) s.error(`${at}.states.labelKey`, problem);
      const rawValues = optionalList(s, st, "values", `${at}.states`);
      if (rawValues.length === 0) s.warn(`${at}.states.values`, "is empty: this metric yields no series");
      const values: CompiledState[] = [];
      const seenValues = new Set<string>();
      rawValues.forEach((entry, i) => {
        const eAt = `${at}.states.values[${i}]`;
        if (!isObj(entry)) {
          s.error(eAt, `must be an object with "labelValue" and "metricValue", got ${describe(entry)}`);
          return;
        }
        r.unknownFields(entry, KNOWN_FIELDS.state, eAt, metricName);
        let labelValue = entry.labelValue;
        if (typeof labelValue === "number" || typeof labelValue === "boolean")
          labelValue = String(labelValue);
        if (typeof labelValue !== "string") {
          s.error(`${eAt}.labelValue`, labelValue === undefined ? "is required" : "must be a string");
          return;
        }
        if (seenValues.has(labelValue)) s.warn(`${eAt}.labelValue`, `"${labelValue}" appears twice`);
        seenValues.add(labelValue);
        if (entry.metricValue === undefined || entry.metricValue === null) {
          s.error(`${eAt}.metricValue`, "is required");
          return;
        }
        const v = compileMetricValue(
          s,
          entry.metricValue,
          `${eAt}.metricValue`,
          arrayPath,
          paramKeys,
          usedParams,
        );
        if (v) values.push({ labelValue, value: v });
      });
      if (labelKey !== undefined && !problem) states = { labelKey, values };
    }
  } else if (hasValue) {
    value = compileMetricValue(s, raw.metricValue, `${at}.metricValue`, arrayPath, paramKeys, usedParams);
  } else {
    s.error(at, `needs "states" or "metricValue"`);
  }

  // After an expression error the set of used parameters is unknown: say nothing rather than guess.
  if (s.errors === 0) {
    for (const p of params) {
      if (!usedParams.has(p.key))
        s.warn(`${at}.params`, `parameter "${p.key}" is not used by any expression`);
    }
  }

  const identity = ["namespace", target.kind.toLowerCase()];
  reportOverrides(s, at, identity, common, labels, states?.labelKey);

  if (
    s.errors > 0 ||
    sCommon.errors > 0 ||
    name === undefined ||
    family === undefined ||
    help === undefined
  ) {
    return undefined;
  }
  if (!states && !value) return undefined;
  return {
    name,
    family,
    help,
    configuration: r.configuration,
    ...(field ? { field } : {}),
    labels: [...common, ...labels],
    params,
    ...(states ? { states } : {}),
    ...(value ? { value } : {}),
  };
}

/** Validate and compile one MetricsConfiguration document. */
export function compileConfiguration(doc: unknown, source: ConfigSource = {}): CompiledConfiguration {
  const metadata = isObj(doc) && isObj(doc.metadata) ? doc.metadata : undefined;
  const rawName = metadata?.name;
  const name =
    typeof rawName === "string" && rawName !== ""
      ? rawName
      : source.file !== undefined
        ? `${source.file}#${source.document ?? 0}`
        : "<unnamed>";
  const r = new Reporter(source.file, name);
  const s = new MetricScope(r, undefined);
  const fullSource: ConfigSource = {
    ...source,
    ...(typeof metadata?.uid === "string" ? { uid: metadata.uid } : {}),
    ...(typeof metadata?.resourceVersion === "string" ? { resourceVersion: metadata.resourceVersion } : {}),
    ...(typeof metadata?.generation === "number" ? { generation: metadata.generation } : {}),
    ...(typeof metadata?.creationTimestamp === "string"
      ? { creationTimestamp: metadata.creationTimestamp }
      : {}),
  };
  const fail = (): CompiledConfiguration => ({
    name,
    source: fullSource,
    metrics: [],
    diagnostics: r.diagnostics,
    declaredMetrics: 0,
  });

  if (!isObj(doc)) {
    s.error("(document)", `expected a MetricsConfiguration object, got ${describe(doc)}`);
    return fail();
  }
  r.unknownFields(doc, KNOWN_FIELDS.root, "");
  if (doc.apiVersion !== API_VERSION || doc.kind !== KIND) {
    s.error(
      doc.apiVersion !== API_VERSION ? "apiVersion" : "kind",
      `expected apiVersion "${API_VERSION}" and kind "${KIND}", got ${JSON.stringify(doc.apiVersion)} / ${JSON.stringify(doc.kind)}`,
    );
    return fail();
  }
  if (typeof rawName !== "string" || rawName === "") s.error("metadata.name", "is required");
  const spec = doc.spec;
  if (!isObj(spec)) {
    s.error("spec", spec === undefined ? "is required" : `must be an object, got ${describe(spec)}`);
    return fail();
  }
  r.unknownFields(spec, KNOWN_FIELDS.spec, "spec");
  const target = compileTarget(s, spec);
  const commonRaw = optionalList(s, spec, "commonLabels", "spec");
  const metricsRaw = optionalList(s, spec, "metrics", "spec");
  if (metricsRaw.length === 0 && (spec.metrics === undefined || Array.isArray(spec.metrics))) {
    s.error("spec.metrics", "must list at least one metric");
  }
  compileLabelList(s, commonRaw, "spec.commonLabels", undefined, "label");
  if (!target) return { ...fail(), declaredMetrics: metricsRaw.length };

  const metrics: CompiledMetric[] = [];
  const families = new Map<string, number>();
  metricsRaw.forEach((raw, i) => {
    const m = compileMetric(r, raw, i, target, commonRaw);
    if (!m) return;
    const prev = families.get(m.family);
    if (prev !== undefined) {
      r.add("error", `spec.metrics[${i}].name`, `duplicates spec.metrics[${prev}] ("${m.name}")`, m.name);
      return;
    }
    families.set(m.family, i);
    metrics.push(m);
  });
  return {
    name,
    source: fullSource,
    target,
    metrics,
    diagnostics: r.diagnostics,
    declaredMetrics: metricsRaw.length,
  };
}
