import { describe, expect, it } from "vitest";
import { createProgram, DEFAULT_CACHE_DIR, DEFAULT_OUT, parseCommandLine } from "../src/cli";

const argv = (...args: string[]) => ["node", "main.js", ...args];

describe("command line", () => {
  it("has defaults for a no-argument run", () => {
    const cmd = parseCommandLine(argv());
    expect(cmd.mode).toBe("run");
    if (cmd.mode !== "run") return;
    expect(cmd.options).toMatchObject({
      adapter: "lokr",
      decomposeBoth: false,
      decomposeFactor: -1,
      seed: 0,
    });
    expect(cmd.options.out).toBe(DEFAULT_OUT);
    expect(cmd.options.cacheDir).toBe(DEFAULT_CACHE_DIR);
  });

  it("parses every flag", () => {
    const cmd = parseCommandLine(
      argv("--adapter", "loha", "--r", "4", "--alpha", "2", "--decompose-both", "--factor", "8"),
    );
    if (cmd.mode !== "run") throw new Error("expected run mode");
    expect(cmd.options).toMatchObject({
      adapter: "loha",
      r: 4,
      alpha: 2,
      decomposeBoth: true,
      decomposeFactor: 8,
    });
    const more = parseCommandLine(argv("--epochs", "2", "--seed", "3", "--out", "/tmp/x", "--no-progress"));
    if (more.mode !== "run") throw new Error("expected run mode");
    expect(more.options).toMatchObject({ epochs: 2, seed: 3, out: "/tmp/x", progress: false });
  });

  it("rejects bad values and explains the flags in --help", () => {
    const run = (args: string[]) => {
      let text = "";
      const p = createProgram()
        .exitOverride()
        .configureOutput({ writeOut: (s) => (text += s), writeErr: (s) => (text += s) });
      try {
        parseCommandLine(argv(...args), p);
      } catch {
        // commander throws instead of exiting (exitOverride)
      }
      return text;
    };
    expect(run(["--adapter", "lora"])).toMatch(/Allowed choices are lokr, loha/);
    expect(run(["--r", "0"])).toMatch(/integer >= 1/);
    const help = run(["--help"]);
    for (const flag of [
      "--adapter",
      "--r",
      "--alpha",
      "--decompose-both",
      "--factor",
      "--epochs",
      "--seed",
      "--out",
    ]) {
      expect(help).toContain(flag);
    }
    expect(help).not.toContain("--verify");
  });
});
