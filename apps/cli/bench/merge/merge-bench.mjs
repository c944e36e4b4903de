#!/usr/bin/env node
import {
  closeSync,
  existsSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readFileSync,
  readSync,
  rmSync,
  statSync,
  writeFileSync,
  writeSync,
} from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import {
  HIDDEN,
  llamaTensors,
  MLP,
  measureChild as measureChildProcess,
  writeLokrAdapter,
  writeRandomSafetensors,
} from "../support/llama-checkpoint.mjs";

const here = fileURLToPath(new URL(".", import.meta.url));
const root = join(here, "..", "..", "..", "..");
const cli = join(root, "apps", "cli", "dist", "main.js");
const args = process.argv.slice(2);
const opt = (name, dflt) => (args.includes(name) ? Number(args[args.indexOf(name) + 1]) : dflt);
const layers = opt("--layers", 8);
const runs = opt("--runs", 3);
const write = !args.includes("--no-write");

const cacheDir = process.env.LYCORIS_BENCH_CACHE ?? join(homedir(), ".cache", "lycoris-ts", "bench-merge");
const tag = `llama-h${HIDDEN}-m${MLP}-l${layers}`;
const basePath = join(cacheDir, `${tag}.safetensors`);
const adapterDir = join(cacheDir, `${tag}-lokr-f4`);
const outPath = join(cacheDir, `${tag}-merged.safetensors`);

function generate() {
  mkdirSync(cacheDir, { recursive: true });
  if (!existsSync(basePath)) {
    process.stderr.write(`generating ${basePath} (once) ...\n`);
    const tensors = llamaTensors(layers);
    writeRandomSafetensors(basePath, tensors, 1, { format: "pt" });
  }
  if (!existsSync(join(adapterDir, "adapter_model.safetensors"))) {
    process.stderr.write(`generating ${adapterDir} (once) ...\n`);
    writeLokrAdapter(adapterDir, layers, { r: 8, alpha: 8 }, 2);
  }
}

/** Runs `node <args>` and returns wall seconds, user/sys CPU seconds and peak RSS (MiB) of the child. */
function measureChild(nodeArgs) {
  return measureChildProcess(nodeArgs, join(cacheDir, "usage.json"));
}

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

function readFloor(path) {
  const size = statSync(path).size;
  const buf = Buffer.allocUnsafe(64 << 20);
  const fd = openSync(path, "r");
  const t0 = performance.now();
  for (let pos = 0; pos < size; ) pos += readSync(fd, buf, 0, Math.min(buf.length, size - pos), pos);
  closeSync(fd);
  return (performance.now() - t0) / 1000;
}

function writeFloor(bytes) {
  const path = join(cacheDir, "write-floor.tmp");
  const buf = Buffer.alloc(64 << 20, 1);
  const t0 = performance.now();
  const fd = openSync(path, "w");
  for (let done = 0; done < bytes; ) done += writeSync(fd, buf, 0, Math.min(buf.length, bytes - done));
  fsyncSync(fd);
  closeSync(fd);
  const s = (performance.now() - t0) / 1000;
  rmSync(path, { force: true });
  return s;
}

function allocationCost(bytes) {
  const chunk = 64 << 20;
  const n = Math.max(1, Math.round(bytes / chunk));
  let t0 = performance.now();
  for (let i = 0; i < n; i++) new Float32Array(chunk / 4).fill(1);
  const fresh = (performance.now() - t0) / 1000;
  const reused = new Float32Array(chunk / 4);
  t0 = performance.now();
  for (let i = 0; i < n; i++) reused.fill(i);
  return { fresh, reused: (performance.now() - t0) / 1000 };
}

generate();
const size = statSync(basePath).size;
const gb = size / 1e9;
const merges = [];
const floors = [];
for (let i = 0; i < runs; i++) {
  readFloor(basePath); // warm the page cache as the merge finds it
  const read = readFloor(basePath);
  const writeS = writeFloor(size);
  floors.push(read + writeS);
  merges.push(
    await measureChild([
      cli,
      "merge",
      "--base",
      basePath,
      "--adapter",
      adapterDir,
      "--out",
      outPath,
      "--no-progress",
    ]),
  );
  rmSync(outPath, { force: true });
  process.stderr.write(
    `run ${i + 1}/${runs}: merge ${merges.at(-1).wall.toFixed(2)} s, floor ${floors.at(-1).toFixed(2)} s\n`,
  );
}
const alloc = allocationCost(size);
const m = {
  wall: median(merges.map((x) => x.wall)),
  user: median(merges.map((x) => x.user)),
  sys: median(merges.map((x) => x.sys)),
  rss: Math.max(...merges.map((x) => x.rssMiB)),
};
const floor = median(floors);
const rows = [
  ["| | wall s | user s | sys s | peak RSS MiB | ratio to floor |", "| --- | --- | --- | --- | --- | --- |"],
  [
    `| \`lycoris merge\` (median of ${runs}) | ${m.wall.toFixed(2)} | ${m.user.toFixed(2)} | ${m.sys.toFixed(2)} | ${m.rss.toFixed(0)} | **${(m.wall / floor).toFixed(2)}×** |`,
  ],
  [`| floor: read base + write ${gb.toFixed(2)} GB + fsync (median) | ${floor.toFixed(2)} | | | | 1.00× |`],
  [
    `| allocation: ${gb.toFixed(2)} GB as fresh 64 MB arrays vs one reused array | ${alloc.fresh.toFixed(2)} vs ${alloc.reused.toFixed(2)} | | | | ${(alloc.fresh / alloc.reused).toFixed(1)}× |`,
  ],
].flat();
const table = rows.join("\n");
console.log(
  `\nMerge of a ${gb.toFixed(2)} GB Llama-shaped F32 checkpoint (${layers} layers) + PEFT LoKr (factor 4)\n`,
);
console.log(table);

if (write) {
  const docPath = join(root, "docs", "benchmarks.md");
  const doc = existsSync(docPath) ? readFileSync(docPath, "utf8") : "# Benchmarks\n";
  const section = `## Merge (\`pnpm bench:merge\`)\n\n${new Date().toISOString().slice(0, 10)}, ${layers}-layer Llama-shaped F32 checkpoint (hidden ${HIDDEN}, MLP ${MLP}, ${gb.toFixed(2)} GB) + PEFT LoKr on every projection (decompose_factor 4, r 8); floors measured on the same disk in the same run. Goal: merge ≤ 1.5× the floor, peak RSS ≤ 400 MiB.\n\n${table}\n`;
  const re = /## Merge \(`pnpm bench:merge`\)[\s\S]*?(?=\n## |$)/;
  writeFileSync(
    docPath,
    re.test(doc) ? doc.replace(re, section.trimEnd()) : `${doc.trimEnd()}\n\n${section}`,
  );
  console.log(`\nwrote ${docPath}`);
}
