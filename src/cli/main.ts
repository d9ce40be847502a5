#!/usr/bin/env node
import { CommanderError } from "commander";
import { buildProgram, exitCodeForCommanderError } from "./program.js";
import { reportFatal } from "./exit.js";

// `crd-state-metrics render … | head` closes our stdout early; that is the reader's choice, not an error.
process.stdout.on("error", (err: NodeJS.ErrnoException) => {
  if (err.code === "EPIPE") process.exit(0);
  throw err;
});

async function main(argv: string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
    return typeof process.exitCode === "number" ? process.exitCode : 0;
  } catch (err) {
    if (err instanceof CommanderError) return exitCodeForCommanderError(err);
    return reportFatal(err);
  }
}

const code = await main(process.argv);
// Long-running commands (serve, demo, sim) keep the loop alive and exit on their own signals.
if (code !== 0) process.exit(code);
process.exitCode = code;
