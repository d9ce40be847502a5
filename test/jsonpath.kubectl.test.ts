/**
 * Our dialect against kubectl, the oracle of SPEC §4. kubectl's output was recorded by
 * scripts/record-jsonpath-cases.mjs into test/fixtures/jsonpath/kubectl-expected.json.
 *
 * Rules: where kubectl succeeds we print exactly what it prints (`unordered` cases iterate Go
 * maps, whose order kubectl randomises, so they compare as sorted words); where kubectl fails on
 * the data we yield nothing; cases we reject when loading the configuration carry `compileError`;
 * deliberate departures carry `intentionalDifference` and our own `expected` output (null for
 * none), and must really differ from kubectl so the note stays true.
 */
import { describe, expect, it } from "@jest/globals";
import { readFileSync } from "node:fs";
import { compilePath, formatResults, JsonPathError } from "../src/jsonpath/index.js";

interface Case {
  object: string;
  path: string;
  unordered?: boolean;
  compileError?: string;
  intentionalDifference?: string;
  expected?: string | null;
}

interface Recorded {
  object: string;
  path: string;
  exitCode: number;
  stdout: string;
  error?: string;
}

function load(name: string): unknown {
  return JSON.parse(readFileSync(new URL(`./fixtures/jsonpath/${name}`, import.meta.url), "utf8"));
}

const { objects, cases } = load("cases.json") as {
  objects: Record<string, unknown>;
  cases: Case[];
};
const recorded = load("kubectl-expected.json") as { kubectl: string; results: Recorded[] };

/** The object as kubectl evaluated it: `kubectl label ... x=y` adds that label first. */
function asKubectlSees(object: unknown): unknown {
  const copy = structuredClone(object) as { metadata: { labels?: Record<string, string> } };
  copy.metadata.labels = { ...copy.metadata.labels, x: "y" };
  return copy;
}

const words = (s: string) => s.split(" ").sort();

describe(`JSONPath dialect against kubectl ${recorded.kubectl}`, () => {
  it("has a recording for every case, in order", () => {
    expect(recorded.results.map((r) => [r.object, r.path])).toEqual(cases.map((c) => [c.object, c.path]));
    expect(cases.length).toBeGreaterThanOrEqual(60);
  });

  const rows = cases.map((c, i) => ({ c, k: recorded.results[i]!, name: `${c.object} ${c.path}` }));

  it.each(rows)("$name", ({ c, k }) => {
    if (c.compileError !== undefined) {
      expect(() => compilePath(c.path)).toThrow(JsonPathError);
      expect(() => compilePath(c.path)).toThrow(new RegExp(c.compileError));
      return;
    }
    const object = objects[c.object];
    expect(object).toBeDefined();
    const ours = formatResults(compilePath(c.path).evaluate(asKubectlSees(object)));
    if (c.intentionalDifference !== undefined) {
      expect(c.expected).toBeDefined();
      expect(ours ?? null).toEqual(c.expected);
      const kubectlSays = k.exitCode === 0 ? k.stdout : undefined;
      expect(ours).not.toEqual(kubectlSays);
      return;
    }
    if (k.exitCode !== 0) {
      expect([ours, k.error]).toEqual([undefined, k.error]);
    } else if (c.unordered === true) {
      expect(words(ours ?? "")).toEqual(words(k.stdout));
    } else {
      expect(ours ?? "").toBe(k.stdout);
    }
  });
});
