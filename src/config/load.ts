import { compileConfiguration } from "./compile.js";
import type { CompiledConfiguration } from "./compiled.js";
import { loadManifests, type Manifest } from "./manifests.js";
import { API_VERSION, KIND, type Diagnostic } from "./types.js";

export interface LoadedConfigurations {
  configurations: CompiledConfiguration[];
  /** Problems outside any one configuration's fields: stray documents, duplicate names. */
  diagnostics: Diagnostic[];
}

function isMetricsConfiguration(v: unknown): boolean {
  if (typeof v !== "object" || v === null) return false;
  const { apiVersion, kind } = v as { apiVersion?: unknown; kind?: unknown };
  return kind === KIND || apiVersion === API_VERSION;
}

/** Compile every MetricsConfiguration among already-read manifests. */
export function compileManifests(manifests: readonly Manifest[]): LoadedConfigurations {
  const configurations: CompiledConfiguration[] = [];
  const diagnostics: Diagnostic[] = [];
  const byName = new Map<string, string>();
  for (const m of manifests) {
    if (!isMetricsConfiguration(m.value)) {
      const kind = (m.value as { kind?: unknown } | null)?.kind;
      diagnostics.push({
        severity: "warning",
        file: m.file,
        configuration: `${m.file}#${m.document}`,
        field: "kind",
        message: `document ${m.document} is ${typeof kind === "string" ? `a ${kind}` : "not a Kubernetes object"}, not a ${KIND}; ignored`,
      });
      continue;
    }
    const c = compileConfiguration(m.value, { file: m.file, document: m.document });
    const first = byName.get(c.name);
    if (first !== undefined) {
      diagnostics.push({
        severity: "error",
        file: m.file,
        configuration: c.name,
        field: "metadata.name",
        message: `a configuration with this name was already loaded from ${first}; this one is ignored`,
      });
      continue;
    }
    byName.set(c.name, m.file);
    configurations.push(c);
  }
  return { configurations, diagnostics };
}

/** Load configurations from files and directories (multi-document YAML/JSON, `kind: List`). */
export async function loadConfigurations(paths: readonly string[]): Promise<LoadedConfigurations> {
  return compileManifests(await loadManifests(paths));
}
