import { createHash } from "node:crypto";
import { apiVersionFor, type Registry, type ResourceInfo } from "./registry.js";
import type { JsonObject } from "./types.js";

/**
 * Just enough OpenAPI v3 for kubectl: the root index of group-versions and, per group-version,
 * the write operations tagged with their GVK and the `fieldValidation` query parameter. kubectl
 * reads that to decide the server validates (so it need not), and, finding no schemas, uses
 * JSON merge patches for custom resources as it would for any CRD without a structural schema.
 */
export function openApiV3Root(registry: Registry): JsonObject {
  const paths: JsonObject = {};
  for (const [group, versions] of registry.groups()) {
    for (const version of versions) {
      const rel = group === "" ? `api/${version}` : `apis/${group}/${version}`;
      const hash = createHash("sha256")
        .update(JSON.stringify(openApiV3GroupVersion(registry, group, version)))
        .digest("hex")
        .slice(0, 32);
      paths[rel] = { serverRelativeURL: `/openapi/v3/${rel}?hash=${hash.toUpperCase()}` };
    }
  }
  return { paths };
}

function operation(info: ResourceInfo, version: string, verb: string): JsonObject {
  return {
    operationId: `${verb}${info.kind}`,
    "x-kubernetes-action": verb,
    "x-kubernetes-group-version-kind": { group: info.group, version, kind: info.kind },
    parameters: [
      { name: "dryRun", in: "query", schema: { type: "string", uniqueItems: true } },
      { name: "fieldManager", in: "query", schema: { type: "string", uniqueItems: true } },
      { name: "fieldValidation", in: "query", schema: { type: "string", uniqueItems: true } },
    ],
    responses: { "200": { description: "OK" } },
  };
}

export function openApiV3GroupVersion(registry: Registry, group: string, version: string): JsonObject {
  const paths: JsonObject = {};
  const base = group === "" ? `/api/${version}` : `/apis/${group}/${version}`;
  for (const info of registry.resourcesIn(group, version)) {
    const collection = info.namespaced
      ? `${base}/namespaces/{namespace}/${info.plural}`
      : `${base}/${info.plural}`;
    paths[collection] = { post: operation(info, version, "post") };
    paths[`${collection}/{name}`] = {
      put: operation(info, version, "put"),
      patch: operation(info, version, "patch"),
    };
  }
  return {
    openapi: "3.0.0",
    info: { title: "Kubernetes", version: apiVersionFor(group, version) },
    paths,
    components: { schemas: {} },
  };
}
