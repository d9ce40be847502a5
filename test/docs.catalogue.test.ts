import { describe, expect, it } from "@jest/globals";
import { readFileSync } from "node:fs";
import { join } from "node:path";

/**
 * docs/kubestash.md is checked against the output, the way kube-state-metrics checks its docs:
 * every family and label the examples render must be documented, and nothing documented may be
 * missing from the output.
 */

const ROOT = join(import.meta.dirname, "..");
const doc = readFileSync(join(ROOT, "docs", "kubestash.md"), "utf8");
const golden = readFileSync(join(ROOT, "test", "golden", "kubestash.prom"), "utf8");

interface Documented {
  labels: Set<string>;
}

function documentedFamilies(): Map<string, Documented> {
  const out = new Map<string, Documented>();
  const sections = doc.split(/^## /m).slice(1);
  for (const section of sections) {
    const prefix = /prefix `([a-z_]+_)`/.exec(section)?.[1];
    if (!prefix) continue;
    // Parenthesised notes name sources and values, not labels.
    const commonLine = (/^Common labels: (.*)$/m.exec(section)?.[1] ?? "").replace(/\([^)]*\)/g, "");
    const common = [...commonLine.matchAll(/`([a-zA-Z_]+)`/g)].map((m) => m[1]!);
    for (const row of section.matchAll(/^\| `([a-z_]+)` \|([^|]*)\|/gm)) {
      const extra = [...row[2]!.matchAll(/`([a-zA-Z_]+)`/g)].map((m) => m[1]!);
      out.set(`${prefix}${row[1]!}`, { labels: new Set([...common, ...extra]) });
    }
  }
  return out;
}

function renderedFamilies(): Map<string, Set<string>> {
  const out = new Map<string, Set<string>>();
  for (const line of golden.split("\n")) {
    const m = /^([a-z_]+)\{(.*)\} /.exec(line);
    if (!m) continue;
    const keys = [...m[2]!.matchAll(/([a-zA-Z_]+)="(?:[^"\\]|\\.)*"/g)].map((k) => k[1]!);
    const set = out.get(m[1]!) ?? new Set<string>();
    for (const k of keys) set.add(k);
    out.set(m[1]!, set);
  }
  return out;
}

describe("docs/kubestash.md", () => {
  const documented = documentedFamilies();
  const rendered = renderedFamilies();

  it("documents exactly the families the examples render", () => {
    expect(rendered.size).toBe(36);
    expect([...documented.keys()].sort()).toEqual([...rendered.keys()].sort());
  });

  it("documents exactly the labels each family carries", () => {
    for (const [family, labels] of rendered) {
      const doc = documented.get(family);
      expect({ family, labels: [...(doc?.labels ?? [])].sort() }).toEqual({
        family,
        labels: [...labels].sort(),
      });
    }
  });
});
