/**
 * Our MetricsConfiguration CRD (structural, a superset of the upstream schema, accepting every
 * shipped and upstream configuration) and the `rbac` command that generates the ClusterRoles.
 */
import { describe, expect, it } from "@jest/globals";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parse, parseAllDocuments } from "yaml";
import { guessPlural } from "../src/rbac/clusterrole.js";
import { cli, ROOT } from "./support/cli.js";
import { nonStructural, validateAgainstCrd, type CrdSchema, type SchemaNode } from "./deploy.support.js";

const UPSTREAM = join(ROOT, "..", "shared", "reference", "upstream");
const upstreamPresent = existsSync(UPSTREAM);
const CRD_FILE = join(ROOT, "deploy/crds/metricsconfigurations.metrics.appscode.com.yaml");
const crd = parse(readFileSync(CRD_FILE, "utf8")) as CrdSchema & {
  spec: { versions: { subresources?: unknown; additionalPrinterColumns?: unknown[] }[] };
};

function docsIn(dir: string): { file: string; value: unknown }[] {
  return readdirSync(dir)
    .filter((f) => /\.ya?ml$/.test(f))
    .sort()
    .flatMap((f) =>
      parseAllDocuments(readFileSync(join(dir, f), "utf8"))
        .map((d) => ({ file: join(dir, f), value: d.toJS() as unknown }))
        .filter((d) => d.value !== null),
    );
}

/** Every property path of a schema with its type, enum and required list. */
function shape(node: SchemaNode, path = "", out = new Map<string, string>()): Map<string, string> {
  out.set(path || ".", JSON.stringify([node.type, node.enum ?? null, [...(node.required ?? [])].sort()]));
  for (const [k, v] of Object.entries(node.properties ?? {})) shape(v, `${path}.${k}`, out);
  if (node.items) shape(node.items, `${path}[]`, out);
  return out;
}

describe("MetricsConfiguration CRD", () => {
  const version = crd.spec.versions[0]!;
  const schema = version.schema.openAPIV3Schema;

  it("is structural, has a status subresource and printer columns", () => {
    expect(nonStructural(schema)).toEqual([]);
    expect(version.subresources).toEqual({ status: {} });
    expect(version.additionalPrinterColumns?.length).toBeGreaterThanOrEqual(4);
  });

  it("accepts every shipped configuration", () => {
    for (const pack of ["kubestash", "stash"]) {
      for (const { file, value } of docsIn(join(ROOT, "metricsconfigurations", pack))) {
        expect({ file, problems: validateAgainstCrd(crd, value) }).toEqual({ file, problems: [] });
      }
    }
  });

  (upstreamPresent ? it : it.skip)(
    "keeps the upstream spec schema: same fields, types, enums and required",
    () => {
      const upstream = docsIn(join(UPSTREAM, "crd"))[0]!.value as CrdSchema;
      const theirs = shape(upstream.spec.versions[0]!.schema.openAPIV3Schema.properties!.spec!, ".spec");
      const ours = shape(schema.properties!.spec!, ".spec");
      for (const [path, sig] of theirs) expect({ path, sig: ours.get(path) }).toEqual({ path, sig });
      // Nothing added to spec either: upstream objects and ours are interchangeable.
      expect([...ours.keys()].filter((p) => !theirs.has(p))).toEqual([]);
    },
  );

  (upstreamPresent ? it : it.skip)("accepts the configurations KubeStash and Stash ship", () => {
    for (const dir of ["kubestash", "stash"]) {
      for (const { file, value } of docsIn(join(UPSTREAM, dir))) {
        expect({ file, problems: validateAgainstCrd(crd, value) }).toEqual({ file, problems: [] });
      }
    }
  });
});

describe("crd-state-metrics rbac", () => {
  it("derives plurals the way CRD generators do for regular nouns", () => {
    expect(
      ["BackupSession", "Repository", "Snapshot", "Box", "Batch", "Mesh", "Gateway", "Quiz"].map(guessPlural),
    ).toEqual([
      "backupsessions",
      "repositories",
      "snapshots",
      "boxes",
      "batches",
      "meshes",
      "gateways",
      "quizes",
    ]);
  });

  it("prints the exporter's own rules plus list/watch per target group, deterministically", () => {
    const a = cli(["rbac", "-c", "metricsconfigurations/kubestash", "-c", "metricsconfigurations/stash"]);
    expect(a.status).toBe(0);
    const b = cli(["rbac", "-c", "metricsconfigurations/stash,metricsconfigurations/kubestash"]);
    expect(b.stdout).toBe(a.stdout);
    const role = parse(a.stdout) as {
      kind: string;
      rules: { apiGroups: string[]; resources: string[]; verbs: string[] }[];
    };
    expect(role.kind).toBe("ClusterRole");
    expect(role.rules).toEqual([
      {
        apiGroups: ["apiextensions.k8s.io"],
        resources: ["customresourcedefinitions"],
        verbs: ["list", "watch"],
      },
      { apiGroups: ["metrics.appscode.com"], resources: ["metricsconfigurations"], verbs: ["list", "watch"] },
      { apiGroups: ["metrics.appscode.com"], resources: ["metricsconfigurations/status"], verbs: ["patch"] },
      { apiGroups: [""], resources: ["events"], verbs: ["create"] },
      {
        apiGroups: ["core.kubestash.com"],
        resources: ["backupconfigurations", "backupsessions", "restoresessions"],
        verbs: ["list", "watch"],
      },
      {
        apiGroups: ["stash.appscode.com"],
        resources: ["backupconfigurations", "backupsessions", "repositories", "restoresessions"],
        verbs: ["list", "watch"],
      },
      {
        apiGroups: ["storage.kubestash.com"],
        resources: ["backupstorages", "repositories", "snapshots"],
        verbs: ["list", "watch"],
      },
    ]);
  });

  it("the base role plus each pack's role grant exactly what the full role for that pack grants", () => {
    const base = parse(readFileSync(join(ROOT, "deploy/kubernetes/base/clusterrole.yaml"), "utf8")) as {
      rules: unknown[];
    };
    for (const pack of ["kubestash", "stash"]) {
      const part = parse(
        readFileSync(join(ROOT, `deploy/kubernetes/components/${pack}/clusterrole.yaml`), "utf8"),
      ) as {
        rules: unknown[];
      };
      const full = parse(cli(["rbac", "-c", `metricsconfigurations/${pack}`]).stdout) as { rules: unknown[] };
      expect([...base.rules, ...part.rules]).toEqual(full.rules);
    }
  });

  it("takes plurals from --crds when given", async () => {
    const dir = await mkdtemp(join(tmpdir(), "csm-rbac-"));
    try {
      await writeFile(
        join(dir, "mc.yaml"),
        "apiVersion: metrics.appscode.com/v1alpha1\nkind: MetricsConfiguration\nmetadata: {name: geese}\nspec:\n  targetRef: {apiVersion: zoo.example.com/v1, kind: Goose}\n  metrics: [{name: info, help: h, type: gauge, metricValue: {value: 1}}]\n",
      );
      const guessed = parse(cli(["rbac", "-c", join(dir, "mc.yaml"), "--targets-only"]).stdout);
      expect(guessed.rules).toEqual([
        { apiGroups: ["zoo.example.com"], resources: ["gooses"], verbs: ["list", "watch"] },
      ]);
      await writeFile(
        join(dir, "crd.yaml"),
        "apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata: {name: geese.zoo.example.com}\nspec:\n  group: zoo.example.com\n  names: {kind: Goose, plural: geese}\n",
      );
      const real = parse(
        cli(["rbac", "-c", join(dir, "mc.yaml"), "--crds", join(dir, "crd.yaml"), "--name", "zoo"]).stdout,
      );
      expect(real.metadata.name).toBe("zoo");
      expect(real.rules.at(-1)).toEqual({
        apiGroups: ["zoo.example.com"],
        resources: ["geese"],
        verbs: ["list", "watch"],
      });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("adds the TokenReview and SubjectAccessReview rules for --auth kubernetes, and nothing else", () => {
    const plain = parse(cli(["rbac", "-c", "metricsconfigurations/kubestash"]).stdout) as {
      rules: unknown[];
    };
    const withAuth = parse(
      cli(["rbac", "-c", "metricsconfigurations/kubestash", "--auth", "kubernetes"]).stdout,
    ) as {
      rules: unknown[];
    };
    const added = withAuth.rules.filter(
      (r) => !plain.rules.some((p) => JSON.stringify(p) === JSON.stringify(r)),
    );
    expect(added).toEqual([
      { apiGroups: ["authentication.k8s.io"], resources: ["tokenreviews"], verbs: ["create"] },
      { apiGroups: ["authorization.k8s.io"], resources: ["subjectaccessreviews"], verbs: ["create"] },
    ]);
    expect(withAuth.rules).toHaveLength(plain.rules.length + 2);
    const other = cli(["rbac", "--auth", "token"]);
    expect(other.status).toBe(2);
    expect(other.stderr).toMatch(/only mode that needs API permissions is "kubernetes"/);
    expect(
      cli(["rbac", "-c", "metricsconfigurations/kubestash", "--auth", "kubernetes", "--targets-only"]).status,
    ).toBe(2);
  });

  it("exits 2 with a message on invalid input, 0 on --help", () => {
    const broken = cli(["rbac", "-c", "test/fixtures/broken/not-yaml.yaml"]);
    expect(broken.status).toBe(2);
    expect(broken.stderr).toMatch(/not-yaml\.yaml: invalid YAML/);
    expect(broken.stderr).not.toMatch(/\n\s+at /);
    const none = cli(["rbac", "-c", "examples"]);
    expect(none.status).toBe(2);
    expect(none.stderr).toMatch(/no MetricsConfiguration found/);
    const badName = cli(["rbac", "--name", "Not_Valid"]);
    expect(badName.status).toBe(2);
    expect(cli(["rbac", "--targets-only"]).status).toBe(2);
    const help = cli(["rbac", "--help"]);
    expect(help.status).toBe(0);
    expect(help.stdout).toMatch(/--crds/);
  });
});
