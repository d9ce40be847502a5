import { describe, expect, it } from "@jest/globals";
import { spawn, type ChildProcessWithoutNullStreams } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { request, type IncomingMessage } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { cli, MAIN, ROOT } from "./support/cli.js";
import { eventually, get } from "./support/live.js";

/**
 * The built CLI as a process: `serve` and `demo` help, `serve` against an unreachable API server
 * (keeps retrying, exits 0 on SIGTERM), and `demo` draining a scrape on SIGTERM.
 */

interface Proc {
  child: ChildProcessWithoutNullStreams;
  stdout: () => string;
  stderr: () => string;
  exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

function start(args: string[], env: Record<string, string> = {}): Proc {
  const child = spawn(process.execPath, [MAIN, ...args], { cwd: ROOT, env: { ...process.env, ...env } });
  let out = "";
  let err = "";
  child.stdout.on("data", (c: Buffer) => (out += c.toString("utf8")));
  child.stderr.on("data", (c: Buffer) => (err += c.toString("utf8")));
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.on("exit", (code, signal) => {
      resolve({ code, signal });
    });
  });
  return { child, stdout: () => out, stderr: () => err, exit };
}

async function stop(p: Proc): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  if (p.child.exitCode === null) p.child.kill("SIGTERM");
  return p.exit;
}

function jsonLines(text: string): Record<string, unknown>[] {
  return text
    .split("\n")
    .filter((l) => l.startsWith("{"))
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

describe("help", () => {
  it.each([
    [
      "serve",
      [
        "--kubeconfig",
        "--context",
        "--host",
        "--port",
        "--telemetry-host",
        "--telemetry-port",
        "--config",
        "--namespaces",
        "--log-level",
        "--log-format",
      ],
    ],
    [
      "demo",
      [
        "--host",
        "--port",
        "--telemetry-port",
        "--api-port",
        "--synthetic",
        "--no-activity",
        "--log-level",
        "--log-format",
      ],
    ],
  ])("%s --help exits 0 and lists every flag with its CSM_ variable", (command, flags) => {
    const r = cli([command, "--help"]);
    expect(r.status).toBe(0);
    for (const flag of flags) {
      expect(r.stdout).toContain(flag);
      const env = `CSM_${flag.slice(2).replace(/-/g, "_").toUpperCase()}`; // --no-activity → CSM_NO_ACTIVITY
      expect([flag, r.stdout.includes(env)]).toEqual([flag, true]);
    }
  });
});

describe("serve against an API server that is not there", () => {
  it("logs the errors, keeps retrying, stays alive and exits 0 on SIGTERM", async () => {
    const dir = mkdtempSync(join(tmpdir(), "csm-serve-"));
    const kubeconfig = join(dir, "kubeconfig");
    // Port 1 on loopback: connection refused, immediately and forever.
    writeFileSync(
      kubeconfig,
      [
        "apiVersion: v1",
        "kind: Config",
        "clusters: [{name: nowhere, cluster: {server: 'http://127.0.0.1:1', insecure-skip-tls-verify: true}}]",
        "users: [{name: nowhere, user: {token: not-a-real-token}}]",
        "contexts: [{name: nowhere, context: {cluster: nowhere, user: nowhere}}]",
        "current-context: nowhere",
        "",
      ].join("\n"),
    );
    const p = start([
      "serve",
      "--kubeconfig",
      kubeconfig,
      "--host",
      "127.0.0.1",
      "--port",
      "0",
      "--telemetry-port",
      "0",
    ]);
    try {
      await eventually(
        () => jsonLines(p.stderr()).filter((l) => l.msg === "list failed; retrying").length >= 3,
        30_000,
        "three failed lists, retried",
        p.stderr,
      );
      expect(p.child.exitCode).toBeNull();
      const serving = jsonLines(p.stderr()).find((l) => l.msg === "serving");
      const url = String(serving?.url).replace(/\/metrics$/, "");
      expect((await get(`${url}/livez`)).status).toBe(200);
      const ready = await get(`${url}/readyz`);
      expect(ready.status).toBe(503);
      expect(ready.body).toContain("customresourcedefinitions");
      // Errors are logged as single JSON lines, without the token.
      expect(p.stderr()).not.toContain("not-a-real-token");
      for (const line of jsonLines(p.stderr())) expect(typeof line.level).toBe("string");
    } finally {
      const { code } = await stop(p);
      rmSync(dir, { recursive: true, force: true });
      expect(code).toBe(0);
    }
  });

  it("exits 2 on invalid usage, without a stack trace", () => {
    const r = cli(["serve", "--log-format", "xml"]);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain("--log-format");
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });
});

describe("demo", () => {
  it("serves the KubeStash estate, then drains a scrape on SIGTERM and exits 0", async () => {
    const p = start(
      [
        "demo",
        "--port",
        "0",
        "--telemetry-port",
        "0",
        "--api-port",
        "0",
        "--synthetic",
        "2000",
        "--no-activity",
      ],
      { CSM_LOG_FORMAT: "json" },
    );
    try {
      await eventually(
        () => /state metrics:\s+(\S+)/.test(p.stdout()),
        45_000,
        "the demo banner",
        () => p.stderr(),
      );
      const metricsUrl = (/state metrics:\s+(\S+)\/metrics/.exec(p.stdout())?.[1] ?? "").trim();
      expect(p.stdout()).toMatch(/kubectl --kubeconfig \S+ get /);
      expect((await get(`${metricsUrl}/readyz`)).status).toBe(200);
      const full = (await get(`${metricsUrl}/metrics`)).body;
      expect(full).toContain("core_kubestash_com_backupsession_phase{");
      expect(Buffer.byteLength(full)).toBeGreaterThan(4 * 1024 * 1024);
      process.stderr.write(`live.cli: demo --synthetic 2000 serves ${Buffer.byteLength(full)} bytes\n`);

      // A scrape we stop reading: the exporter blocks on backpressure mid-body.
      const res = await new Promise<IncomingMessage>((resolve, reject) => {
        const req = request(`${metricsUrl}/metrics`, (r) => {
          r.pause();
          resolve(r);
        });
        req.on("error", reject);
        req.end();
      });
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      const ended = new Promise<void>((resolve, reject) => {
        res.on("end", resolve);
        res.on("error", reject);
      });
      p.child.kill("SIGTERM");
      await eventually(async () => (await get(`${metricsUrl}/readyz`)).status === 503, 10_000, "/readyz 503");
      expect(p.child.exitCode).toBeNull();
      res.resume();
      await ended;
      expect(Buffer.concat(chunks).toString("utf8")).toBe(full);
      const { code } = await p.exit;
      expect(code).toBe(0);
    } finally {
      await stop(p);
    }
  });
});
