import type { Command } from "commander";

export function registerLint(program: Command): Command {
  return program.command("lint").description("validate MetricsConfiguration files");
}
