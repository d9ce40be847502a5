import type { CompiledConfiguration } from "../config/compiled.js";
import type { Manifest } from "../config/manifests.js";
import { GROUP } from "../config/types.js";

/**
 * The least-privilege ClusterRole for a set of MetricsConfigurations: what the exporter itself
 * always needs (CRDs, MetricsConfigurations and their status, Events) plus list/watch on every
 * target resource. The output is deterministic so that a committed copy can be checked for drift.
 */

export interface PolicyRule {
  apiGroups: string[];
  resources: string[];
  verbs: string[];
}

export interface ClusterRole {
  apiVersion: "rbac.authorization.k8s.io/v1";
  kind: "ClusterRole";
  metadata: { name: string; labels: Record<string, string> };
  rules: PolicyRule[];
}

/** A (group, kind) → plural mapping read from CustomResourceDefinitions. */
export type PluralTable = ReadonlyMap<string, string>;

function tableKey(group: string, kind: string): string {
  return `${group}/${kind}`;
}

/** Built-in kinds whose resource name the English rules below would get wrong. */
const IRREGULAR: Readonly<Record<string, string>> = {
  "/Endpoints": "endpoints",
  "/ComponentStatus": "componentstatuses",
  "metrics.k8s.io/PodMetrics": "pods",
  "metrics.k8s.io/NodeMetrics": "nodes",
};

/**
 * Guess a resource's plural from its kind the way CRD generators do for ordinary English nouns:
 * lowercase, then `-s/-x/-z/-ch/-sh` take `es`, a consonant followed by `y` becomes `ies`, anything
 * else takes `s`. Real plurals can differ (a CRD may name any plural), hence `--crds`.
 */
export function guessPlural(kind: string): string {
  const k = kind.toLowerCase();
  if (/(s|x|z|ch|sh)$/.test(k)) return `${k}es`;
  if (/[^aeiou]y$/.test(k)) return `${k.slice(0, -1)}ies`;
  return `${k}s`;
}

export function pluralFor(group: string, kind: string, crds: PluralTable): string {
  return crds.get(tableKey(group, kind)) ?? IRREGULAR[tableKey(group, kind)] ?? guessPlural(kind);
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/**
 * Collect (group, kind) → plural from CustomResourceDefinition manifests; other documents are
 * ignored. Returns problems (a CRD without group, kind or plural) instead of throwing.
 */
export function pluralsFromCrds(manifests: readonly Manifest[]): {
  table: Map<string, string>;
  problems: string[];
} {
  const table = new Map<string, string>();
  const problems: string[] = [];
  for (const m of manifests) {
    const v = m.value;
    if (!isRecord(v) || v.kind !== "CustomResourceDefinition") continue;
    const spec = isRecord(v.spec) ? v.spec : {};
    const names = isRecord(spec.names) ? spec.names : {};
    const { group } = spec;
    const { kind, plural } = names;
    if (
      typeof group !== "string" ||
      typeof kind !== "string" ||
      typeof plural !== "string" ||
      plural === ""
    ) {
      problems.push(
        `${m.file}: document ${m.document}: CustomResourceDefinition without spec.group, spec.names.kind and spec.names.plural`,
      );
      continue;
    }
    table.set(tableKey(group, kind), plural);
  }
  return { table, problems };
}

/** The rules the exporter needs whatever it is configured to watch. */
function baseRules(): PolicyRule[] {
  return [
    {
      apiGroups: ["apiextensions.k8s.io"],
      resources: ["customresourcedefinitions"],
      verbs: ["list", "watch"],
    },
    { apiGroups: [GROUP], resources: ["metricsconfigurations"], verbs: ["list", "watch"] },
    { apiGroups: [GROUP], resources: ["metricsconfigurations/status"], verbs: ["patch"] },
    { apiGroups: [""], resources: ["events"], verbs: ["create"] },
  ];
}

/** `serve --auth kubernetes` reviews each scraper's token and permission through the API. */
function delegatedAuthRules(): PolicyRule[] {
  return [
    { apiGroups: ["authentication.k8s.io"], resources: ["tokenreviews"], verbs: ["create"] },
    { apiGroups: ["authorization.k8s.io"], resources: ["subjectaccessreviews"], verbs: ["create"] },
  ];
}

export interface RuleOptions {
  /** Only list/watch on the targets, to be bound next to the exporter's own role. */
  targetsOnly?: boolean;
  /** Add what `serve --auth kubernetes` needs (TokenReview and SubjectAccessReview create). */
  delegatedAuth?: boolean;
}

const compare = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/**
 * Build the rules: the exporter's own, then list/watch per target API group (groups and resources
 * sorted; the core group is ""). A target in a group the base rules already cover with the same
 * verbs is merged into that rule.
 */
export function buildRules(
  configurations: readonly CompiledConfiguration[],
  crds: PluralTable,
  options: RuleOptions = {},
): PolicyRule[] {
  const byGroup = new Map<string, Set<string>>();
  for (const c of configurations) {
    if (c.target === undefined) continue;
    const { group, kind } = c.target;
    const set = byGroup.get(group) ?? new Set<string>();
    set.add(pluralFor(group, kind, crds));
    byGroup.set(group, set);
  }
  const rules = options.targetsOnly === true ? [] : baseRules();
  if (options.targetsOnly !== true && options.delegatedAuth === true) rules.push(...delegatedAuthRules());
  for (const group of [...byGroup.keys()].sort(compare)) {
    const resources = [...(byGroup.get(group) ?? [])];
    const same = rules.find(
      (r) => r.apiGroups[0] === group && r.verbs.join() === "list,watch" && r.apiGroups.length === 1,
    );
    if (same) {
      same.resources = [...new Set([...same.resources, ...resources])].sort(compare);
    } else {
      rules.push({ apiGroups: [group], resources: resources.sort(compare), verbs: ["list", "watch"] });
    }
  }
  return rules;
}

export function buildClusterRole(
  name: string,
  configurations: readonly CompiledConfiguration[],
  crds: PluralTable,
  options: RuleOptions = {},
): ClusterRole {
  return {
    apiVersion: "rbac.authorization.k8s.io/v1",
    kind: "ClusterRole",
    metadata: { name, labels: { "app.kubernetes.io/name": "crd-state-metrics" } },
    rules: buildRules(configurations, crds, options),
  };
}

function scalar(s: string): string {
  return /^[a-z0-9][a-z0-9./-]*$/i.test(s) ? s : JSON.stringify(s);
}

function flow(values: readonly string[]): string {
  return `[${values.map(scalar).join(", ")}]`;
}

/** The role as YAML, each rule's lists in flow style (`verbs: [list, watch]`), after a comment header. */
export function clusterRoleYaml(role: ClusterRole, header: string): string {
  const lines = [
    `apiVersion: ${role.apiVersion}`,
    `kind: ${role.kind}`,
    "metadata:",
    `  name: ${scalar(role.metadata.name)}`,
    "  labels:",
    ...Object.entries(role.metadata.labels).map(([k, v]) => `    ${scalar(k)}: ${scalar(v)}`),
    "rules:",
    ...role.rules.flatMap((r) => [
      `  - apiGroups: ${flow(r.apiGroups)}`,
      `    resources: ${flow(r.resources)}`,
      `    verbs: ${flow(r.verbs)}`,
    ]),
  ];
  return `${header}${lines.join("\n")}\n`;
}
