import { ALL_VERBS, apiVersionFor, type Registry, type ResourceInfo } from "./registry.js";
import type { JsonObject } from "./types.js";

export const SERVER_VERSION: JsonObject = {
  major: "1",
  minor: "32",
  gitVersion: "v1.32.0-crd-state-metrics-sim",
  gitCommit: "0000000000000000000000000000000000000000",
  gitTreeState: "clean",
  buildDate: "2025-01-01T00:00:00Z",
  goVersion: "go1.23.0",
  compiler: "gc",
  platform: "linux/amd64",
};

export function apiVersions(serverAddress: string): JsonObject {
  return {
    kind: "APIVersions",
    versions: ["v1"],
    serverAddressByClientCIDRs: [{ clientCIDR: "0.0.0.0/0", serverAddress }],
  };
}

function groupVersion(group: string, version: string): JsonObject {
  return { groupVersion: apiVersionFor(group, version), version };
}

export function apiGroup(group: string, versions: string[]): JsonObject {
  const preferred = versions[0] ?? "v1";
  return {
    kind: "APIGroup",
    apiVersion: "v1",
    name: group,
    versions: versions.map((v) => groupVersion(group, v)),
    preferredVersion: groupVersion(group, preferred),
  };
}

export function apiGroupList(registry: Registry): JsonObject {
  const groups: JsonObject[] = [];
  for (const [group, versions] of registry.groups()) {
    if (group === "") continue;
    const g = apiGroup(group, versions);
    delete g.kind;
    delete g.apiVersion;
    groups.push(g);
  }
  return { kind: "APIGroupList", apiVersion: "v1", groups };
}

function resourceEntry(info: ResourceInfo): JsonObject {
  const entry: JsonObject = {
    name: info.plural,
    singularName: info.singular,
    namespaced: info.namespaced,
    kind: info.kind,
    verbs: ALL_VERBS,
  };
  if (info.shortNames.length > 0) entry.shortNames = info.shortNames;
  if (info.categories.length > 0) entry.categories = info.categories;
  return entry;
}

export function apiResourceList(registry: Registry, group: string, version: string): JsonObject | undefined {
  const infos = registry.resourcesIn(group, version);
  if (infos.length === 0) return undefined;
  const resources: JsonObject[] = [];
  for (const info of infos) {
    resources.push(resourceEntry(info));
    if (info.statusSubresource)
      resources.push({
        name: `${info.plural}/status`,
        singularName: "",
        namespaced: info.namespaced,
        kind: info.kind,
        verbs: ["get", "patch", "update"],
      });
  }
  return {
    kind: "APIResourceList",
    apiVersion: "v1",
    groupVersion: apiVersionFor(group, version),
    resources,
  };
}
