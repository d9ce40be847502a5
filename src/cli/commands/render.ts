import type { Command } from "commander";

export function registerRender(program: Command): Command {
  return program
    .command("render")
    .description("offline: print the exposition for configurations and objects");
}
