import { errors } from "./status.js";
import { isObject, labelsOf, type JsonObject, type JsonValue } from "./types.js";

export type LabelRequirement =
  | { op: "exists" | "notexists"; key: string }
  | { op: "in" | "notin"; key: string; values: string[] };

export interface FieldRequirement {
  field: string;
  op: "eq" | "neq";
  value: string;
}

/** Split on commas that are not inside a `( … )` value set. */
function splitTopLevel(selector: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < selector.length; i++) {
    const c = selector[i];
    if (c === "(") depth++;
    else if (c === ")") depth--;
    else if (c === "," && depth === 0) {
      parts.push(selector.slice(start, i));
      start = i + 1;
    }
  }
  parts.push(selector.slice(start));
  return parts.map((p) => p.trim()).filter((p) => p.length > 0);
}

const KEY = String.raw`[A-Za-z0-9]([A-Za-z0-9._/-]*[A-Za-z0-9])?`;
const SET_RE = new RegExp(String.raw`^(${KEY})\s+(in|notin)\s*\(([^)]*)\)$`);
const EQ_RE = new RegExp(String.raw`^(${KEY})\s*(==|=|!=)\s*([A-Za-z0-9._-]*)$`);
const EXISTS_RE = new RegExp(String.raw`^(!?)\s*(${KEY})$`);

export function parseLabelSelector(selector: string | null): LabelRequirement[] {
  if (!selector) return [];
  return splitTopLevel(selector).map((part): LabelRequirement => {
    const set = SET_RE.exec(part);
    if (set?.[1] !== undefined && set[4] !== undefined) {
      const values = set[4]
        .split(",")
        .map((v) => v.trim())
        .filter((v) => v.length > 0);
      return { op: set[3] === "in" ? "in" : "notin", key: set[1], values };
    }
    const eq = EQ_RE.exec(part);
    if (eq?.[1] !== undefined && eq[4] !== undefined)
      return { op: eq[3] === "!=" ? "notin" : "in", key: eq[1], values: [eq[4]] };
    const ex = EXISTS_RE.exec(part);
    if (ex?.[2] !== undefined) return { op: ex[1] === "!" ? "notexists" : "exists", key: ex[2] };
    throw errors.badRequest(`unable to parse requirement: invalid label selector "${part}"`);
  });
}

export function matchesLabels(obj: JsonObject, reqs: LabelRequirement[]): boolean {
  if (reqs.length === 0) return true;
  const labels = labelsOf(obj);
  return reqs.every((r) => {
    const has = Object.hasOwn(labels, r.key);
    switch (r.op) {
      case "exists":
        return has;
      case "notexists":
        return !has;
      case "in":
        return has && r.values.includes(labels[r.key] ?? "");
      case "notin":
        return !has || !r.values.includes(labels[r.key] ?? "");
    }
  });
}

/** Fields kube-apiserver lets you select on, per resource, beyond metadata.name/namespace. */
const EXTRA_FIELDS: Record<string, string[]> = {
  "/events": [
    "involvedObject.kind",
    "involvedObject.name",
    "involvedObject.namespace",
    "involvedObject.uid",
    "reason",
    "type",
  ],
  "/pods": ["spec.nodeName", "status.phase"],
  "/secrets": ["type"],
  "/namespaces": ["status.phase"],
};

export function parseFieldSelector(selector: string | null, storageKey: string): FieldRequirement[] {
  if (!selector) return [];
  const allowed = ["metadata.name", "metadata.namespace", ...(EXTRA_FIELDS[storageKey] ?? [])];
  return splitTopLevel(selector).map((part) => {
    const m = /^([A-Za-z0-9.]+)\s*(==|=|!=)\s*(.*)$/.exec(part);
    if (m?.[1] === undefined || m[3] === undefined)
      throw errors.badRequest(`invalid field selector: "${part}"`);
    if (!allowed.includes(m[1])) throw errors.badRequest(`field label not supported: ${m[1]}`);
    return { field: m[1], op: m[2] === "!=" ? "neq" : "eq", value: m[3] };
  });
}

function fieldValue(obj: JsonObject, path: string): string {
  let cur: JsonValue | undefined = obj;
  for (const seg of path.split(".")) cur = isObject(cur) ? cur[seg] : undefined;
  if (cur === undefined || cur === null) return "";
  return typeof cur === "string" ? cur : JSON.stringify(cur);
}

export function matchesFields(obj: JsonObject, reqs: FieldRequirement[]): boolean {
  return reqs.every((r) => (fieldValue(obj, r.field) === r.value) === (r.op === "eq"));
}

export interface Selector {
  labels: LabelRequirement[];
  fields: FieldRequirement[];
}

export function matches(obj: JsonObject, sel: Selector): boolean {
  return matchesLabels(obj, sel.labels) && matchesFields(obj, sel.fields);
}

export function isEverything(sel: Selector): boolean {
  return sel.labels.length === 0 && sel.fields.length === 0;
}
