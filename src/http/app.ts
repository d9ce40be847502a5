import { createGzip } from "node:zlib";
import type { Writable } from "node:stream";
import express, { type Express, type Request, type RequestHandler, type Response } from "express";
import type { Registry } from "prom-client";
import { CONTENT_TYPE } from "../exposition/format.js";
import { negotiateFormat } from "../exposition/negotiate.js";
import { streamChunks, streamExposition, type ExpositionSource } from "./scrape.js";

export interface Readiness {
  /** Empty when ready; otherwise what is still missing, for the /readyz body. */
  pending(): string[];
  /** True once shutdown started: readiness fails so load balancers stop sending scrapes. */
  shuttingDown(): boolean;
}

export interface ScrapeObserver {
  onScrape?(format: string, seconds: number, bytes: number): void;
  /** Runs before /metrics (auth.ts: --auth-token-file, --auth kubernetes); health stays open. */
  protect?: RequestHandler;
}

function acceptsGzip(req: Request): boolean {
  const header = req.headers["accept-encoding"];
  if (typeof header !== "string") return false;
  return header.split(",").some((part) => {
    const [coding = "", ...params] = part.trim().split(";");
    if (coding.trim().toLowerCase() !== "gzip") return false;
    const q = params.map((p) => p.trim()).find((p) => p.startsWith("q="));
    return q === undefined || Number(q.slice(2)) > 0;
  });
}

function healthRoutes(app: Express, readiness: Readiness | undefined): void {
  const alive = (_req: Request, res: Response): void => {
    res.type("text/plain").send("ok\n");
  };
  app.get("/healthz", alive);
  app.get("/livez", alive);
  app.get("/readyz", (_req, res) => {
    if (!readiness) {
      res.type("text/plain").send("ok\n");
      return;
    }
    if (readiness.shuttingDown()) {
      res.status(503).type("text/plain").send("shutting down\n");
      return;
    }
    const pending = readiness.pending();
    if (pending.length === 0) res.type("text/plain").send("ok\n");
    else
      res
        .status(503)
        .type("text/plain")
        .send(`not ready: waiting for ${pending.join(", ")}\n`);
  });
}

const LANDING = (title: string, links: [string, string][]): string =>
  `<!doctype html><html><head><meta charset="utf-8"><title>${title}</title></head><body>` +
  `<h1>${title}</h1><ul>${links.map(([href, text]) => `<li><a href="${href}">${href}</a> — ${text}</li>`).join("")}</ul>` +
  `</body></html>\n`;

/** The state-metrics server: /metrics (text or OpenMetrics, gzip when accepted), health, landing. */
export function createMetricsApp(
  source: ExpositionSource,
  readiness: Readiness | undefined,
  observer: ScrapeObserver = {},
): Express {
  const app = express();
  app.disable("x-powered-by");
  app.disable("etag");
  app.get("/", (_req, res) => {
    res.type("html").send(
      LANDING("crd-state-metrics", [
        ["/metrics", "state metrics of the watched resources"],
        ["/healthz", "process health"],
        ["/livez", "liveness"],
        ["/readyz", "readiness: every configured resource has been listed"],
      ]),
    );
  });
  if (observer.protect) app.use("/metrics", observer.protect);
  app.get("/metrics", (req, res, next) => {
    const started = performance.now();
    const format = negotiateFormat(req.headers.accept);
    const gzip = acceptsGzip(req);
    res.setHeader("Content-Type", CONTENT_TYPE[format]);
    res.setHeader("Cache-Control", "no-store");
    res.setHeader("Vary", "Accept, Accept-Encoding");
    const abort = new AbortController();
    res.on("close", () => {
      abort.abort();
    });
    let out: Writable = res;
    if (gzip) res.setHeader("Content-Encoding", "gzip");
    let streamed: Promise<number>;
    if (!gzip && source.textPieces) {
      // Ready Buffers, and cold blocks' compressed pieces inflated on the way out.
      streamed = streamChunks(source.textPieces(format), res, abort.signal);
    } else if (source.chunks) {
      // Ready Buffers (cached deflate pieces when compressing): nothing is encoded per scrape.
      streamed = streamChunks(source.chunks(format, gzip), res, abort.signal);
    } else {
      if (gzip) {
        const z = createGzip({ level: 1 });
        z.pipe(res);
        out = z;
      }
      streamed = streamExposition(source, format, out, abort.signal);
    }
    streamed
      .then((bytes) => {
        out.end();
        observer.onScrape?.(format, (performance.now() - started) / 1000, bytes);
      })
      .catch((err: unknown) => {
        if (abort.signal.aborted) return; // the client went away; nothing to report to it
        if (res.headersSent) res.destroy(err instanceof Error ? err : undefined);
        else next(err);
      });
  });
  healthRoutes(app, readiness);
  return app;
}

/** The telemetry server: the exporter's own metrics through prom-client, plus health. */
export function createTelemetryApp(
  registry: Registry,
  readiness: Readiness | undefined,
  beforeCollect?: () => void,
  protect?: RequestHandler,
): Express {
  const app = express();
  app.disable("x-powered-by");
  if (protect) app.use("/metrics", protect);
  app.get("/", (_req, res) => {
    res.type("html").send(
      LANDING("crd-state-metrics telemetry", [
        ["/metrics", "the exporter's own metrics"],
        ["/healthz", "process health"],
      ]),
    );
  });
  app.get("/metrics", (_req, res, next) => {
    beforeCollect?.();
    registry
      .metrics()
      .then((text) => {
        res.setHeader("Content-Type", registry.contentType);
        res.send(text);
      })
      .catch(next);
  });
  healthRoutes(app, readiness);
  return app;
}
