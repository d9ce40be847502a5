import { describe, expect, it } from "@jest/globals";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { cli, ROOT } from "./support/cli.js";

const NO_STACK = /\n\s+at .+\(.*:\d+:\d+\)/;

describe("render", () => {
  it("prints the golden catalogue for our configurations and examples", () => {
    const r = cli(["render", "-c", "metricsconfigurations/kubestash", "-f", "examples/kubestash"]);
    expect(r.status).toBe(0);
    expect(r.stdout).toBe(readFileSync(join(ROOT, "test/golden/kubestash.prom"), "utf8"));
    // The one row that cannot convert (a repository with no size yet) is reported, not fatal.
    expect(r.stderr).toMatch(/metric "repository_size_bytes".*bytes\(\)/);
  });

  it("prints OpenMetrics with --format openmetrics", () => {
    const r = cli([
      "render",
      "-c",
      "metricsconfigurations/kubestash",
      "-f",
      "examples/kubestash",
      "--format",
      "openmetrics",
    ]);
    expect(r.status).toBe(0);
    expect(r.stdout).toBe(readFileSync(join(ROOT, "test/golden/kubestash.om.txt"), "utf8"));
  });

  it("takes flags from CSM_ environment variables", () => {
    const r = cli(["render"], {
      CSM_CONFIG: "metricsconfigurations/kubestash",
      CSM_FILE: "examples/kubestash",
      CSM_FORMAT: "openmetrics",
    });
    expect(r.status).toBe(0);
    expect(r.stdout.endsWith("# EOF\n")).toBe(true);
  });

  it("renders the valid metrics of a broken configuration and exits 2", () => {
    const r = cli(["render", "-c", "test/fixtures/broken/bad-metrics.yaml", "-f", "examples/kubestash"]);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/configuration "broken": metric "bad_expression"/);
  });

  it.each([
    [["render", "-c", "no/such/dir", "-f", "examples/kubestash"], /no\/such\/dir: no such file or directory/],
    [
      ["render", "-c", "test/fixtures/broken/not-yaml.yaml", "-f", "examples"],
      /not-yaml\.yaml: invalid YAML/,
    ],
    [["render", "-c", "metricsconfigurations", "-f", "examples", "--format", "json"], /--format must be/],
    [["render", "-f", "examples"], /required option/],
  ])("exits 2 with a clear message and no stack trace for %p", (args, message) => {
    const r = cli(args);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(message);
    expect(r.stderr).not.toMatch(NO_STACK);
  });
});

describe("lint", () => {
  it("accepts the shipped packs with no error", () => {
    const r = cli(["lint", "-c", "metricsconfigurations"]);
    expect(r.stdout).toMatch(/10 configuration\(s\), 44 valid metric\(s\): 0 error\(s\), 0 warning\(s\)/);
    expect(r.status).toBe(0);
  });

  it("names each broken metric precisely and exits 2", () => {
    const r = cli(["lint", "-c", "test/fixtures/broken/bad-metrics.yaml"]);
    expect(r.status).toBe(2);
    expect(r.stdout).toContain(
      'error: test/fixtures/broken/bad-metrics.yaml: configuration "broken": metric "bad_expression": spec.metrics[1].metricValue.valueFromExpression: invalid expression "byts(size)": unknown function',
    );
    expect(r.stdout).toContain(
      'error: test/fixtures/broken/bad-metrics.yaml: configuration "broken": metric "bad-name": spec.metrics[2].name: family name "example_com_widget_bad-name" must match',
    );
    expect(r.stdout).toMatch(/1 configuration\(s\), 1 valid metric\(s\): 2 error\(s\)/);
  });

  it("exits 2 on unreadable input without a stack trace", () => {
    const r = cli(["lint", "-c", "test/fixtures/broken/not-yaml.yaml"]);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/invalid YAML at line \d/);
    expect(r.stderr).not.toMatch(NO_STACK);
  });
});

describe("help", () => {
  it.each([[[]], [["render"]], [["lint"]]])("prints usage for %p --help and exits 0", (args) => {
    const r = cli([...args, "--help"]);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^Usage: crd-state-metrics/);
  });

  it("rejects an unknown command with exit 2", () => {
    const r = cli(["bogus"]);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/unknown command/);
  });
});
