/**
 * A structural validator for custom resources against a CRD's openAPIV3Schema, covering what our
 * CRD uses: type, properties (unknown fields are reported: the API server would prune them),
 * required, enum, items, minItems/maxItems, maxLength, x-kubernetes-preserve-unknown-fields, and
 * x-kubernetes-validations. There is no CEL evaluator here: each CEL rule the CRD may contain has
 * a JavaScript twin below, and a rule without a twin is itself reported, so the two cannot drift.
 */

export interface SchemaNode {
  type?: string;
  properties?: Record<string, SchemaNode>;
  required?: string[];
  enum?: unknown[];
  items?: SchemaNode;
  minItems?: number;
  maxItems?: number;
  maxLength?: number;
  "x-kubernetes-preserve-unknown-fields"?: boolean;
  "x-kubernetes-validations"?: { rule: string; message?: string }[];
}

export interface CrdSchema {
  spec: { versions: { name: string; schema: { openAPIV3Schema: SchemaNode } }[] };
}

const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

/** The CEL rules of deploy/crds/metricsconfigurations…yaml, as JavaScript. */
export const CEL_TWINS: Record<string, (self: unknown) => boolean> = {
  "has(self.states) || has(self.metricValue)": (self) =>
    typeof self === "object" && self !== null && ("states" in self || "metricValue" in self),
  "self.matches('^[a-zA-Z_][a-zA-Z0-9_]*$') && !self.startsWith('__')": (self) =>
    typeof self === "string" && LABEL_NAME.test(self) && !self.startsWith("__"),
  "self.matches('^[a-zA-Z0-9_:]+$')": (self) => typeof self === "string" && /^[a-zA-Z0-9_:]+$/.test(self),
  "self.matches('^([a-z0-9]([-a-z0-9.]*[a-z0-9])?/)?v[0-9]+((alpha|beta)[0-9]+)?$')": (self) =>
    typeof self === "string" &&
    /^([a-z0-9]([-a-z0-9.]*[a-z0-9])?\/)?v[0-9]+((alpha|beta)[0-9]+)?$/.test(self),
  "self.matches('^[A-Za-z][A-Za-z0-9]*$')": (self) =>
    typeof self === "string" && /^[A-Za-z][A-Za-z0-9]*$/.test(self),
};

function typeOf(v: unknown): string {
  if (Array.isArray(v)) return "array";
  if (v === null) return "null";
  if (typeof v === "number") return Number.isInteger(v) ? "integer" : "number";
  return typeof v;
}

function typeMatches(want: string, v: unknown): boolean {
  const got = typeOf(v);
  return got === want || (want === "number" && got === "integer");
}

export function validateNode(schema: SchemaNode, value: unknown, path: string, out: string[]): void {
  if (schema.type !== undefined && !typeMatches(schema.type, value)) {
    out.push(`${path}: expected ${schema.type}, got ${typeOf(value)}`);
    return;
  }
  for (const v of schema["x-kubernetes-validations"] ?? []) {
    const twin = CEL_TWINS[v.rule];
    if (twin === undefined) out.push(`${path}: CEL rule without a JavaScript twin in the test: ${v.rule}`);
    else if (!twin(value)) out.push(`${path}: ${v.message ?? v.rule}`);
  }
  if (schema.enum !== undefined && !schema.enum.includes(value)) {
    out.push(`${path}: ${JSON.stringify(value)} is not one of ${schema.enum.join(", ")}`);
  }
  if (typeof value === "string" && schema.maxLength !== undefined && value.length > schema.maxLength) {
    out.push(`${path}: longer than ${schema.maxLength}`);
  }
  if (Array.isArray(value)) {
    if (schema.minItems !== undefined && value.length < schema.minItems)
      out.push(`${path}: fewer than ${schema.minItems} items`);
    if (schema.maxItems !== undefined && value.length > schema.maxItems)
      out.push(`${path}: more than ${schema.maxItems} items`);
    if (schema.items)
      value.forEach((item, i) => {
        validateNode(schema.items!, item, `${path}[${i}]`, out);
      });
    return;
  }
  if (typeof value === "object" && value !== null && schema.type === "object") {
    const obj = value as Record<string, unknown>;
    for (const key of schema.required ?? []) if (!(key in obj)) out.push(`${path}.${key}: required`);
    const props = schema.properties;
    if (props === undefined) return;
    for (const [key, v] of Object.entries(obj)) {
      const sub = props[key];
      if (sub !== undefined) validateNode(sub, v, path === "" ? key : `${path}.${key}`, out);
      else if (schema["x-kubernetes-preserve-unknown-fields"] !== true)
        out.push(`${path}.${key}: unknown field`);
    }
  }
}

/** Problems of a custom resource against the CRD's first version's schema (empty when valid). */
export function validateAgainstCrd(crd: CrdSchema, object: unknown): string[] {
  const out: string[] = [];
  const schema = crd.spec.versions[0]!.schema.openAPIV3Schema;
  const { metadata: _m, ...rest } = object as Record<string, unknown>;
  validateNode(
    { ...schema, required: (schema.required ?? []).filter((k) => k !== "metadata") },
    rest,
    "",
    out,
  );
  return out.map((p) => p.replace(/^\./, ""));
}

/** Every node of a structural schema has a type (or preserves unknown fields). */
export function nonStructural(schema: SchemaNode, path = ""): string[] {
  const out: string[] = [];
  if (schema.type === undefined && schema["x-kubernetes-preserve-unknown-fields"] !== true)
    out.push(`${path || "."}: no type`);
  for (const [k, v] of Object.entries(schema.properties ?? {})) out.push(...nonStructural(v, `${path}.${k}`));
  if (schema.items) out.push(...nonStructural(schema.items, `${path}[]`));
  return out;
}
