import { afterEach, describe, expect, it } from "@jest/globals";
import { execFileSync, spawnSync } from "node:child_process";
import { X509Certificate } from "node:crypto";
import { mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { createServer, request as httpRequest, type IncomingMessage, type Server } from "node:http";
import { request as httpsRequest } from "node:https";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { connect } from "node:tls";
import { cli } from "./support/cli.js";
import { eventually, get, KUBESTASH_SEEDS, startLive, type Live } from "./support/live.js";

/**
 * Access to /metrics on both ports: --auth-token-file (constant-time Bearer compare, file
 * re-read on change), --auth kubernetes (TokenReview + SubjectAccessReview, cached), TLS with
 * reload; health endpoints stay open.
 */

let live: Live | undefined;
const cleanups: (() => void | Promise<void>)[] = [];

afterEach(async () => {
  await live?.close();
  live = undefined;
  for (const c of cleanups.splice(0)) await c();
});

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), "csm-access-"));
  cleanups.push(() => {
    rmSync(dir, { recursive: true, force: true });
  });
  return dir;
}

/** Replace a file the way a Secret volume update does: write aside, then rename over it. */
function replaceFile(path: string, content: string): void {
  writeFileSync(`${path}.tmp`, content);
  renameSync(`${path}.tmp`, path);
}

const bearer = (token: string): Record<string, string> => ({ authorization: `Bearer ${token}` });

describe("--auth-token-file", () => {
  it("guards /metrics on both ports, leaves health open, and follows changes to the file", async () => {
    const dir = tempDir();
    const file = join(dir, "token");
    writeFileSync(file, "first-token\n# a comment\nsecond-token\n");
    const l = (live = await startLive({
      sim: { seedPaths: KUBESTASH_SEEDS },
      exporter: { auth: { tokenFile: file } },
    }));
    await l.exporter.whenReady();
    for (const base of [l.metricsUrl, l.telemetryUrl]) {
      const none = await get(`${base}/metrics`);
      expect(none.status).toBe(401);
      expect(none.headers["www-authenticate"]).toBe('Bearer realm="crd-state-metrics"');
      const wrong = await get(`${base}/metrics`, bearer("first-tokeN"));
      expect(wrong.status).toBe(401);
      expect(wrong.headers["www-authenticate"]).toMatch(/error="invalid_token"/);
      expect((await get(`${base}/metrics`, { authorization: "Basic Zmlyc3QtdG9rZW4=" })).status).toBe(401);
      expect((await get(`${base}/metrics`, bearer("first-token"))).status).toBe(200);
      expect((await get(`${base}/metrics`, bearer("second-token"))).status).toBe(200);
      for (const open of ["/healthz", "/livez", "/readyz", "/"])
        expect((await get(`${base}${open}`)).status).toBe(200);
    }
    const ok = await get(`${l.metricsUrl}/metrics`, bearer("first-token"));
    expect(ok.body).toContain("core_kubestash_com_backupsession_phase");

    replaceFile(file, "rotated-token\n");
    await eventually(
      async () => (await get(`${l.metricsUrl}/metrics`, bearer("rotated-token"))).status === 200,
      15_000,
      "the rotated token to be accepted",
    );
    expect((await get(`${l.metricsUrl}/metrics`, bearer("first-token"))).status).toBe(401);
    // An emptied file keeps the last good tokens rather than locking everyone out.
    replaceFile(file, "\n");
    await eventually(
      () => l.logs.matching(/^auth token file holds no token/).length > 0,
      15_000,
      "the empty-file warning",
    );
    expect((await get(`${l.metricsUrl}/metrics`, bearer("rotated-token"))).status).toBe(200);
    for (const line of l.logs.lines) expect(JSON.stringify(line)).not.toMatch(/rotated-token|first-token/);
  });

  it("serve refuses a missing token file and contradictory flags with exit 2", () => {
    const dir = tempDir();
    const kubeconfig = join(dir, "kubeconfig");
    writeFileSync(
      kubeconfig,
      "apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster: {server: 'http://127.0.0.1:1', insecure-skip-tls-verify: true}\nusers:\n- name: u\n  user: {}\ncontexts:\n- name: c\n  context: {cluster: c, user: u}\ncurrent-context: c\n",
    );
    const base = ["serve", "--kubeconfig", kubeconfig, "--port", "0", "--telemetry-port", "0"];
    const missing = cli([...base, "--auth-token-file", join(dir, "nope")]);
    expect(missing.status).toBe(2);
    expect(missing.stderr).toMatch(/--auth-token-file .*nope/);
    expect(cli([...base, "--auth", "kubernetes", "--auth-token-file", kubeconfig]).status).toBe(2);
    expect(cli([...base, "--auth", "basic"]).status).toBe(2);
    expect(cli([...base, "--tls-cert-file", kubeconfig]).status).toBe(2);
    expect(cli([...base, "--deny-kinds", "/Secret"]).status).toBe(2);
    const help = cli(["serve", "--help"]).stdout;
    for (const flag of [
      "--auth <mode>",
      "--auth-token-file",
      "--tls-cert-file",
      "--tls-key-file",
      "--deny-kinds",
      "--allow-kinds",
      "--max-series-per-configuration",
      "--max-series <n>",
    ]) {
      expect(help).toContain(flag);
    }
    expect(help).toContain("CSM_AUTH_TOKEN_FILE");
  });
});

/**
 * The embedded API server does not implement TokenReview or SubjectAccessReview; this proxy
 * in front of it does (tokens and grants below) and passes everything else through.
 */
async function reviewingProxy(
  upstream: string,
  users: Record<string, { user: string; groups: string[] }>,
  grants: Set<string>,
): Promise<{ url: string; reviews: { token: number; access: number }; failing: { on: boolean } }> {
  const reviews = { token: 0, access: 0 };
  const failing = { on: false };
  const answer = (res: import("node:http").ServerResponse, body: unknown, status = 201): void => {
    res.writeHead(status, { "content-type": "application/json" });
    res.end(JSON.stringify(body));
  };
  const readBody = async (req: IncomingMessage): Promise<Record<string, unknown>> => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    return JSON.parse(Buffer.concat(chunks).toString("utf8")) as Record<string, unknown>;
  };
  const server: Server = createServer((req, res) => {
    const url = req.url ?? "/";
    if (req.method === "POST" && url.startsWith("/apis/authentication.k8s.io/v1/tokenreviews")) {
      reviews.token++;
      void readBody(req).then((body) => {
        if (failing.on) {
          answer(res, { kind: "Status", code: 500, message: "etcd on fire" }, 500);
          return;
        }
        const token = String((body.spec as { token?: unknown }).token);
        const who = users[token];
        answer(res, {
          ...body,
          status: who
            ? { authenticated: true, user: { username: who.user, uid: "u-1", groups: who.groups } }
            : { authenticated: false, error: "invalid bearer token" },
        });
      });
      return;
    }
    if (req.method === "POST" && url.startsWith("/apis/authorization.k8s.io/v1/subjectaccessreviews")) {
      reviews.access++;
      void readBody(req).then((body) => {
        const spec = body.spec as {
          user: string;
          groups?: string[];
          nonResourceAttributes: { path: string; verb: string };
        };
        const { path, verb } = spec.nonResourceAttributes;
        const allowed = [spec.user, ...(spec.groups ?? [])].some((s) => grants.has(`${s} ${verb} ${path}`));
        answer(res, { ...body, status: { allowed } });
      });
      return;
    }
    const target = new URL(url, upstream);
    const out = httpRequest(target, { method: req.method, headers: req.headers }, (up) => {
      res.writeHead(up.statusCode ?? 502, up.headers);
      up.pipe(res);
    });
    out.on("error", () => res.destroy());
    res.on("close", () => out.destroy());
    req.pipe(out);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  cleanups.push(
    () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => {
          resolve();
        });
      }),
  );
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, reviews, failing };
}

describe("--auth kubernetes", () => {
  it("TokenReview + SubjectAccessReview for get /metrics, cached; 401, 403 and 503 otherwise", async () => {
    const { startApiServer } = await import("../src/sim/index.js");
    const sim = await startApiServer({ port: 0, seedPaths: KUBESTASH_SEEDS });
    cleanups.push(() => sim.close());
    const proxy = await reviewingProxy(
      sim.url,
      {
        "prometheus-token": {
          user: "system:serviceaccount:monitoring:prometheus",
          groups: ["system:serviceaccounts"],
        },
        "viewer-token": { user: "jane", groups: ["viewers"] },
      },
      new Set(["system:serviceaccount:monitoring:prometheus get /metrics"]),
    );
    const { startExporter } = await import("../src/exporter/exporter.js");
    const { createLogger } = await import("../src/log/logger.js");
    const exporter = await startExporter({
      kube: { server: proxy.url, requestTimeoutMs: 10_000 },
      logger: createLogger({ level: "silent" }),
      version: "0.0.0-test",
      host: "127.0.0.1",
      port: 0,
      telemetryPort: 0,
      auth: { kubernetes: true },
      shutdownGraceMs: 2_000,
    });
    cleanups.unshift(() => exporter.shutdown());
    await exporter.whenReady();
    const base = exporter.metrics.url;

    expect((await get(`${base}/metrics`)).status).toBe(401);
    expect(proxy.reviews.token).toBe(0); // no token: no review
    expect((await get(`${base}/metrics`, bearer("nobody"))).status).toBe(401);
    expect((await get(`${base}/metrics`, bearer("viewer-token"))).status).toBe(403);
    const ok = await get(`${base}/metrics`, bearer("prometheus-token"));
    expect(ok.status).toBe(200);
    expect(ok.body).toContain("core_kubestash_com_backupsession_phase");
    expect((await get(`${exporter.telemetryServer.url}/metrics`, bearer("prometheus-token"))).status).toBe(
      200,
    );
    expect((await get(`${base}/readyz`)).status).toBe(200);
    const seen = { ...proxy.reviews };
    // Cached: the same tokens again cost no review (allowed for a minute, refusals for 10 s).
    await Promise.all(Array.from({ length: 5 }, () => get(`${base}/metrics`, bearer("prometheus-token"))));
    expect((await get(`${base}/metrics`, bearer("viewer-token"))).status).toBe(403);
    expect((await get(`${base}/metrics`, bearer("nobody"))).status).toBe(401);
    expect(proxy.reviews).toEqual(seen);
    // The API server failing: 503, not cached.
    proxy.failing.on = true;
    expect((await get(`${base}/metrics`, bearer("new-token"))).status).toBe(503);
    proxy.failing.on = false;
    expect((await get(`${base}/metrics`, bearer("new-token"))).status).toBe(401);
  });
});

const hasOpenssl = spawnSync("openssl", ["version"]).status === 0;

function selfSigned(dir: string, cn: string): { cert: string; key: string } {
  const cert = join(dir, `${cn}.crt`);
  const key = join(dir, `${cn}.key`);
  execFileSync(
    "openssl",
    [
      "req",
      "-x509",
      "-newkey",
      "ec",
      "-pkeyopt",
      "ec_paramgen_curve:prime256v1",
      "-nodes",
      "-days",
      "1",
      "-subj",
      `/CN=${cn}`,
      "-addext",
      "subjectAltName=IP:127.0.0.1",
      "-keyout",
      key,
      "-out",
      cert,
    ],
    { stdio: "ignore" },
  );
  return { cert: readFileSync(cert, "utf8"), key: readFileSync(key, "utf8") };
}

/** The certificate the server presents to a new connection. */
function servedCertificate(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = connect({ host: "127.0.0.1", port, rejectUnauthorized: false }, () => {
      const pem = s.getPeerX509Certificate();
      s.end();
      resolve(pem ? new X509Certificate(pem.raw).subject : "");
    });
    s.on("error", reject);
  });
}

function httpsGet(url: string, ca: string, extra: object = {}): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest(
      url,
      { ca, ...extra, headers: { connection: "close" } },
      (res: IncomingMessage) => {
        res.resume();
        res.on("end", () => {
          resolve(res.statusCode ?? 0);
        });
      },
    );
    req.on("error", reject);
    req.end();
  });
}

(hasOpenssl ? describe : describe.skip)("TLS", () => {
  it("serves HTTPS with TLS >= 1.2 on both ports and picks up a new certificate", async () => {
    const dir = tempDir();
    const first = selfSigned(dir, "first");
    const second = selfSigned(dir, "second");
    const certFile = join(dir, "tls.crt");
    const keyFile = join(dir, "tls.key");
    writeFileSync(certFile, first.cert);
    writeFileSync(keyFile, first.key);
    const l = (live = await startLive({
      sim: { seedPaths: KUBESTASH_SEEDS },
      exporter: { tls: { certFile, keyFile } },
    }));
    await l.exporter.whenReady();
    expect(l.metricsUrl).toMatch(/^https:/);
    expect(await httpsGet(`${l.metricsUrl}/metrics`, first.cert)).toBe(200);
    expect(await httpsGet(`${l.telemetryUrl}/metrics`, first.cert)).toBe(200);
    await expect(
      httpsGet(`${l.metricsUrl}/metrics`, first.cert, { maxVersion: "TLSv1.1", minVersion: "TLSv1" }),
    ).rejects.toThrow();
    // Plain HTTP on the TLS port gets nothing useful.
    await expect(
      new Promise((resolve, reject) => {
        const req = httpRequest(`http://127.0.0.1:${l.exporter.metrics.port}/metrics`, (res) => {
          resolve(res.statusCode);
        });
        req.on("error", reject);
        req.end();
      }).then(
        (s) => (s === 200 ? "served" : "refused"),
        () => "refused",
      ),
    ).resolves.not.toBe("served");

    // Rotate: key first, then certificate (a half-written pair keeps the old one).
    replaceFile(keyFile, second.key);
    replaceFile(certFile, second.cert);
    await eventually(
      async () => (await servedCertificate(l.exporter.metrics.port)) === "CN=second",
      15_000,
      "the new certificate to be served",
    );
    expect(await httpsGet(`${l.metricsUrl}/metrics`, second.cert)).toBe(200);
    expect(await servedCertificate(l.exporter.telemetryServer.port)).toBe("CN=second");
  });
});
