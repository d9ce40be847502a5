/** Naming rules of SPEC §2, shared by validation and evaluation. */

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

export interface GroupVersion {
  group: string;
  version: string;
}

/** `core.kubestash.com/v1alpha1` → group + version; `v1` → the core (empty) group. */
export function parseApiVersion(apiVersion: string): GroupVersion | undefined {
  const parts = apiVersion.split("/");
  if (parts.length === 1 && parts[0]) return { group: "", version: parts[0] };
  if (parts.length === 2 && parts[0] && parts[1]) return { group: parts[0], version: parts[1] };
  return undefined;
}

/** The family-name prefix of a group: every character outside [a-zA-Z0-9_] becomes `_`. */
export function groupPrefix(group: string): string {
  return group === "" ? "core" : group.replace(/[^a-zA-Z0-9_]/g, "_");
}

/** `core.kubestash.com` + `BackupSession` + `phase` → `core_kubestash_com_backupsession_phase`. */
export function familyName(group: string, kind: string, metric: string): string {
  return `${groupPrefix(group)}_${kind.toLowerCase()}_${metric}`;
}

export function isValidMetricName(name: string): boolean {
  return METRIC_NAME.test(name);
}

/** Label names must match [a-zA-Z_][a-zA-Z0-9_]* and must not use the reserved `__` prefix. */
export function labelNameProblem(key: string): string | undefined {
  if (!LABEL_NAME.test(key)) return `label name "${key}" must match [a-zA-Z_][a-zA-Z0-9_]*`;
  if (key.startsWith("__")) return `label name "${key}" must not start with "__" (reserved by Prometheus)`;
  return undefined;
}

/** The identity label naming the object itself: `backupsession` for kind BackupSession. */
export function objectLabelName(kind: string): string {
  return kind.toLowerCase();
}
