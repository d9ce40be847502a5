/**
 * Which target kinds MetricsConfigurations may name (docs/security.md, "Denied and allowed
 * kinds"). Whoever can create a MetricsConfiguration can read, through /metrics, any field of any
 * object the exporter can read; the policy keeps some kinds out of reach whatever RBAC allows.
 *
 * Syntax of `--deny-kinds` / `--allow-kinds` entries (comma-separated, repeatable):
 * - `Kind`          that kind in any API group (`Secret`, `BackupSession`);
 * - `group/Kind`    that kind in that group only; the core group is written `core`
 *                   (`core/Secret`, `core.kubestash.com/BackupSession`);
 * - `group/*`       every kind of the group.
 * Kinds match case-insensitively, groups exactly.
 *
 * Rules: core `Secret` is always denied unless `--allow-kinds` names it explicitly (`Secret` or
 * `core/Secret`; `core/*` does not count); `--deny-kinds` adds to the denied set and wins over
 * `--allow-kinds`; a non-empty `--allow-kinds` refuses every kind it does not match.
 */

export interface KindRule {
  /** Undefined: any group. "" is the core group. */
  readonly group: string | undefined;
  /** Lowercased; undefined: any kind of the group. */
  readonly kind: string | undefined;
  readonly text: string;
}

export class KindSyntaxError extends Error {}

export function parseKindRule(text: string): KindRule {
  const t = text.trim();
  const slash = t.lastIndexOf("/");
  const groupPart = slash === -1 ? undefined : t.slice(0, slash);
  const kindPart = slash === -1 ? t : t.slice(slash + 1);
  if (kindPart === "" || (groupPart !== undefined && groupPart === "")) {
    throw new KindSyntaxError(`"${text}": expected Kind, group/Kind or group/* (the core group is "core")`);
  }
  if (kindPart !== "*" && !/^[A-Za-z][A-Za-z0-9]*$/.test(kindPart)) {
    throw new KindSyntaxError(`"${text}": "${kindPart}" is not a kind name`);
  }
  if (groupPart !== undefined && !/^[a-z0-9]([a-z0-9.-]*[a-z0-9])?$/.test(groupPart)) {
    throw new KindSyntaxError(`"${text}": "${groupPart}" is not an API group name`);
  }
  if (groupPart === undefined && kindPart === "*") {
    throw new KindSyntaxError(`"${text}": a wildcard needs a group (group/*)`);
  }
  return {
    group: groupPart === undefined ? undefined : groupPart === "core" ? "" : groupPart,
    kind: kindPart === "*" ? undefined : kindPart.toLowerCase(),
    text: t,
  };
}

function matches(rule: KindRule, group: string, kind: string): boolean {
  return (
    (rule.group === undefined || rule.group === group) &&
    (rule.kind === undefined || rule.kind === kind.toLowerCase())
  );
}

function isSecret(group: string, kind: string): boolean {
  return group === "" && kind.toLowerCase() === "secret";
}

export interface KindDecision {
  allowed: boolean;
  /** Why a kind is refused, for the configuration's Invalid condition. */
  message?: string;
}

export class KindPolicy {
  private readonly deny: readonly KindRule[];
  private readonly allow: readonly KindRule[];

  constructor(options: { deny?: readonly string[]; allow?: readonly string[] } = {}) {
    this.deny = (options.deny ?? []).filter((s) => s.trim() !== "").map(parseKindRule);
    this.allow = (options.allow ?? []).filter((s) => s.trim() !== "").map(parseKindRule);
  }

  decide(group: string, kind: string): KindDecision {
    const shown = group === "" ? `core/${kind}` : `${group}/${kind}`;
    const denied = this.deny.find((r) => matches(r, group, kind));
    if (denied) return { allowed: false, message: `${shown} is denied by --deny-kinds (${denied.text})` };
    if (isSecret(group, kind)) {
      const explicit = this.allow.some((r) => r.kind !== undefined && matches(r, group, kind));
      if (!explicit) {
        return {
          allowed: false,
          message: `${shown} is denied by default (its data would be readable through /metrics); name it in --allow-kinds to serve it`,
        };
      }
      return { allowed: true };
    }
    if (this.allow.length > 0 && !this.allow.some((r) => matches(r, group, kind))) {
      return { allowed: false, message: `${shown} is not in --allow-kinds` };
    }
    return { allowed: true };
  }
}
