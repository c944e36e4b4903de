import { execFileSync, spawn, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
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
import { fileURLToPath } from "node:url";
import { readSafetensorsSync, serializeSafetensors } from "@lycoris-ts/safetensors";
import { afterAll, describe, expect, it } from "vitest";
import { fixtureCases } from "./support/fixtures";
import { CLI, expectOneLineError, lines, runCli } from "./support/run-cli";

// Issue 10's CLI items, each driving the built CLI as a subprocess.

const tmp = mkdtempSync(join(tmpdir(), "lycoris-cli-hardening-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const lokr = fixtureCases().find((x) => x.name === "lokr-linear-full")!;
const kohyaRoot = fileURLToPath(new URL("../../../fixtures/lycoris/lokr-conv2d/", import.meta.url));
const kohya = { base: join(kohyaRoot, "base.safetensors"), adapter: join(kohyaRoot, "adapter.safetensors") };

const md5 = (path: string) => createHash("md5").update(readFileSync(path)).digest("hex");

function fresh(name: string): string {
  const dir = join(tmp, name);
  mkdirSync(dir, { recursive: true });
  return dir;
}

function copyAdapter(name: string): string {
  const dir = join(tmp, name);
  cpSync(lokr.adapterDir, dir, { recursive: true });
  return dir;
}

describe("item 5: one output-path guard for every command that writes", () => {
  it("convert K/adapter_model.safetensors --out K is refused and leaves the input unchanged", () => {
    const k = fresh("convert-into-own-dir");
    const input = join(k, "adapter_model.safetensors");
    cpSync(kohya.adapter, input);
    const before = md5(input);
    const run = runCli(["convert", input, "--base", kohya.base, "--out", k]);
    expectOneLineError(run, /refusing to overwrite the input .*adapter_model\.safetensors/);
    expect(md5(input)).toBe(before);
    expect(readdirSync(k)).toEqual(["adapter_model.safetensors"]);
  });

  it("--out A/..x.safetensors is inside the adapter directory A (convert and merge)", () => {
    const a = copyAdapter("dotdot-adapter");
    const out = join(a, "..x.safetensors");
    expectOneLineError(
      runCli(["convert", a, "--out", out]),
      /refusing to write inside the adapter directory/,
    );
    expectOneLineError(
      runCli(["merge", "--base", lokr.base, "--adapter", a, "--out", out, "--no-progress"]),
      /refusing to write inside the adapter directory/,
    );
    expect(existsSync(out)).toBe(false);
  });

  it("an empty --out is refused by merge and by both convert directions", () => {
    const empty = /the output path is empty/;
    expectOneLineError(
      runCli(["merge", "--base", lokr.base, "--adapter", lokr.adapterDir, "--out", "", "--no-progress"]),
      empty,
    );
    expectOneLineError(runCli(["convert", lokr.adapterDir, "--out", ""]), empty);
    expectOneLineError(runCli(["convert", kohya.adapter, "--base", kohya.base, "--out", ""]), empty);
  });
});

describe("item 7: inputs must be regular files", () => {
  it("validate / merge / convert --base <a FIFO> fail at once, naming the FIFO", () => {
    const dir = fresh("fifo");
    const fifo = join(dir, "base.safetensors");
    execFileSync("mkfifo", [fifo]);
    const notRegular = /base\.safetensors: not a (regular )?file/;
    expectOneLineError(runCli(["validate", lokr.adapterDir, "--base", fifo]), notRegular);
    expectOneLineError(
      runCli(["merge", "--base", fifo, "--adapter", lokr.adapterDir, "--out", join(dir, "m.safetensors")]),
      notRegular,
    );
    expectOneLineError(
      runCli(["convert", kohya.adapter, "--base", fifo, "--out", join(dir, "peft")]),
      notRegular,
    );
    expectOneLineError(runCli(["inspect", fifo]), /base\.safetensors: not a (regular )?file/);
  });
});

describe("item 8: merged tensors must be finite (PEFT's safe_merge)", () => {
  const a = copyAdapter("nan-adapter");
  const weights = join(a, "adapter_model.safetensors");
  const file = readSafetensorsSync(weights);
  const [firstName, first] = [...file.tensors][0]!;
  first.data[0] = Number.NaN;
  writeFileSync(weights, serializeSafetensors(file.tensors));

  it("merge refuses a NaN factor, naming the merged tensor, and writes nothing", () => {
    const dir = fresh("nan-merge");
    const out = join(dir, "m.safetensors");
    expectOneLineError(
      runCli(["merge", "--base", lokr.base, "--adapter", a, "--out", out, "--no-progress"]),
      /merged tensor '[^']+\.weight' has a non-finite value \(NaN/,
    );
    expect(readdirSync(dir)).toEqual([]);
  });

  it("merge --allow-non-finite writes it", () => {
    const out = join(fresh("nan-merge-allowed"), "m.safetensors");
    const run = runCli([
      "merge",
      "--base",
      lokr.base,
      "--adapter",
      a,
      "--out",
      out,
      "--no-progress",
      "--allow-non-finite",
    ]);
    expect(run.stderr).toBe("");
    expect(run.code).toBe(0);
    const merged = readSafetensorsSync(out);
    expect([...merged.tensors.values()].some((t) => t.data.some((v) => Number.isNaN(v)))).toBe(true);
  });

  it("validate reports the non-finite adapter tensor", () => {
    const run = runCli(["validate", a, "--json"]);
    expect(run.code).toBe(1);
    const report = JSON.parse(run.stdout) as {
      adapters: { checks: { level: string; subject: string; message: string }[] }[];
    };
    const bad = report.adapters[0]!.checks.filter((c) => c.level === "error");
    expect(bad).toEqual([
      {
        level: "error",
        subject: firstName,
        message: expect.stringMatching(/non-finite value NaN at element 0/),
      },
    ]);
  });
});

describe("item 8: validate of a kohya/LyCORIS file reports non-finite tensors", () => {
  it("a NaN factor is an error naming the tensor", () => {
    const file = readSafetensorsSync(kohya.adapter);
    const [name, first] = [...file.tensors].find(([n]) => !n.endsWith(".alpha"))!;
    first.data[1] = Number.NaN;
    const bad = join(fresh("kohya-nan"), "nan.safetensors");
    writeFileSync(bad, serializeSafetensors(file.tensors));
    const run = runCli(["validate", bad, "--base", kohya.base, "--json"]);
    expect(run.code, run.stderr).toBe(1);
    const report = JSON.parse(run.stdout) as {
      adapters: { checks: { level: string; subject: string; message: string }[] }[];
    };
    expect(report.adapters[0]!.checks.filter((c) => c.level === "error")).toEqual([
      {
        level: "error",
        subject: name,
        message: expect.stringMatching(/non-finite value NaN at element 1 of/),
      },
    ]);
  });
});

describe("item 9: validate runs the config checks loading runs", () => {
  it('target_modules "(" is reported invalid', () => {
    const a = copyAdapter("bad-regex");
    const cfgPath = join(a, "adapter_config.json");
    const cfg = JSON.parse(readFileSync(cfgPath, "utf8")) as Record<string, unknown>;
    writeFileSync(cfgPath, JSON.stringify({ ...cfg, target_modules: "(" }));
    const run = runCli(["validate", a]);
    expectOneLineError(run, /adapter_config\.json: .*target/i);
  });
});

describe("item 3: a truncated kohya file says what is wrong with it", () => {
  it("merge and validate name the file's problem (truncated), not only 'expected a PEFT adapter directory'", () => {
    const dir = fresh("truncated");
    const bytes = readFileSync(kohya.adapter);
    const cut = join(dir, "cut.safetensors");
    writeFileSync(cut, bytes.subarray(0, Math.floor(bytes.length / 2)));
    for (const run of [
      runCli([
        "merge",
        "--base",
        kohya.base,
        "--adapter",
        cut,
        "--out",
        join(dir, "m.safetensors"),
        "--no-progress",
      ]),
      runCli(["validate", cut, "--base", kohya.base]),
    ]) {
      expectOneLineError(run, /cut\.safetensors/);
      expect(run.stderr).toMatch(/safetensors truncated at /);
    }
    expect(readdirSync(dir)).toEqual(["cut.safetensors"]);
  });
});

describe("item 6: signals during a merge", () => {
  /** The lokr case's base with 1,500 extra 4,096-float tensors, so that a merge lasts long enough to signal. */
  const bigBase = join(fresh("big-base"), "base.safetensors");
  const base = readSafetensorsSync(lokr.base).tensors;
  for (let i = 0; i < 1500; i++) {
    base.set(`filler.${i}.weight`, { data: new Float32Array(4096).fill(i), shape: [64, 64] });
  }
  writeFileSync(bigBase, serializeSafetensors(base));

  const temps = (dir: string) => readdirSync(dir).filter((f) => f.endsWith(".tmp"));

  /** Starts a merge into `dir`, sends `signals` once its temporary file exists, resolves with its exit. */
  function mergeAndSignal(dir: string, signals: readonly NodeJS.Signals[]) {
    const out = join(dir, "m.safetensors");
    const child = spawn(
      process.execPath,
      [CLI, "merge", "--base", bigBase, "--adapter", lokr.adapterDir, "--out", out, "--no-progress"],
      { env: { ...process.env, NO_COLOR: "1" } },
    );
    let stderr = "";
    child.stderr.on("data", (d: Buffer) => {
      stderr += d.toString();
    });
    const poll = setInterval(() => {
      if (temps(dir).length === 0) return;
      clearInterval(poll);
      for (const s of signals) child.kill(s);
    }, 2);
    return new Promise<{ code: number | null; signal: string | null; stderr: string; out: string }>(
      (done) => {
        child.on("exit", (code, signal) => {
          clearInterval(poll);
          done({ code, signal, stderr, out });
        });
      },
    );
  }

  for (const [signals, code] of [
    [["SIGTERM"], 143],
    [["SIGINT", "SIGINT"], 130],
    [["SIGHUP"], 129],
  ] as const) {
    it(`${signals.join(" + ")}: exit ${code}, one line saying what is on disk, no temporary file left`, async () => {
      const dir = fresh(`signal-${signals.join("-")}`);
      const run = await mergeAndSignal(dir, signals);
      expect(run.signal, run.stderr).toBeNull();
      expect(run.code, run.stderr).toBe(code);
      const err = lines(run.stderr);
      expect(err, run.stderr).toHaveLength(1);
      // The signal normally stops the merge; when it comes during the final fsync / rename the file is complete.
      expect(err[0]).toMatch(
        existsSync(run.out)
          ? new RegExp(
              `^error: interrupted \\(${signals[0]}\\); too late to stop: .*m\\.safetensors is written`,
            )
          : new RegExp(`^error: interrupted \\(${signals[0]}\\); .*m\\.safetensors not written`),
      );
      expect(temps(dir)).toEqual([]);
    }, 60_000);
  }

  it("the next run in a directory removes temporary files whose process is gone, and keeps live ones", () => {
    const dir = fresh("stale-temps");
    const dead = spawnSync(process.execPath, ["-e", ""]).pid!;
    const stale = [`.m.safetensors.${dead}.0123456789ab.tmp`, `.other.safetensors.${dead}.abcdef012345.tmp`];
    const live = `.m.safetensors.${process.pid}.00aa00aa00aa.tmp`;
    for (const name of [...stale, live, "notes.tmp"]) writeFileSync(join(dir, name), "partial");
    const run = runCli([
      "merge",
      "--base",
      lokr.base,
      "--adapter",
      lokr.adapterDir,
      "--out",
      join(dir, "m.safetensors"),
      "--no-progress",
    ]);
    expect(run.code, run.stderr).toBe(0);
    expect(readdirSync(dir).sort()).toEqual([live, "m.safetensors", "notes.tmp"].sort());
  });
});
