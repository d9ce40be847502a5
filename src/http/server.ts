import { createServer, type Server } from "node:http";
import { createServer as createHttpsServer } from "node:https";
import type { AddressInfo } from "node:net";
import type { Express } from "express";
import type { TlsSource } from "./tls.js";

/**
 * Keep idle connections open longer than any usual scrape interval (Prometheus reuses them),
 * so scrapes do not pay for a new connection each time.
 */
export const KEEP_ALIVE_MS = 125_000;

export interface RunningServer {
  readonly server: Server;
  readonly port: number;
  readonly url: string;
  /** Stop accepting, let in-flight requests finish (bounded), then close idle connections. */
  close(graceMs?: number): Promise<void>;
}

export async function listen(
  app: Express,
  port: number,
  host: string,
  tls?: TlsSource,
): Promise<RunningServer> {
  let server: Server;
  if (tls) {
    const secure = createHttpsServer(tls.serverOptions(), app);
    tls.attach(secure);
    server = secure;
  } else {
    server = createServer(app);
  }
  server.keepAliveTimeout = KEEP_ALIVE_MS;
  server.headersTimeout = KEEP_ALIVE_MS + 5_000;
  server.requestTimeout = 300_000;
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const actual = (server.address() as AddressInfo).port;
  const shownHost = host === "0.0.0.0" || host === "::" || host === "" ? "localhost" : host;
  return {
    server,
    port: actual,
    url: `${tls ? "https" : "http"}://${shownHost.includes(":") ? `[${shownHost}]` : shownHost}:${actual}`,
    close: (graceMs = 10_000) =>
      new Promise<void>((resolve) => {
        const timer = setTimeout(() => {
          server.closeAllConnections();
        }, graceMs);
        timer.unref();
        server.close(() => {
          clearTimeout(timer);
          resolve();
        });
        server.closeIdleConnections();
      }),
  };
}
