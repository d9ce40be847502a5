import { randomUUID } from "node:crypto";
import { PatchError, jsonPatch, mergePatch, parseJsonPatch, strategicMergePatch } from "./patch.js";
import {
  CRD_GROUP,
  apiVersionFor,
  resourceFromCrd,
  splitApiVersion,
  storageKey,
  type Registry,
  type ResourceInfo,
} from "./registry.js";
import { isEverything, matches, type Selector } from "./selectors.js";
import { ApiError, errors } from "./status.js";
import { objectKey, type Store } from "./store.js";
import {
  clone,
  deepEqual,
  getObject,
  getString,
  isObject,
  metadataOf,
  nameOf,
  namespaceOf,
  type JsonObject,
  type JsonValue,
  type KubeObject,
} from "./types.js";

export type PatchType = "merge" | "json" | "strategic" | "apply";

export interface WriteOptions {
  /** `dryRun=All`: validate and compute the result, store nothing. */
  dryRun?: boolean;
  /** Write through the `status` subresource. */
  subresource?: "status";
  /**
   * Trusted in-process writes (seeding, tests): keep `status` and `resourceVersion`-free
   * semantics of a restore rather than those of an API client.
   */
  trusted?: boolean;
  /** The caller hands `input` over (freshly built, never touched again): skip the defensive copy. */
  adopt?: boolean;
}

export interface DeleteOptions {
  dryRun?: boolean;
  preconditions?: { uid?: string; resourceVersion?: string };
}

const NAME_RE = /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/;

/** Whole-second RFC 3339 in UTC, as metav1.Time serialises. */
export function rfc3339(date: Date): string {
  return date.toISOString().replace(/\.\d{3}Z$/, "Z");
}

/**
 * The object semantics of kube-apiserver's generic registry: identity and metadata on create,
 * optimistic concurrency, generation, the status subresource, finalizers, and the side effects
 * of Namespaces and CustomResourceDefinitions. HTTP handlers and the in-process API both use it.
 */
export class Objects {
  /** Called when a resource stops being served, after its objects' DELETED events. */
  onResourceRemoved: (info: ResourceInfo) => void = () => undefined;

  constructor(
    readonly registry: Registry,
    readonly store: Store,
  ) {}

  /** The object as seen through `version` (storage is version-agnostic, no conversion). */
  present(info: ResourceInfo, version: string, obj: KubeObject): KubeObject {
    const apiVersion = apiVersionFor(info.group, version);
    return obj.apiVersion === apiVersion && obj.kind === info.kind
      ? obj
      : { ...obj, apiVersion, kind: info.kind };
  }

  get(info: ResourceInfo, namespace: string, name: string): KubeObject {
    const stored = this.store.get(storageKey(info), objectKey(info.namespaced ? namespace : "", name));
    if (!stored) throw errors.notFound(info.group, info.plural, name);
    return stored.obj;
  }

  list(info: ResourceInfo, namespace: string, selector: Selector): KubeObject[] {
    const entries = this.store.entries(storageKey(info), info.namespaced ? namespace : "");
    const all = entries.map((e) => e.value.obj);
    return isEverything(selector) ? all : all.filter((o) => matches(o, selector));
  }

  private requireNamespace(info: ResourceInfo, namespace: string, autoCreate: boolean): void {
    if (!info.namespaced) return;
    if (!namespace)
      throw errors.badRequest("the namespace of the object is required for a namespaced resource");
    if (this.store.get("/namespaces", namespace)) return;
    if (!autoCreate) throw errors.notFound("", "namespaces", namespace);
    const ns = this.registry.byStorageKey("/namespaces");
    if (ns)
      this.create(
        ns,
        "",
        { apiVersion: "v1", kind: "Namespace", metadata: { name: namespace } },
        { trusted: true },
      );
  }

  private checkTypeMeta(info: ResourceInfo, body: JsonObject): void {
    const apiVersion = getString(body, "apiVersion");
    const kind = getString(body, "kind");
    if (apiVersion !== undefined) {
      const { group, version } = splitApiVersion(apiVersion);
      if (group !== info.group || !info.versions.includes(version))
        throw errors.badRequest(
          `the API version in the data (${apiVersion}) does not match the expected API version (${apiVersionFor(info.group, info.versions[0] ?? "")})`,
        );
    }
    if (kind !== undefined && kind !== info.kind)
      throw errors.badRequest(
        `the kind in the data (${kind}) does not match the expected kind (${info.kind})`,
      );
  }

  create(info: ResourceInfo, namespace: string, input: unknown, opts: WriteOptions = {}): KubeObject {
    if (!isObject(input)) throw errors.badRequest("the request body must be a JSON object");
    this.checkTypeMeta(info, input);
    const obj = opts.adopt ? input : clone(input);
    obj.apiVersion = getString(obj, "apiVersion") ?? apiVersionFor(info.group, info.versions[0] ?? "v1");
    obj.kind = info.kind;
    const meta = isObject(obj.metadata) ? obj.metadata : {};
    obj.metadata = meta;
    const bodyNamespace = getString(meta, "namespace");
    if (info.namespaced) {
      const ns = namespace || bodyNamespace || "";
      if (namespace && bodyNamespace && bodyNamespace !== namespace)
        throw errors.badRequest(
          "the namespace of the provided object does not match the namespace sent on the request",
        );
      meta.namespace = ns;
      this.requireNamespace(info, ns, opts.trusted === true);
    } else {
      delete meta.namespace;
    }
    let name = getString(meta, "name") ?? "";
    const generateName = getString(meta, "generateName");
    if (!name && generateName) {
      name = `${generateName}${randomSuffix()}`;
      meta.name = name;
    }
    if (!name)
      throw errors.invalid(info.group, info.kind, "", [
        { field: "metadata.name", message: "Required value: name or generateName is required" },
      ]);
    if (name.length > 253 || !NAME_RE.test(name))
      throw errors.invalid(info.group, info.kind, name, [
        {
          field: "metadata.name",
          message: `Invalid value: "${name}": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.'`,
        },
      ]);
    if (!opts.trusted && getString(meta, "resourceVersion"))
      throw errors.badRequest("resourceVersion should not be set on objects to be created");
    const resource = storageKey(info);
    const key = objectKey(info.namespaced ? (getString(meta, "namespace") ?? "") : "", name);
    if (this.store.get(resource, key)) throw errors.alreadyExists(info.group, info.plural, name);

    delete meta.resourceVersion;
    delete meta.deletionTimestamp;
    delete meta.deletionGracePeriodSeconds;
    meta.uid =
      opts.trusted && getString(meta, "uid") ? (getString(meta, "uid") ?? randomUUID()) : randomUUID();
    meta.creationTimestamp =
      opts.trusted && getString(meta, "creationTimestamp")
        ? (getString(meta, "creationTimestamp") ?? "")
        : rfc3339(new Date());
    // Only kinds with a spec/status split track generation; ConfigMaps and the like do not.
    if (tracksGeneration(info)) meta.generation = 1;
    if (resource === "/secrets" && typeof obj.type !== "string") obj.type = "Opaque";
    if (info.statusSubresource && !opts.trusted && info.crdName !== undefined) delete obj.status;

    if (resource === "/namespaces") {
      obj.spec = { finalizers: ["kubernetes"] };
      obj.status = { phase: "Active" };
      meta.labels = { ...(getObject(meta, "labels") ?? {}), "kubernetes.io/metadata.name": name };
    }
    if (resource === `${CRD_GROUP}/customresourcedefinitions`) this.prepareCrd(obj);
    if (opts.dryRun) return obj;
    const stored = this.store.commit(resource, key, "ADDED", obj);
    if (resource === `${CRD_GROUP}/customresourcedefinitions`) this.serveCrd(stored);
    return stored;
  }

  /** PUT semantics; `input` is the whole new object (or, via status, the source of the new status). */
  update(
    info: ResourceInfo,
    namespace: string,
    name: string,
    input: unknown,
    opts: WriteOptions = {},
  ): KubeObject {
    if (!isObject(input)) throw errors.badRequest("the request body must be a JSON object");
    this.checkTypeMeta(info, input);
    const old = this.get(info, namespace, name);
    const bodyName = nameOf(input);
    if (bodyName && bodyName !== name)
      throw errors.badRequest(
        `the name of the object (${bodyName}) does not match the name on the URL (${name})`,
      );
    const rv = getString(metadataOf(input), "resourceVersion");
    if (!rv && !opts.trusted)
      throw errors.invalid(info.group, info.kind, name, [
        { field: "metadata.resourceVersion", message: "Invalid value: 0: must be specified for an update" },
      ]);
    if (rv && rv !== getString(metadataOf(old), "resourceVersion"))
      throw errors.conflict(
        info.group,
        info.plural,
        name,
        "the object has been modified; please apply your changes to the latest version and try again",
      );
    return this.replace(info, old, clone(input), opts);
  }

  patch(
    info: ResourceInfo,
    namespace: string,
    name: string,
    type: PatchType,
    body: unknown,
    opts: WriteOptions & { version?: string } = {},
  ): KubeObject {
    let old: KubeObject;
    try {
      old = this.get(info, namespace, name);
    } catch (err) {
      // Server-side apply creates what does not exist yet.
      if (type === "apply" && err instanceof ApiError && err.code === 404 && !opts.subresource) {
        if (isObject(body)) {
          const meta = metadataOf(body);
          if (!getString(meta, "name")) body.metadata = { ...meta, name };
        }
        return this.create(info, namespace, body, opts);
      }
      throw err;
    }
    const current = this.present(info, opts.version ?? info.versions[0] ?? "v1", old);
    let patched: JsonValue;
    try {
      switch (type) {
        case "json":
          patched = jsonPatch(current, parseJsonPatch(body));
          break;
        case "merge":
        case "apply":
          if (!isObject(body)) throw errors.badRequest("a merge patch must be a JSON object");
          patched = mergePatch(current, body);
          break;
        case "strategic":
          if (!isObject(body)) throw errors.badRequest("a strategic merge patch must be a JSON object");
          patched = strategicMergePatch(current, body);
          break;
      }
    } catch (err) {
      if (err instanceof PatchError)
        throw new ApiError(
          422,
          "Invalid",
          `the server rejected our request due to an error in our request: ${err.message}`,
        );
      if (err instanceof TypeError) throw errors.badRequest(err.message);
      throw err;
    }
    if (!isObject(patched)) throw errors.badRequest("the patch did not produce an object");
    this.checkTypeMeta(info, patched);
    const patchedName = nameOf(patched);
    if (patchedName !== name)
      throw errors.badRequest(
        `the name of the object (${patchedName}) does not match the name on the URL (${name})`,
      );
    const rv = getString(metadataOf(patched), "resourceVersion");
    if (rv && rv !== getString(metadataOf(old), "resourceVersion"))
      throw errors.conflict(
        info.group,
        info.plural,
        name,
        "the object has been modified; please apply your changes to the latest version and try again",
      );
    return this.replace(info, old, patched, opts);
  }

  /** Shared tail of update and patch: keep what clients may not change, then commit if anything did. */
  private replace(info: ResourceInfo, old: KubeObject, incoming: JsonObject, opts: WriteOptions): KubeObject {
    const resource = storageKey(info);
    const oldMeta = metadataOf(old);
    let next: JsonObject;
    if (opts.subresource === "status") {
      next = { ...old, metadata: { ...oldMeta } };
      if (Object.hasOwn(incoming, "status")) next.status = incoming.status ?? null;
      else delete next.status;
      if (next.status === null) delete next.status;
    } else {
      next = incoming;
      next.apiVersion = old.apiVersion ?? next.apiVersion ?? null;
      next.kind = info.kind;
      // A fresh metadata map: patches share untouched subtrees with the stored object.
      const meta: JsonObject = isObject(next.metadata) ? { ...next.metadata } : {};
      next.metadata = meta;
      for (const k of [
        "uid",
        "creationTimestamp",
        "namespace",
        "name",
        "deletionTimestamp",
        "deletionGracePeriodSeconds",
      ]) {
        if (Object.hasOwn(oldMeta, k)) meta[k] = oldMeta[k] ?? null;
        else Reflect.deleteProperty(meta, k);
      }
      if (Object.hasOwn(oldMeta, "generation")) meta.generation = oldMeta.generation ?? 1;
      else delete meta.generation;
      if (info.statusSubresource && !opts.trusted) {
        if (Object.hasOwn(old, "status")) next.status = old.status ?? null;
        else delete next.status;
      }
    }
    const meta = metadataOf(next);
    meta.resourceVersion = oldMeta.resourceVersion ?? null;
    if (resource === `${CRD_GROUP}/customresourcedefinitions`) this.prepareCrd(next, old);
    if (deepEqual(next, old)) return old;
    if (tracksGeneration(info) && specChanged(old, next, info.statusSubresource))
      meta.generation = Number(oldMeta.generation ?? 1) + 1;
    if (opts.dryRun) return next;
    const key = objectKey(namespaceOf(old), nameOf(old));
    const finalizers = meta.finalizers;
    if (meta.deletionTimestamp && (!Array.isArray(finalizers) || finalizers.length === 0)) {
      return this.remove(info, key, next, old);
    }
    const stored = this.store.commit(resource, key, "MODIFIED", next);
    if (resource === `${CRD_GROUP}/customresourcedefinitions`) this.serveCrd(stored);
    return stored;
  }

  delete(info: ResourceInfo, namespace: string, name: string, opts: DeleteOptions = {}): KubeObject {
    const old = this.get(info, namespace, name);
    const meta = metadataOf(old);
    const pre = opts.preconditions;
    if (pre?.uid && pre.uid !== meta.uid)
      throw errors.conflict(
        info.group,
        info.plural,
        name,
        `Precondition failed: UID in precondition: ${pre.uid}, UID in object meta: ${getString(meta, "uid") ?? ""}`,
      );
    if (pre?.resourceVersion && pre.resourceVersion !== meta.resourceVersion)
      throw errors.conflict(
        info.group,
        info.plural,
        name,
        `Precondition failed: ResourceVersion in precondition: ${pre.resourceVersion}, ResourceVersion in object meta: ${getString(meta, "resourceVersion") ?? ""}`,
      );
    const key = objectKey(namespaceOf(old), nameOf(old));
    const finalizers = meta.finalizers;
    if (Array.isArray(finalizers) && finalizers.length > 0) {
      // Finalizers hold the object back: it only gains a deletionTimestamp, as in a cluster.
      if (meta.deletionTimestamp) return old;
      const next: KubeObject = {
        ...old,
        metadata: { ...meta, deletionTimestamp: rfc3339(new Date()), deletionGracePeriodSeconds: 0 },
      };
      if (opts.dryRun) return next;
      return this.store.commit(storageKey(info), key, "MODIFIED", next);
    }
    const final: KubeObject = { ...old, metadata: { ...meta } };
    if (opts.dryRun) return final;
    return this.remove(info, key, final, old);
  }

  private remove(info: ResourceInfo, key: string, final: KubeObject, old: KubeObject): KubeObject {
    const resource = storageKey(info);
    if (resource === "/namespaces") {
      // The namespace controller's job, done at once: everything inside goes first.
      const ns = nameOf(old);
      for (const r of this.registry.all()) {
        if (!r.namespaced) continue;
        for (const e of this.store.entries(storageKey(r), ns)) {
          this.store.commit(storageKey(r), e.key, "DELETED", e.value.obj);
        }
      }
    }
    const deleted = this.store.commit(resource, key, "DELETED", final);
    if (resource === `${CRD_GROUP}/customresourcedefinitions`) this.unserveCrd(old);
    return deleted;
  }

  deleteCollection(
    info: ResourceInfo,
    namespace: string,
    selector: Selector,
    opts: DeleteOptions = {},
  ): KubeObject[] {
    const out: KubeObject[] = [];
    for (const obj of this.list(info, namespace, selector)) {
      out.push(this.delete(info, namespaceOf(obj), nameOf(obj), { dryRun: opts.dryRun ?? false }));
    }
    return out;
  }

  private prepareCrd(crd: JsonObject, old?: KubeObject): void {
    const { info, problems } = resourceFromCrd(crd);
    if (!info) throw errors.invalid(CRD_GROUP, "CustomResourceDefinition", nameOf(crd), problems);
    if (old) {
      const oldInfo = resourceFromCrd(old).info;
      if (oldInfo && (oldInfo.group !== info.group || oldInfo.plural !== info.plural))
        throw errors.invalid(CRD_GROUP, "CustomResourceDefinition", nameOf(crd), [
          { field: "spec.names.plural", message: "field is immutable" },
        ]);
    }
    const spec = getObject(crd, "spec") ?? {};
    const versions = Array.isArray(spec.versions) ? spec.versions.filter(isObject) : [];
    const storageVersion = versions.find((v) => v.storage === true);
    const then = old ? getObject(old, "status") : undefined;
    const since = (type: string): string => {
      const conds = then?.conditions;
      if (Array.isArray(conds))
        for (const c of conds)
          if (isObject(c) && c.type === type && typeof c.lastTransitionTime === "string")
            return c.lastTransitionTime;
      return rfc3339(new Date());
    };
    crd.status = {
      conditions: [
        {
          type: "NamesAccepted",
          status: "True",
          reason: "NoConflicts",
          message: "no conflicts found",
          lastTransitionTime: since("NamesAccepted"),
        },
        {
          type: "Established",
          status: "True",
          reason: "InitialNamesAccepted",
          message: "the initial names have been accepted",
          lastTransitionTime: since("Established"),
        },
      ],
      acceptedNames: clone(getObject(spec, "names") ?? {}),
      storedVersions: [getString(storageVersion, "name") ?? ""],
    };
  }

  private serveCrd(crd: KubeObject): void {
    const { info } = resourceFromCrd(crd);
    if (info) this.registry.add(info);
  }

  private unserveCrd(crd: KubeObject): void {
    const { info } = resourceFromCrd(crd);
    if (!info) return;
    const resource = storageKey(info);
    for (const e of this.store.entries(resource)) {
      this.store.commit(resource, e.key, "DELETED", e.value.obj);
    }
    this.registry.remove(info.group, info.plural);
    this.store.dropResource(resource);
    this.onResourceRemoved(info);
  }
}

function tracksGeneration(info: ResourceInfo): boolean {
  return info.crdName !== undefined || info.plural === "customresourcedefinitions" || info.plural === "pods";
}

function specChanged(old: KubeObject, next: KubeObject, statusSubresource: boolean): boolean {
  const keys = new Set([...Object.keys(old), ...Object.keys(next)]);
  for (const k of keys) {
    if (k === "metadata" || k === "apiVersion" || k === "kind") continue;
    if (k === "status" && statusSubresource) continue;
    if (!deepEqual(old[k], next[k])) return true;
  }
  return false;
}

function randomSuffix(): string {
  const alphabet = "bcdfghjklmnpqrstvwxz2456789";
  let s = "";
  for (let i = 0; i < 5; i++) s += alphabet[Math.floor(Math.random() * alphabet.length)] ?? "x";
  return s;
}
