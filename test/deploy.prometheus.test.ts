/**
 * deploy/prometheus: the alerting rules pass `promtool check rules` and their unit tests
 * (deploy/prometheus/tests), the example configuration passes `promtool check config`, and the
 * PrometheusRule of the Operator component carries exactly the same groups.
 */
import { describe, expect, it } from "@jest/globals";
import { spawnSync } from "node:child_process";
import { mkdtemp, readdir, readFile, rm, writeFile, cp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parse, stringify } from "yaml";
import { ROOT } from "./support/cli.js";
import { hasPromtool, requireTool } from "./support/exposition-tools.js";

const DIR = join(ROOT, "deploy", "prometheus");
const enabled = requireTool(hasPromtool, "promtool");
const d = enabled ? describe : describe.skip;

function promtool(args: string[], cwd = DIR): { status: number | null; output: string } {
  const r = spawnSync("promtool", args, { cwd, encoding: "utf8", timeout: 120_000 });
  return { status: r.status, output: `${r.stdout}${r.stderr}` };
}

async function ruleFiles(): Promise<string[]> {
  return (await readdir(join(DIR, "rules"))).filter((f) => f.endsWith(".rules.yaml")).sort();
}

d("Prometheus rules and configuration", () => {
  it("promtool check rules accepts every rule file", async () => {
    const files = await ruleFiles();
    expect(files).toEqual(["crd-state-metrics.rules.yaml", "kubestash.rules.yaml"]);
    const r = promtool(["check", "rules", ...files.map((f) => join("rules", f))]);
    expect(r.output).not.toMatch(/FAILED/);
    expect(r.status).toBe(0);
  });

  it("every alert has a unit test, and promtool test rules passes", async () => {
    const tests = (await readdir(join(DIR, "tests"))).filter((f) => f.endsWith(".yaml")).sort();
    const tested = new Set<string>();
    for (const t of tests) {
      const doc = parse(await readFile(join(DIR, "tests", t), "utf8")) as {
        tests: { alert_rule_test?: { alertname: string; exp_alerts: unknown[] }[] }[];
      };
      for (const c of doc.tests)
        for (const a of c.alert_rule_test ?? []) if (a.exp_alerts.length > 0) tested.add(a.alertname);
    }
    const alerts: string[] = [];
    for (const f of await ruleFiles()) {
      const doc = parse(await readFile(join(DIR, "rules", f), "utf8")) as {
        groups: { rules: { alert?: string }[] }[];
      };
      for (const g of doc.groups) for (const r of g.rules) if (r.alert) alerts.push(r.alert);
    }
    expect(alerts.filter((a) => !tested.has(a))).toEqual([]);
    const r = promtool(["test", "rules", ...tests.map((t) => join("tests", t))]);
    expect(r.output).toMatch(/SUCCESS/);
    expect(r.output).not.toMatch(/FAILED/);
    expect(r.status).toBe(0);
  }, 120_000);

  it("the example prometheus.yml passes promtool check config", async () => {
    // Debian's Prometheus is built without Kubernetes service discovery, so the check runs on a
    // copy whose kubernetes_sd_configs is replaced by a static target; everything else is as shipped.
    const dir = await mkdtemp(join(tmpdir(), "csm-promcfg-"));
    try {
      await cp(join(DIR, "rules"), join(dir, "rules"), { recursive: true });
      const config = parse(await readFile(join(DIR, "prometheus.yml"), "utf8")) as {
        scrape_configs: Record<string, unknown>[];
      };
      const job = config.scrape_configs.find((j) => j.job_name === "crd-state-metrics")!;
      expect(job.honor_labels).toBe(true);
      expect(job.kubernetes_sd_configs).toBeDefined();
      delete job.kubernetes_sd_configs;
      job.static_configs = [{ targets: ["127.0.0.1:8080", "127.0.0.1:8081"] }];
      await writeFile(join(dir, "prometheus.yml"), stringify(config));
      const r = promtool(["check", "config", "prometheus.yml"], dir);
      expect(r.output).toMatch(/SUCCESS: 2 rule files found/);
      expect(r.status).toBe(0);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe("PrometheusRule for the Operator", () => {
  it("holds the same groups as the plain rule files", async () => {
    const groups: unknown[] = [];
    for (const f of await ruleFiles()) {
      groups.push(...(parse(await readFile(join(DIR, "rules", f), "utf8")) as { groups: unknown[] }).groups);
    }
    const file = join(ROOT, "deploy/kubernetes/components/prometheus-operator/prometheusrule.yaml");
    const rule = parse(await readFile(file, "utf8")) as { kind: string; spec: { groups: unknown[] } };
    expect(rule.kind).toBe("PrometheusRule");
    expect(rule.spec.groups).toEqual(groups);
  });
});
