#!/usr/bin/env node
// `pnpm bench:merge`: merges a PEFT LoKr adapter into a ~2 GB Llama-shaped F32 checkpoint with the built
// `lycoris` CLI and compares the time with floors measured on the same disk in the same run:
//   - read floor: read the base file once through the same kind of I/O (positional reads into one buffer);
//   - write floor: write the same number of bytes and fsync (one reused buffer);
//   - allocation: touching fresh 64 MB arrays vs reusing one (the cost the merge engine must avoid).
// The checkpoint and adapter are generated once (seeded) and cached outside the repo
// ($LYCORIS_BENCH_CACHE, default ~/.cache/lycoris-ts/bench-merge). Prints a table and, unless --no-write,
// replaces the "Merge" section of docs/benchmarks.md. The same checkpoint split into an index + 3 shards
// (generated once from the single file) is merged too, to a sharded output (one run per round).
// Options: --layers N (default 8), --runs N (default 3), --no-sharded, --no-write. Never part of the tests.
import {
  closeSync,
  existsSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readFileSync,
  readSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
  writeSync,
} from "node:fs";
import { homedir, loadavg } from "node:os";
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
const sharded = !args.includes("--no-sharded");

const cacheDir = process.env.LYCORIS_BENCH_CACHE ?? join(homedir(), ".cache", "lycoris-ts", "bench-merge");
const tag = `llama-h${HIDDEN}-m${MLP}-l${layers}`;
const basePath = join(cacheDir, `${tag}.safetensors`);
const adapterDir = join(cacheDir, `${tag}-lokr-f4`);
const outPath = join(cacheDir, `${tag}-merged.safetensors`);
const shardedDir = join(cacheDir, `${tag}-sharded`);
const shardedOut = join(cacheDir, `${tag}-sharded-merged`);

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

/** Splits the base file into 3 shards of about equal size + model.safetensors.index.json (byte copies). */
function generateSharded() {
  const index = join(shardedDir, "model.safetensors.index.json");
  if (existsSync(index)) return;
  process.stderr.write(`generating ${shardedDir} (once) ...\n`);
  mkdirSync(shardedDir, { recursive: true });
  const fd = openSync(basePath, "r");
  const prefix = Buffer.alloc(8);
  readSync(fd, prefix, 0, 8, 0);
  const n = Number(prefix.readBigUInt64LE(0));
  const headerBuf = Buffer.alloc(n);
  readSync(fd, headerBuf, 0, n, 8);
  const header = JSON.parse(headerBuf.toString("utf8"));
  const { __metadata__: metadata, ...tensors } = header;
  const entries = Object.entries(tensors).sort((a, b) => a[1].data_offsets[0] - b[1].data_offsets[0]);
  const total = entries.reduce((s, [, t]) => s + t.data_offsets[1] - t.data_offsets[0], 0);
  const groups = [[], [], []];
  let acc = 0;
  for (const e of entries) {
    groups[Math.min(2, Math.floor((acc * 3) / total))].push(e);
    acc += e[1].data_offsets[1] - e[1].data_offsets[0];
  }
  const buf = Buffer.allocUnsafe(64 << 20);
  const weightMap = {};
  groups.forEach((group, g) => {
    const file = `model-0000${g + 1}-of-00003.safetensors`;
    const h = metadata ? { __metadata__: metadata } : {};
    let off = 0;
    for (const [name, t] of group) {
      const size = t.data_offsets[1] - t.data_offsets[0];
      h[name] = { dtype: t.dtype, shape: t.shape, data_offsets: [off, off + size] };
      off += size;
      weightMap[name] = file;
    }
    let json = JSON.stringify(h);
    json += " ".repeat((8 - (json.length % 8)) % 8);
    const tmp = join(shardedDir, `${file}.partial`);
    const out = openSync(tmp, "w");
    const len = Buffer.alloc(8);
    len.writeBigUInt64LE(BigInt(json.length));
    writeSync(out, len);
    writeSync(out, Buffer.from(json, "utf8"));
    for (const [, t] of group) {
      for (let pos = 8 + n + t.data_offsets[0]; pos < 8 + n + t.data_offsets[1]; ) {
        const got = readSync(fd, buf, 0, Math.min(buf.length, 8 + n + t.data_offsets[1] - pos), pos);
        writeSync(out, buf, 0, got);
        pos += got;
      }
    }
    fsyncSync(out);
    closeSync(out);
    renameSync(tmp, join(shardedDir, file));
  });
  closeSync(fd);
  writeFileSync(index, JSON.stringify({ metadata: { total_size: total }, weight_map: weightMap }, null, 2));
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

const loadStart = loadavg()[0].toFixed(2);
generate();
if (sharded) generateSharded();
const size = statSync(basePath).size;
const gb = size / 1e9;
const merges = [];
const shardedMerges = [];
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
  if (sharded) {
    // warm the shards' page cache as the single-file merge finds its base
    for (let g = 1; g <= 3; g++) readFloor(join(shardedDir, `model-0000${g}-of-00003.safetensors`));
    shardedMerges.push(
      await measureChild([
        cli,
        "merge",
        "--base",
        join(shardedDir, "model.safetensors.index.json"),
        "--adapter",
        adapterDir,
        "--out",
        shardedOut,
        "--no-progress",
      ]),
    );
    rmSync(shardedOut, { recursive: true, force: true });
  }
  process.stderr.write(
    `run ${i + 1}/${runs}: merge ${merges.at(-1).wall.toFixed(2)} s${sharded ? `, sharded ${shardedMerges.at(-1).wall.toFixed(2)} s` : ""}, floor ${floors.at(-1).toFixed(2)} s\n`,
  );
}
const alloc = allocationCost(size);
const summary = (xs) => ({
  wall: median(xs.map((x) => x.wall)),
  user: median(xs.map((x) => x.user)),
  sys: median(xs.map((x) => x.sys)),
  rss: Math.max(...xs.map((x) => x.rssMiB)),
});
const m = summary(merges);
const floor = median(floors);
const row = (label, r) =>
  `| ${label} | ${r.wall.toFixed(2)} | ${r.user.toFixed(2)} | ${r.sys.toFixed(2)} | ${r.rss.toFixed(0)} | **${(r.wall / floor).toFixed(2)}×** |`;
const load = `${loadStart} at the start, ${loadavg()
  .map((x) => x.toFixed(2))
  .join(", ")} at the end (1, 5, 15 min)`;
const rows = [
  ["| | wall s | user s | sys s | peak RSS MiB | ratio to floor |", "| --- | --- | --- | --- | --- | --- |"],
  [row(`\`lycoris merge\` (median of ${runs})`, m)],
  sharded
    ? [row(`\`lycoris merge\`, index + 3 shards → 3 shards (median of ${runs})`, summary(shardedMerges))]
    : [],
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
console.log(`\nload average: ${load}`);

if (write) {
  const docPath = join(root, "docs", "benchmarks.md");
  const doc = existsSync(docPath) ? readFileSync(docPath, "utf8") : "# Benchmarks\n";
  const section = `## Merge (\`pnpm bench:merge\`)\n\n${new Date().toISOString().slice(0, 10)}, ${layers}-layer Llama-shaped F32 checkpoint (hidden ${HIDDEN}, MLP ${MLP}, ${gb.toFixed(2)} GB) + PEFT LoKr on every projection (decompose_factor 4, r 8); floors measured on the same disk in the same run. Goal: merge ≤ 1.5× the floor, peak RSS ≤ 400 MiB. Command: \`pnpm bench:merge\`; load average ${load} (the machine's 2 cores may be shared, so compare the ratio, not the seconds).\n\n${table}\n`;
  const re = /## Merge \(`pnpm bench:merge`\)[\s\S]*?(?=\n## |$)/;
  writeFileSync(
    docPath,
    re.test(doc) ? doc.replace(re, section.trimEnd()) : `${doc.trimEnd()}\n\n${section}`,
  );
  console.log(`\nwrote ${docPath}`);
}
