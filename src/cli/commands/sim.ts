import { writeFile } from "node:fs/promises";
import type { Command } from "commander";
import { SeedError } from "../../sim/seed.js";
import { startApiServer } from "../../sim/server.js";
import { ApiError } from "../../sim/status.js";
import { CliError } from "../exit.js";
import { collectPaths, option, parseNonNegativeInt, parsePort } from "../options.js";

interface SimOptions {
  host: string;
  port: number;
  seed?: string[];
  synthetic?: number;
  syntheticSeed: number;
  kubeconfigOut?: string;
  bookmarkInterval: number;
  verbose?: boolean;
}

function usageParser<T>(parse: (v: string) => T): (v: string) => T {
  // commander reports a thrown InvalidArgumentError as a usage error (exit 2).
  return (v) => {
    try {
      return parse(v);
    } catch (err) {
      throw new CliError(err instanceof Error ? err.message : String(err));
    }
  };
}

export async function runSim(opts: SimOptions): Promise<void> {
  let server;
  try {
    server = await startApiServer({
      host: opts.host,
      port: opts.port,
      seedPaths: opts.seed ?? [],
      synthetic: opts.synthetic ?? 0,
      syntheticSeed: opts.syntheticSeed,
      bookmarkIntervalMs: opts.bookmarkInterval,
      ...(opts.verbose ? { log: (line: string) => process.stderr.write(`${line}\n`) } : {}),
    });
  } catch (err) {
    if (err instanceof SeedError) throw new CliError(err.message);
    if (err instanceof ApiError) throw new CliError(`seeding failed: ${err.message}`);
    if (err instanceof Error && "code" in err && (err.code === "EADDRINUSE" || err.code === "EACCES"))
      throw new CliError(`cannot listen on ${opts.host}:${opts.port}: ${err.message}`, 1);
    throw err;
  }
  const out = process.stdout;
  out.write(`Kubernetes API simulator listening on ${server.url} (plain HTTP, no authentication)\n`);
  if (opts.kubeconfigOut) {
    await writeFile(opts.kubeconfigOut, server.kubeconfig(), { mode: 0o600 });
    out.write(`kubeconfig written to ${opts.kubeconfigOut}\n`);
    out.write(`  kubectl --kubeconfig ${opts.kubeconfigOut} get backupsessions.core.kubestash.com -A\n`);
  } else {
    out.write(`  kubectl --server ${server.url} get namespaces\n`);
  }
  out.write("Stop with Ctrl-C.\n");
  await new Promise<void>((resolve) => {
    const stop = (): void => {
      process.off("SIGINT", stop);
      process.off("SIGTERM", stop);
      void server.close().then(resolve);
    };
    process.on("SIGINT", stop);
    process.on("SIGTERM", stop);
  });
}

export function registerSim(program: Command): Command {
  return program
    .command("sim")
    .description("run the embedded Kubernetes API server alone (for kubectl, client-node and the exporter)")
    .addOption(option("--host <host>", "listen address").default("127.0.0.1"))
    .addOption(
      option("--port <port>", "listen port (0 picks a free one)")
        .default(6443)
        .argParser(usageParser(parsePort)),
    )
    .addOption(
      option(
        "--seed <path>",
        "YAML/JSON manifests (file or directory) to load at start; repeatable or comma-separated",
      ).argParser(collectPaths),
    )
    .addOption(
      option("--synthetic <n>", "add a generated KubeStash estate of N objects (SPEC §11)").argParser(
        usageParser(parseNonNegativeInt),
      ),
    )
    .addOption(
      option("--synthetic-seed <n>", "PRNG seed of the synthetic estate")
        .default(1)
        .argParser(usageParser(parseNonNegativeInt)),
    )
    .addOption(
      option("--kubeconfig-out <path>", "write a kubeconfig for this server (kubectl and client-node)"),
    )
    .addOption(
      option("--bookmark-interval <ms>", "period of watch BOOKMARK events")
        .default(5000)
        .argParser(usageParser(parseNonNegativeInt)),
    )
    .addOption(option("-v, --verbose", "log every request to stderr"))
    .addHelpText(
      "after",
      `
Serves discovery, CRUD, patch, list (selectors, pagination) and watch (bookmarks, 410) for
Namespaces, ConfigMaps, Secrets, Events, Pods, CustomResourceDefinitions and every CRD created.
Plain HTTP on loopback with no authentication: a test and demo tool, not a cluster. See docs/sim.md.`,
    )
    .action(async (opts: SimOptions) => {
      await runSim(opts);
    });
}
