#!/usr/bin/env node
// Records what kubectl prints for every case in test/fixtures/jsonpath/cases.json, so that
// test/jsonpath.kubectl.test.ts can hold our JSONPath dialect to kubectl's behaviour without
// needing kubectl at test time. Re-run after changing the cases:
//   node scripts/record-jsonpath-cases.mjs
// kubectl runs offline (`label --local`, KUBECONFIG=/dev/null); it adds the label x=y to the
// object before evaluating the path, which the test reproduces.
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const casesFile = join(root, "test/fixtures/jsonpath/cases.json");
const outFile = join(root, "test/fixtures/jsonpath/kubectl-expected.json");
const kubectl = process.env.KUBECTL ?? "kubectl";
const env = { ...process.env, KUBECONFIG: "/dev/null" };

// Objects are written from the file's raw text, not re-serialised, so that number spellings such
// as 1e6 and 100.0 (floats to kubectl) reach kubectl exactly as written.
const rawText = readFileSync(casesFile, "utf8");
const { cases } = JSON.parse(rawText);
const rawObjects = extractRawObjects(rawText);

const dir = mkdtempSync(join(tmpdir(), "jsonpath-cases-"));
try {
  const files = new Map();
  for (const [name, raw] of rawObjects) {
    const file = join(dir, `${name}.json`);
    writeFileSync(file, raw);
    files.set(name, file);
  }
  const version = spawnSync(kubectl, ["version", "--client", "-o", "json"], { env, encoding: "utf8" });
  if (version.status !== 0) throw new Error(`kubectl not usable: ${version.stderr}`);
  const results = cases.map((c) => {
    const file = files.get(c.object);
    if (file === undefined) throw new Error(`case ${c.path}: unknown object ${c.object}`);
    // kubectl treats text outside {} as literal template text; our dialect's braces are optional.
    const template = c.path.includes("{") ? c.path : `{${c.path}}`;
    const args = ["label", "--local", "-f", file, "x=y", "--dry-run=client", "-o", `jsonpath=${template}`];
    const r = spawnSync(kubectl, args, { env, encoding: "utf8" });
    const result = { object: c.object, path: c.path, template, exitCode: r.status, stdout: r.stdout };
    if (r.status !== 0) result.error = r.stderr.split("\n")[0];
    return result;
  });
  const out = {
    kubectl: JSON.parse(version.stdout).clientVersion.gitVersion,
    command:
      "KUBECONFIG=/dev/null kubectl label --local -f <object.json> x=y --dry-run=client -o jsonpath=<template>",
    results,
  };
  writeFileSync(outFile, `${JSON.stringify(out, null, 2)}\n`);
  const failed = results.filter((r) => r.exitCode !== 0).length;
  console.log(`recorded ${results.length} cases (${failed} kubectl errors) into ${outFile}`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}

/** The source text of each member of the top-level "objects" map. */
function extractRawObjects(text) {
  const objects = new Map();
  const start = text.indexOf("{", text.indexOf('"objects"'));
  let i = start + 1;
  for (;;) {
    while (/[\s,]/.test(text[i])) i++;
    if (text[i] === "}") break;
    const nameEnd = scanString(text, i);
    const name = JSON.parse(text.slice(i, nameEnd));
    i = text.indexOf("{", nameEnd);
    const end = scanValue(text, i);
    objects.set(name, text.slice(i, end));
    i = end;
  }
  return objects;
}

function scanString(text, i) {
  for (let j = i + 1; ; j++) {
    if (text[j] === "\\") j++;
    else if (text[j] === '"') return j + 1;
  }
}

function scanValue(text, i) {
  let depth = 0;
  for (let j = i; ; j++) {
    const ch = text[j];
    if (ch === '"') j = scanString(text, j) - 1;
    else if (ch === "{" || ch === "[") depth++;
    else if ((ch === "}" || ch === "]") && --depth === 0) return j + 1;
  }
}
