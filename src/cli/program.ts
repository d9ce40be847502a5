import { Command, CommanderError } from "commander";
import { ExitCode } from "./exit.js";
import { registerRender } from "./commands/render.js";
import { registerLint } from "./commands/lint.js";
import { registerSim } from "./commands/sim.js";
import { registerServe } from "./commands/serve.js";
import { registerDemo } from "./commands/demo.js";
import { registerRbac } from "./commands/rbac.js";
import { VERSION } from "../version.js";

export { VERSION };

/** The whole command tree; commands register themselves from their own modules. */
export function buildProgram(): Command {
  const program = new Command("crd-state-metrics")
    .description(
      "Kubernetes exporter: MetricsConfiguration objects map resource fields to Prometheus gauges.",
    )
    .version(VERSION)
    .showHelpAfterError("(run with --help for usage)")
    .exitOverride()
    .configureOutput({ writeErr: (s) => process.stderr.write(s), writeOut: (s) => process.stdout.write(s) });
  for (const register of [
    registerServe,
    registerDemo,
    registerRender,
    registerLint,
    registerRbac,
    registerSim,
  ]) {
    const cmd = register(program);
    cmd.exitOverride();
  }
  return program;
}

/** Map commander's own exits (usage errors, --help, --version) onto the exit-code contract. */
export function exitCodeForCommanderError(err: CommanderError): ExitCode {
  if (
    err.code === "commander.helpDisplayed" ||
    err.code === "commander.version" ||
    err.code === "commander.help"
  ) {
    return ExitCode.ok;
  }
  return ExitCode.usage;
}
