import { describe, expect, it } from "@jest/globals";
import { collectPaths, envNameFor, parsePort } from "../src/cli/options.js";

describe("cli options", () => {
  it("derives CSM_ environment names from long flags", () => {
    expect(envNameFor("--telemetry-port <port>")).toBe("CSM_TELEMETRY_PORT");
    expect(envNameFor("-c, --config <path...>")).toBe("CSM_CONFIG");
  });
  it("rejects ports outside 0..65535", () => {
    expect(parsePort("8080")).toBe(8080);
    expect(() => parsePort("70000")).toThrow(/invalid port/);
    expect(() => parsePort("abc")).toThrow(/invalid port/);
  });
  it("splits comma-separated path lists", () => {
    expect(collectPaths("a,b", ["z"])).toEqual(["z", "a", "b"]);
  });
});
