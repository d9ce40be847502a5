import { createHash } from "node:crypto";
import { watch, type FSWatcher } from "node:fs";
import { readFile } from "node:fs/promises";
import { dirname } from "node:path";
import type { SecureContextOptions } from "node:tls";
import type { Logger } from "../log/logger.js";

/**
 * `--tls-cert-file` / `--tls-key-file` (docs/security.md, "TLS"): both servers speak HTTPS with
 * TLS 1.2 or newer. The pair is re-read when either file changes (fs.watch on their directories,
 * which sees cert-manager's and Kubernetes' Secret updates, plus a periodic check) and swapped
 * into the running servers with `setSecureContext`; a pair that does not load keeps the old one.
 */

export const TLS_MIN_VERSION = "TLSv1.2" as const;

export interface TlsFiles {
  certFile: string;
  keyFile: string;
}

export interface TlsSource {
  /** Options for `https.createServer`. */
  serverOptions(): SecureContextOptions & { minVersion: typeof TLS_MIN_VERSION };
  /** Servers to update on reload. */
  attach(server: { setSecureContext(options: SecureContextOptions): void }): void;
  /** Re-read now (tests; the watchers call it too). Resolves true when the pair changed. */
  reload(): Promise<boolean>;
  close(): void;
}

export class TlsConfigError extends Error {}

async function readPair(files: TlsFiles): Promise<{ cert: Buffer; key: Buffer }> {
  const [cert, key] = await Promise.all([readFile(files.certFile), readFile(files.keyFile)]);
  return { cert, key };
}

function fingerprint(p: { cert: Buffer; key: Buffer }): string {
  return createHash("sha256").update(p.cert).update("\0").update(p.key).digest("hex");
}

export async function loadTls(
  files: TlsFiles,
  options: { logger?: Logger; pollMs?: number } = {},
): Promise<TlsSource> {
  const log = options.logger;
  let pair: { cert: Buffer; key: Buffer };
  try {
    pair = await readPair(files);
    // Fail at start on a pair node cannot use, not on the first handshake.
    const { createSecureContext } = await import("node:tls");
    createSecureContext({ ...pair, minVersion: TLS_MIN_VERSION });
  } catch (err) {
    throw new TlsConfigError(
      `--tls-cert-file ${files.certFile} / --tls-key-file ${files.keyFile}: ${err instanceof Error ? err.message : String(err)}`,
    );
  }
  let current = fingerprint(pair);
  const servers: { setSecureContext(options: SecureContextOptions): void }[] = [];
  let reloading: Promise<boolean> | undefined;
  const reload = (): Promise<boolean> =>
    (reloading ??= (async () => {
      try {
        const next = await readPair(files);
        const fp = fingerprint(next);
        if (fp === current) return false;
        for (const s of servers) s.setSecureContext({ ...next, minVersion: TLS_MIN_VERSION });
        pair = next;
        current = fp;
        log?.info({ certFile: files.certFile }, "TLS certificate reloaded");
        return true;
      } catch (err) {
        // Mid-rotation (cert written, key not yet) or a bad pair: keep serving the old one.
        log?.warn(
          { certFile: files.certFile, err: err instanceof Error ? err.message : String(err) },
          "TLS certificate or key not loadable; keeping the previous pair",
        );
        return false;
      } finally {
        reloading = undefined;
      }
    })());
  let debounce: NodeJS.Timeout | undefined;
  const watchers: FSWatcher[] = [];
  for (const dir of new Set([dirname(files.certFile), dirname(files.keyFile)])) {
    try {
      const w = watch(dir, () => {
        clearTimeout(debounce);
        debounce = setTimeout(() => {
          void reload();
        }, 100);
        debounce.unref();
      });
      w.unref();
      w.on("error", () => {
        w.close();
      });
      watchers.push(w);
    } catch {
      // The periodic check covers unwatchable directories.
    }
  }
  const poll = setInterval(() => {
    void reload();
  }, options.pollMs ?? 30_000);
  poll.unref();
  return {
    serverOptions: () => ({ cert: pair.cert, key: pair.key, minVersion: TLS_MIN_VERSION }),
    attach: (server) => {
      servers.push(server);
    },
    reload,
    close: () => {
      clearInterval(poll);
      clearTimeout(debounce);
      for (const w of watchers) w.close();
    },
  };
}
