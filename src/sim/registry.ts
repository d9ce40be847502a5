import { getObject, getString, isObject, type JsonObject } from "./types.js";

export interface PrinterColumn {
  name: string;
  type: string;
  format?: string;
  description?: string;
  priority: number;
  jsonPath: string;
}

/** One served resource (all its versions share one storage, as with a CRD `None` conversion). */
export interface ResourceInfo {
  group: string;
  plural: string;
  singular: string;
  kind: string;
  listKind: string;
  namespaced: boolean;
  shortNames: string[];
  categories: string[];
  /** Served versions, highest Kubernetes version priority first. */
  versions: string[];
  statusSubresource: boolean;
  printerColumns: Map<string, PrinterColumn[]>;
  /** Name of the CRD that serves it, absent for built-ins. */
  crdName?: string;
}

export const ALL_VERBS = ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"];

/** `group/plural`: the storage identity of a resource, independent of the version asked for. */
export function storageKey(info: { group: string; plural: string }): string {
  return `${info.group}/${info.plural}`;
}

export function apiVersionFor(group: string, version: string): string {
  return group ? `${group}/${version}` : version;
}

export function splitApiVersion(apiVersion: string): { group: string; version: string } {
  const slash = apiVersion.indexOf("/");
  return slash < 0
    ? { group: "", version: apiVersion }
    : { group: apiVersion.slice(0, slash), version: apiVersion.slice(slash + 1) };
}

const VERSION_RE = /^v(\d+)(?:(alpha|beta)(\d+))?$/;

/**
 * Kubernetes version priority: GA before beta before alpha, higher numbers first, and
 * non-conforming names last in alphabetical order.
 */
export function compareKubeVersions(a: string, b: string): number {
  const ma = VERSION_RE.exec(a);
  const mb = VERSION_RE.exec(b);
  if (!ma || !mb) {
    if (ma) return -1;
    if (mb) return 1;
    return a < b ? -1 : a > b ? 1 : 0;
  }
  const rank = (m: RegExpExecArray): number => (m[2] === undefined ? 3 : m[2] === "beta" ? 2 : 1);
  const ra = rank(ma);
  const rb = rank(mb);
  if (ra !== rb) return rb - ra;
  const major = Number(mb[1]) - Number(ma[1]);
  if (major !== 0) return major;
  return Number(mb[3] ?? 0) - Number(ma[3] ?? 0);
}

const AGE: PrinterColumn = {
  name: "Age",
  type: "date",
  priority: 0,
  jsonPath: ".metadata.creationTimestamp",
};

function builtin(
  group: string,
  version: string,
  kind: string,
  plural: string,
  namespaced: boolean,
  shortNames: string[],
  columns: PrinterColumn[],
  statusSubresource = false,
): ResourceInfo {
  return {
    group,
    plural,
    singular: kind.toLowerCase(),
    kind,
    listKind: `${kind}List`,
    namespaced,
    shortNames,
    categories: kind === "Pod" || kind === "StatefulSet" ? ["all"] : [],
    versions: [version],
    statusSubresource,
    printerColumns: new Map([[version, [...columns, AGE]]]),
  };
}

function col(name: string, jsonPath: string, type = "string"): PrinterColumn {
  return { name, type, priority: 0, jsonPath };
}

export const CRD_GROUP = "apiextensions.k8s.io";

export function builtinResources(): ResourceInfo[] {
  return [
    builtin("", "v1", "Namespace", "namespaces", false, ["ns"], [col("Status", ".status.phase")], true),
    builtin("", "v1", "ConfigMap", "configmaps", true, ["cm"], []),
    builtin("", "v1", "Secret", "secrets", true, [], [col("Type", ".type")]),
    builtin(
      "",
      "v1",
      "Event",
      "events",
      true,
      ["ev"],
      [col("Reason", ".reason"), col("Message", ".message")],
    ),
    builtin("", "v1", "Pod", "pods", true, ["po"], [col("Status", ".status.phase")], true),
    // For automatic sharding (`serve --pod`), which reads the fleet size from spec.replicas.
    builtin(
      "apps",
      "v1",
      "StatefulSet",
      "statefulsets",
      true,
      ["sts"],
      [col("Ready", ".status.readyReplicas"), col("Replicas", ".spec.replicas", "integer")],
      true,
    ),
    builtin(
      CRD_GROUP,
      "v1",
      "CustomResourceDefinition",
      "customresourcedefinitions",
      false,
      ["crd", "crds"],
      [],
      true,
    ),
  ];
}

export interface CrdProblem {
  field: string;
  message: string;
}

function stringList(value: unknown): string[] {
  return Array.isArray(value) ? value.filter((v): v is string => typeof v === "string") : [];
}

/** Validate a CustomResourceDefinition and derive what it serves; problems become a 422. */
export function resourceFromCrd(crd: JsonObject): { info?: ResourceInfo; problems: CrdProblem[] } {
  const problems: CrdProblem[] = [];
  const spec = getObject(crd, "spec");
  const names = spec ? getObject(spec, "names") : undefined;
  const group = getString(spec, "group") ?? "";
  const plural = getString(names, "plural") ?? "";
  const kind = getString(names, "kind") ?? "";
  const scope = getString(spec, "scope");
  const name = getString(getObject(crd, "metadata"), "name") ?? "";
  if (!group) problems.push({ field: "spec.group", message: "Required value" });
  if (!plural) problems.push({ field: "spec.names.plural", message: "Required value" });
  if (!kind) problems.push({ field: "spec.names.kind", message: "Required value" });
  if (scope !== "Namespaced" && scope !== "Cluster")
    problems.push({ field: "spec.scope", message: `Unsupported value: "${scope ?? ""}"` });
  if (group && plural && name !== `${plural}.${group}`)
    problems.push({ field: "metadata.name", message: `must be spec.names.plural+"."+spec.group` });
  const rawVersions = spec?.versions;
  const versions = Array.isArray(rawVersions) ? rawVersions.filter(isObject) : [];
  if (versions.length === 0)
    problems.push({
      field: "spec.versions",
      message: "must have exactly one version marked as storage version",
    });
  const storage = versions.filter((v) => v.storage === true);
  if (versions.length > 0 && storage.length !== 1)
    problems.push({
      field: "spec.versions",
      message: "must have exactly one version marked as storage version",
    });
  const served: string[] = [];
  const printerColumns = new Map<string, PrinterColumn[]>();
  let statusSubresource = false;
  for (const v of versions) {
    const vname = getString(v, "name");
    if (!vname) {
      problems.push({ field: "spec.versions[].name", message: "Required value" });
      continue;
    }
    const subresources = getObject(v, "subresources");
    if (subresources && isObject(subresources.status)) statusSubresource = true;
    if (v.served !== true) continue;
    served.push(vname);
    const columns: PrinterColumn[] = [];
    const raw = v.additionalPrinterColumns;
    if (Array.isArray(raw)) {
      for (const c of raw.filter(isObject)) {
        const cname = getString(c, "name");
        const jsonPath = getString(c, "jsonPath");
        if (!cname || !jsonPath) continue;
        const column: PrinterColumn = {
          name: cname,
          type: getString(c, "type") ?? "string",
          priority: typeof c.priority === "number" ? c.priority : 0,
          jsonPath,
        };
        const format = getString(c, "format");
        if (format) column.format = format;
        const description = getString(c, "description");
        if (description) column.description = description;
        columns.push(column);
      }
    } else {
      columns.push(AGE);
    }
    printerColumns.set(vname, columns);
  }
  if (problems.length > 0) return { problems };
  served.sort(compareKubeVersions);
  const info: ResourceInfo = {
    group,
    plural,
    singular: getString(names, "singular") ?? kind.toLowerCase(),
    kind,
    listKind: getString(names, "listKind") ?? `${kind}List`,
    namespaced: scope === "Namespaced",
    shortNames: stringList(names?.shortNames),
    categories: stringList(names?.categories),
    versions: served,
    statusSubresource,
    printerColumns,
    crdName: name,
  };
  return { info, problems };
}

/** The resources currently served: built-ins plus every established CRD. */
export class Registry {
  private readonly byKey = new Map<string, ResourceInfo>();

  constructor() {
    for (const r of builtinResources()) this.byKey.set(storageKey(r), r);
  }

  add(info: ResourceInfo): void {
    this.byKey.set(storageKey(info), info);
  }

  remove(group: string, plural: string): ResourceInfo | undefined {
    const key = `${group}/${plural}`;
    const info = this.byKey.get(key);
    this.byKey.delete(key);
    return info;
  }

  /** The resource at `/apis/<group>/<version>/<plural>`, if that version is served. */
  resolve(group: string, version: string, plural: string): ResourceInfo | undefined {
    const info = this.byKey.get(`${group}/${plural}`);
    return info?.versions.includes(version) ? info : undefined;
  }

  byStorageKey(key: string): ResourceInfo | undefined {
    return this.byKey.get(key);
  }

  byKind(group: string, version: string, kind: string): ResourceInfo | undefined {
    for (const info of this.byKey.values())
      if (info.group === group && info.kind === kind && info.versions.includes(version)) return info;
    return undefined;
  }

  all(): ResourceInfo[] {
    return [...this.byKey.values()];
  }

  /** Groups with their served versions, preferred first; the core group is "". */
  groups(): Map<string, string[]> {
    const out = new Map<string, Set<string>>();
    for (const info of this.byKey.values()) {
      const set = out.get(info.group) ?? new Set<string>();
      for (const v of info.versions) set.add(v);
      out.set(info.group, set);
    }
    const sorted = new Map<string, string[]>();
    for (const g of [...out.keys()].sort()) sorted.set(g, [...(out.get(g) ?? [])].sort(compareKubeVersions));
    return sorted;
  }

  resourcesIn(group: string, version: string): ResourceInfo[] {
    return [...this.byKey.values()]
      .filter((r) => r.group === group && r.versions.includes(version))
      .sort((a, b) => (a.plural < b.plural ? -1 : a.plural > b.plural ? 1 : 0));
  }
}
