import { readdir, readFile, stat } from "node:fs/promises";
import { extname, join } from "node:path";
import { parseAllDocuments } from "yaml";

/** One Kubernetes-style document read from disk, with where it came from. */
export interface Manifest {
  file: string;
  /** Index of the document (after expanding `kind: List`) within the file. */
  document: number;
  value: unknown;
}

export class ManifestError extends Error {
  constructor(
    message: string,
    readonly file: string,
  ) {
    super(message);
    this.name = "ManifestError";
  }
}

const MANIFEST_EXTENSIONS = new Set([".yaml", ".yml", ".json"]);

/** Expand files and directories (recursively, in name order) into manifest files. */
export async function listManifestFiles(paths: readonly string[]): Promise<string[]> {
  const out: string[] = [];
  for (const path of paths) {
    let info;
    try {
      info = await stat(path);
    } catch {
      throw new ManifestError("no such file or directory", path);
    }
    if (info.isDirectory()) {
      const entries = (await readdir(path, { withFileTypes: true })).sort((a, b) =>
        a.name < b.name ? -1 : a.name > b.name ? 1 : 0,
      );
      const nested: string[] = [];
      for (const entry of entries) {
        if (entry.name.startsWith(".")) continue;
        const full = join(path, entry.name);
        if (entry.isDirectory()) nested.push(full);
        else if (MANIFEST_EXTENSIONS.has(extname(entry.name).toLowerCase())) out.push(full);
      }
      out.push(...(await listManifestFiles(nested)));
    } else {
      out.push(path);
    }
  }
  return out;
}

function isList(value: unknown): value is { kind: string; items: unknown[] } {
  if (typeof value !== "object" || value === null) return false;
  const v = value as Record<string, unknown>;
  return typeof v.kind === "string" && v.kind.endsWith("List") && Array.isArray(v.items);
}

/**
 * Parse one file's text: multi-document YAML (JSON is YAML) and `kind: List` (or `<Kind>List`)
 * wrappers. Aliases are capped so a hostile file cannot expand without bound.
 */
export function parseManifests(text: string, file: string): Manifest[] {
  const docs = parseAllDocuments(text, { schema: "core", uniqueKeys: true, prettyErrors: true });
  const manifests: Manifest[] = [];
  const list = Array.isArray(docs) ? docs : [docs];
  let index = 0;
  for (const doc of list) {
    if (doc.errors.length > 0) {
      const first = doc.errors[0]!;
      const line = first.linePos?.[0].line;
      throw new ManifestError(
        `invalid YAML${line === undefined ? "" : ` at line ${line}`}: ${first.message.split("\n")[0] ?? ""}`,
        file,
      );
    }
    let value: unknown;
    try {
      value = doc.toJS({ maxAliasCount: 100 });
    } catch (err) {
      throw new ManifestError(`invalid YAML: ${err instanceof Error ? err.message : String(err)}`, file);
    }
    if (value === null || value === undefined) continue; // empty document (e.g. trailing `---`)
    if (isList(value)) {
      for (const item of value.items) manifests.push({ file, document: index++, value: item });
    } else {
      manifests.push({ file, document: index++, value });
    }
  }
  return manifests;
}

/** Read every manifest under the given files and directories, in a deterministic order. */
export async function loadManifests(paths: readonly string[]): Promise<Manifest[]> {
  const files = await listManifestFiles(paths);
  const out: Manifest[] = [];
  for (const file of files) {
    let text: string;
    try {
      text = await readFile(file, "utf8");
    } catch (err) {
      throw new ManifestError(`cannot read: ${err instanceof Error ? err.message : String(err)}`, file);
    }
    out.push(...parseManifests(text, file));
  }
  return out;
}
