import { readdir, readFile, stat } from "node:fs/promises";
import { extname, join } from "node:path";
import { parseAllDocuments } from "yaml";
import { isObject, type KubeObject } from "./types.js";

const MANIFEST_EXTENSIONS = new Set([".yaml", ".yml", ".json"]);

/** A manifest file or directory that cannot be read as Kubernetes objects. */
export class SeedError extends Error {
  override name = "SeedError";
}

async function manifestFiles(path: string): Promise<string[]> {
  let info;
  try {
    info = await stat(path);
  } catch {
    throw new SeedError(`${path}: no such file or directory`);
  }
  if (!info.isDirectory()) return [path];
  const out: string[] = [];
  const entries = (await readdir(path, { withFileTypes: true })).sort((a, b) =>
    a.name < b.name ? -1 : a.name > b.name ? 1 : 0,
  );
  for (const e of entries) {
    const child = join(path, e.name);
    if (e.isDirectory()) out.push(...(await manifestFiles(child)));
    else if (MANIFEST_EXTENSIONS.has(extname(e.name).toLowerCase())) out.push(child);
  }
  return out;
}

/** Flatten `kind: List` (and any `*List` with items) into its members. */
export function expandLists(value: unknown, source: string): KubeObject[] {
  if (value === null || value === undefined) return [];
  if (!isObject(value)) throw new SeedError(`${source}: a manifest must be an object`);
  const kind = value.kind;
  if (typeof kind === "string" && kind.endsWith("List") && Array.isArray(value.items))
    return value.items.flatMap((item, i) => expandLists(item, `${source} items[${i}]`));
  if (typeof kind !== "string" || typeof value.apiVersion !== "string")
    throw new SeedError(`${source}: apiVersion and kind are required`);
  return [value];
}

/** Parse one manifest text: multi-document YAML, or JSON (which YAML reads too). */
export function parseManifests(text: string, source: string): KubeObject[] {
  const out: KubeObject[] = [];
  parseAllDocuments(text).forEach((doc, i) => {
    if (doc.errors.length > 0)
      throw new SeedError(`${source} (document ${i + 1}): ${doc.errors[0]?.message ?? "invalid YAML"}`);
    out.push(...expandLists(doc.toJS() as unknown, `${source} (document ${i + 1})`));
  });
  return out;
}

export async function loadSeedFiles(paths: string[]): Promise<KubeObject[]> {
  const out: KubeObject[] = [];
  for (const p of paths) {
    for (const file of await manifestFiles(p))
      out.push(...parseManifests(await readFile(file, "utf8"), file));
  }
  return out;
}

function rank(obj: KubeObject): number {
  if (obj.kind === "CustomResourceDefinition") return 0;
  if (obj.kind === "Namespace" && obj.apiVersion === "v1") return 1;
  return 2;
}

/** CRDs before anything they serve, namespaces before what lives in them; stable otherwise. */
export function orderForSeeding(objects: Iterable<KubeObject>): KubeObject[] {
  return [...objects]
    .map((o, i) => ({ o, i }))
    .sort((a, b) => rank(a.o) - rank(b.o) || a.i - b.i)
    .map((x) => x.o);
}
