import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { fixtureCases } from "./support/fixtures";
import { expectOneLineError, lines, runCli } from "./support/run-cli";

const cases = fixtureCases();
const tmp = mkdtempSync(join(tmpdir(), "lycoris-cli-errors-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const lokr = cases.find((x) => x.name === "lokr-linear-full")!;
const loha = cases.find((x) => x.name === "loha-conv2d")!;

/** No file at `out`, and no temporary file left next to it. */
function expectNoOutput(outDir: string, out: string): void {
  expect(existsSync(out)).toBe(false);
  expect(readdirSync(outDir).filter((f) => f.includes(".tmp"))).toEqual([]);
}

function copyAdapter(name: string, from = lokr.adapterDir): string {
  const dir = join(tmp, name);
  cpSync(from, dir, { recursive: true });
  return dir;
}

describe("missing and wrong paths", () => {
  const missing = join(tmp, "does-not-exist");

  it("inspect / validate of a missing path", () => {
    expectOneLineError(runCli(["inspect", missing]), /does-not-exist: no such file or directory/);
    expectOneLineError(runCli(["validate", missing]), /does-not-exist: no such file or directory/);
  });

  it("a directory that is not an adapter", () => {
    const dir = join(tmp, "not-an-adapter");
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, "notes.txt"), "hello");
    for (const cmd of [
      ["inspect", dir],
      ["validate", dir],
    ]) {
      expectOneLineError(runCli(cmd), /not a PEFT adapter directory: no adapter_config\.json/);
    }
    const outDir = join(tmp, "out-not-adapter");
    mkdirSync(outDir);
    const out = join(outDir, "m.safetensors");
    expectOneLineError(
      runCli(["merge", "--base", lokr.base, "--adapter", dir, "--out", out]),
      /not a PEFT adapter directory/,
    );
    expectNoOutput(outDir, out);
  });

  it("merge with a missing base model, or a file instead of an adapter directory", () => {
    const outDir = join(tmp, "out-missing-base");
    mkdirSync(outDir);
    const out = join(outDir, "m.safetensors");
    expectOneLineError(
      runCli(["merge", "--base", missing, "--adapter", lokr.adapterDir, "--out", out]),
      /does-not-exist: no such file/,
    );
    expectOneLineError(
      runCli([
        "merge",
        "--base",
        lokr.base,
        "--adapter",
        join(lokr.adapterDir, "adapter_config.json"),
        "--out",
        out,
      ]),
      /adapter_config\.json: not a safetensors adapter file \(.*\); an adapter is one \.safetensors file or a PEFT adapter directory/,
    );
    expectNoOutput(outDir, out);
  });

  it("a file that is not an adapter", () => {
    expectOneLineError(runCli(["inspect", lokr.base]), /not an adapter file/);
  });
});

describe("corrupt safetensors", () => {
  it("a truncated adapter file: inspect, validate and merge fail with one line", () => {
    const dir = copyAdapter("truncated-adapter");
    const file = join(dir, "adapter_model.safetensors");
    const bytes = readFileSync(file);
    writeFileSync(file, bytes.subarray(0, Math.floor(bytes.length / 2)));
    expectOneLineError(runCli(["inspect", dir]), /adapter_model\.safetensors: .*truncated/);
    expectOneLineError(runCli(["validate", dir]), /adapter_model\.safetensors: .*truncated/);
    const outDir = join(tmp, "out-truncated-adapter");
    mkdirSync(outDir);
    const out = join(outDir, "m.safetensors");
    expectOneLineError(runCli(["merge", "--base", lokr.base, "--adapter", dir, "--out", out]), /truncated/);
    expectNoOutput(outDir, out);
  });

  it("a truncated base model: merge fails, no output", () => {
    const base = join(tmp, "truncated-base.safetensors");
    const bytes = readFileSync(lokr.base);
    writeFileSync(base, bytes.subarray(0, bytes.length - 7));
    const outDir = join(tmp, "out-truncated-base");
    mkdirSync(outDir);
    const out = join(outDir, "m.safetensors");
    expectOneLineError(
      runCli(["merge", "--base", base, "--adapter", lokr.adapterDir, "--out", out]),
      /truncated/,
    );
    expectOneLineError(runCli(["validate", lokr.adapterDir, "--base", base]), /truncated/);
    expectNoOutput(outDir, out);
  });

  it("a header that is not JSON", () => {
    const dir = copyAdapter("garbage-header");
    const header = Buffer.from("{not json at all");
    const len = Buffer.alloc(8);
    len.writeBigUInt64LE(BigInt(header.length));
    writeFileSync(join(dir, "adapter_model.safetensors"), Buffer.concat([len, header]));
    expectOneLineError(runCli(["inspect", dir]), /invalid json/i);
  });

  it("an adapter_config.json that is not JSON", () => {
    const dir = copyAdapter("bad-config-json");
    writeFileSync(join(dir, "adapter_config.json"), "{ peft_type: LOKR");
    expectOneLineError(runCli(["validate", dir]), /adapter_config\.json: invalid JSON/);
  });
});

describe("base / adapter shape mismatch", () => {
  it("merge names the module and both shapes, leaves no output and keeps an existing --out file", () => {
    const other = cases.find((x) => x.name === "lokr-linear-lowrank-w2")!;
    const outDir = join(tmp, "out-mismatch");
    mkdirSync(outDir);
    const out = join(outDir, "m.safetensors");
    const run = runCli(["merge", "--base", other.base, "--adapter", lokr.adapterDir, "--out", out]);
    expectOneLineError(
      run,
      /module 'model\.layers\.0\.self_attn\.(q|v)_proj' \(adapter "default"\): shape mismatch: base weight \[64, 64\] .*lokr_w1: expected \[8, 8\], found \[4, 4\]/,
    );
    expectNoOutput(outDir, out);

    writeFileSync(out, "previous content");
    expect(runCli(["merge", "--base", other.base, "--adapter", lokr.adapterDir, "--out", out]).code).toBe(1);
    expect(readFileSync(out, "utf8")).toBe("previous content");
  });

  it("a library error of any package prints as one line (LYCORIS_BACKEND=bogus: KernelsError)", () => {
    const outDir = join(tmp, "out-backend");
    mkdirSync(outDir);
    const out = join(outDir, "m.safetensors");
    const run = runCli(
      ["merge", "--base", lokr.base, "--adapter", lokr.adapterDir, "--out", out, "--no-progress"],
      {
        env: { LYCORIS_BACKEND: "bogus" },
      },
    );
    expectOneLineError(run, /LYCORIS_BACKEND/);
    expect(run.stderr).not.toMatch(/unexpected/);
    expectNoOutput(outDir, out);
  });

  it("merge into a base model without the adapted modules", () => {
    const outDir = join(tmp, "out-missing-module");
    mkdirSync(outDir);
    const out = join(outDir, "m.safetensors");
    expectOneLineError(
      runCli(["merge", "--base", loha.base, "--adapter", lokr.adapterDir, "--out", out]),
      /module '.+' \(adapter "default"\): not in the base model/,
    );
    expectNoOutput(outDir, out);
  });
});

describe("unknown peft_type", () => {
  const dir = copyAdapter("unknown-type");
  const config = JSON.parse(readFileSync(join(dir, "adapter_config.json"), "utf8")) as Record<
    string,
    unknown
  >;
  writeFileSync(join(dir, "adapter_config.json"), JSON.stringify({ ...config, peft_type: "FOO" }, null, 2));
  const expected = /unknown peft_type 'FOO': registered adapter types are LOKR, LOHA, LORA/;

  it("inspect / validate / merge list the registered types", () => {
    expectOneLineError(runCli(["inspect", dir]), expected);
    expectOneLineError(runCli(["validate", dir]), expected);
    const outDir = join(tmp, "out-unknown");
    mkdirSync(outDir);
    const out = join(outDir, "m.safetensors");
    expectOneLineError(runCli(["merge", "--base", lokr.base, "--adapter", dir, "--out", out]), expected);
    expectNoOutput(outDir, out);
  });

  it("--debug adds the stack trace", () => {
    const run = runCli(["inspect", dir, "--debug"]);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/\n\s+at /);
    expect(run.stderr).toMatch(expected);
  });
});

describe("merge refuses to overwrite its inputs", () => {
  it("--out equal to the base (also through another spelling of the path)", () => {
    const dir = join(tmp, "refuse-base");
    mkdirSync(dir);
    const base = join(dir, "base.safetensors");
    cpSync(lokr.base, base);
    const before = readFileSync(base);
    for (const out of [base, join(dir, ".", "..", "refuse-base", "base.safetensors")]) {
      expectOneLineError(
        runCli(["merge", "--base", base, "--adapter", lokr.adapterDir, "--out", out]),
        /refusing to overwrite the input/,
      );
    }
    expect(readFileSync(base).equals(before)).toBe(true);
    expect(readdirSync(dir)).toEqual(["base.safetensors"]);
  });

  it("--out inside the adapter directory", () => {
    const dir = copyAdapter("refuse-adapter");
    const before = readdirSync(dir).sort();
    expectOneLineError(
      runCli(["merge", "--base", lokr.base, "--adapter", dir, "--out", join(dir, "merged.safetensors")]),
      /refusing to write inside the adapter directory/,
    );
    expect(readdirSync(dir).sort()).toEqual(before);
  });

  it("--out in a directory that does not exist", () => {
    expectOneLineError(
      runCli([
        "merge",
        "--base",
        lokr.base,
        "--adapter",
        lokr.adapterDir,
        "--out",
        join(tmp, "nope", "m.safetensors"),
      ]),
      /does not exist/,
    );
  });
});

describe("usage", () => {
  it("merge without required options: usage error, exit 2", () => {
    const run = runCli(["merge", "--base", lokr.base]);
    expectOneLineError(run, /required option '--adapter <path\[:strength\]>' not specified/, 2);
  });

  it("an unknown adapter name lists the adapters there", () => {
    const multi = cases.find((x) => x.name === "lokr-multi-adapter")!;
    expectOneLineError(
      runCli(["inspect", multi.adapterDir, "--adapter-name", "nope"]),
      /no adapter named "nope" \(found: default, other\)/,
    );
  });

  it("--scale must be a number", () => {
    const run = runCli([
      "merge",
      "--base",
      lokr.base,
      "--adapter",
      lokr.adapterDir,
      "--out",
      "x",
      "--scale",
      "big",
    ]);
    expect(run.code).toBe(2);
    expect(lines(run.stderr)).toHaveLength(1);
  });

  it("--help explains every command with an example", () => {
    const top = runCli(["--help"]);
    expect(top.code).toBe(0);
    for (const cmd of ["inspect", "validate", "merge"]) expect(top.stdout).toContain(cmd);
    expect(top.stdout).toContain("Examples:");
    for (const cmd of ["inspect", "validate", "merge"]) {
      const run = runCli([cmd, "--help"]);
      expect(run.code).toBe(0);
      expect(run.stdout).toContain(`Usage: lycoris ${cmd}`);
      expect(run.stdout).toContain(`$ lycoris ${cmd}`);
    }
  });
});
