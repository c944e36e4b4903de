#!/usr/bin/env node
// `pnpm bench:extract`: the ~1 GB check of `lycoris extract`. A Llama-shaped F32 checkpoint (3 layers by
// default, ~1.1 GB; the generator of bench:merge) and a known PEFT LoKr adapter on every projection
// (decompose_factor 4, r 8: w1 4×4 full, w2 a rank-8 product; alpha 800, scaling 100, so ΔW ≈ 0.25·|W|) are
// generated once (seeded) and cached ($LYCORIS_BENCH_CACHE, default ~/.cache/lycoris-ts/bench-extract); the
// tuned checkpoint is `lycoris merge` of that adapter. Then, measured: `lycoris extract --algo lokr --factor 4
// --rank 8` of tuned against base, and `lycoris merge` of the extracted adapter; the merged weights are
// compared with tuned tensor by tensor: max |merged − tuned| − 1e-5·(1 + |tuned|) must be ≤ 0. The baseline is
// the merge of the known adapter, timed in the same run. Prints a table and, unless --no-write, replaces the
// "Extract" section of docs/benchmarks.md. Options: --layers N (default 3), --no-write. Never part of the tests.
import { existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { cpus, homedir, loadavg } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { SafetensorsReader } from "@lycoris-ts/safetensors";
import {
  HIDDEN,
  llamaTensors,
  MLP,
  measureChild,
  PROJ,
  writeLokrAdapter,
  writeRandomSafetensors,
} from "../support/llama-checkpoint.mjs";

const here = fileURLToPath(new URL(".", import.meta.url));
const root = join(here, "..", "..", "..", "..");
const cli = join(root, "apps", "cli", "dist", "main.js");
const args = process.argv.slice(2);
const opt = (name, dflt) => (args.includes(name) ? Number(args[args.indexOf(name) + 1]) : dflt);
const layers = opt("--layers", 3);
const write = !args.includes("--no-write");

const cacheDir = process.env.LYCORIS_BENCH_CACHE ?? join(homedir(), ".cache", "lycoris-ts", "bench-extract");
const tag = `llama-h${HIDDEN}-m${MLP}-l${layers}`;
const basePath = join(cacheDir, `${tag}.safetensors`);
const knownDir = join(cacheDir, `${tag}-lokr-f4-r8`);
const tunedPath = join(cacheDir, `${tag}-tuned.safetensors`);
const extractedDir = join(cacheDir, `${tag}-extracted`);
const mergedPath = join(cacheDir, `${tag}-remerged.safetensors`);
const usage = join(cacheDir, "usage.json");

function generate() {
  mkdirSync(cacheDir, { recursive: true });
  if (!existsSync(basePath)) {
    process.stderr.write(`generating ${basePath} (once) ...\n`);
    writeRandomSafetensors(basePath, llamaTensors(layers), 1, { format: "pt" });
  }
  if (!existsSync(join(knownDir, "adapter_model.safetensors"))) {
    process.stderr.write(`generating ${knownDir} (once) ...\n`);
    writeLokrAdapter(knownDir, layers, { r: 8, alpha: 800 }, 2);
  }
}

/** Max over every element of |a − b| − 1e-5·(1 + |b|), and max |a − b|, tensor by tensor. */
async function compare(pathA, pathB) {
  const [a, b] = [await SafetensorsReader.open(pathA), await SafetensorsReader.open(pathB)];
  let excess = Number.NEGATIVE_INFINITY;
  let maxAbs = 0;
  try {
    for (const name of b.names) {
      const [x, y] = [(await a.read(name)).data, (await b.read(name)).data];
      for (let i = 0; i < y.length; i++) {
        const d = Math.abs(x[i] - y[i]);
        if (d > maxAbs) maxAbs = d;
        const e = d - 1e-5 * (1 + Math.abs(y[i]));
        if (e > excess) excess = e;
      }
    }
  } finally {
    await a.close();
    await b.close();
  }
  return { excess, maxAbs };
}

const merge = (adapter, out) =>
  measureChild(
    [cli, "merge", "--base", basePath, "--adapter", adapter, "--out", out, "--no-progress"],
    usage,
  );

generate();
const load = loadavg()[0];
rmSync(tunedPath, { force: true });
const baseline = await merge(knownDir, tunedPath);
process.stderr.write(`merge of the known adapter (baseline): ${baseline.wall.toFixed(2)} s\n`);
rmSync(extractedDir, { recursive: true, force: true });
const extract = await measureChild(
  [
    cli,
    "extract",
    "--base",
    basePath,
    "--tuned",
    tunedPath,
    "--algo",
    "lokr",
    "--factor",
    "4",
    "--rank",
    "8",
    "--out",
    extractedDir,
    "--no-progress",
  ],
  usage,
);
process.stderr.write(`extract: ${extract.wall.toFixed(2)} s\n`);
const errors = extract.stdout
  .split("\n")
  .filter((l) => l.startsWith("model."))
  .map((l) => Number(/\]\s+\d+\s+(\S+)/.exec(l)?.[1]));
const maxRelative = Math.max(...errors);
rmSync(mergedPath, { force: true });
const remerge = await merge(extractedDir, mergedPath);
const cmp = await compare(mergedPath, tunedPath);
rmSync(mergedPath, { force: true });
const gb = statSync(basePath).size / 1e9;
const ok = cmp.excess <= 0 && maxRelative < 1e-5 && errors.length === layers * PROJ.length;
const row = (what, m) =>
  `| ${what} | ${m.wall.toFixed(2)} | ${m.user.toFixed(2)} | ${m.sys.toFixed(2)} | ${m.rssMiB.toFixed(0)} | ${(m.wall / baseline.wall).toFixed(2)}× |`;
const table = [
  "| | wall s | user s | sys s | peak RSS MiB | ratio to baseline |",
  "| --- | --- | --- | --- | --- | --- |",
  row(`\`lycoris extract --algo lokr --factor 4 --rank 8\` (${errors.length} modules)`, extract),
  row("`lycoris merge` of the extracted adapter", remerge),
  row("baseline: `lycoris merge` of the known adapter (makes tuned)", baseline),
].join("\n");
const result = `max per-layer relative error ${maxRelative.toExponential(2)} (< 1e-5: ${maxRelative < 1e-5}); max |merged − tuned| ${cmp.maxAbs.toExponential(2)}, worst excess over 1e-5·(1 + |tuned|) ${cmp.excess.toExponential(2)} (≤ 0: ${cmp.excess <= 0}) → ${ok ? "PASS" : "FAIL"}`;
console.log(`\nExtract from a ${gb.toFixed(2)} GB Llama-shaped F32 checkpoint (${layers} layers)\n`);
console.log(table);
console.log(`\n${result}`);
console.log(`load average (1 min) at start: ${load.toFixed(2)} on ${cpus().length} CPUs`);

if (write) {
  const docPath = join(root, "docs", "benchmarks.md");
  const doc = existsSync(docPath) ? readFileSync(docPath, "utf8") : "# Benchmarks\n";
  const section = `## Extract (\`pnpm bench:extract\`)\n\n${new Date().toISOString().slice(0, 10)}, ${layers}-layer Llama-shaped F32 checkpoint (hidden ${HIDDEN}, MLP ${MLP}, ${gb.toFixed(2)} GB); tuned = base merged with a known PEFT LoKr on every projection (decompose_factor 4, r 8, alpha 800); load average ${load.toFixed(2)} on ${cpus().length} CPUs at the start. The check: the extracted adapter merged into base reproduces tuned within 1e-5·(1 + |w|).\n\n${table}\n\n${result}\n`;
  const re = /## Extract \(`pnpm bench:extract`\)[\s\S]*?(?=\n## |$)/;
  writeFileSync(
    docPath,
    re.test(doc) ? doc.replace(re, section.trimEnd()) : `${doc.trimEnd()}\n\n${section}`,
  );
  console.log(`\nwrote ${docPath}`);
}
if (!ok) process.exitCode = 1;
