#!/usr/bin/env node
// `pnpm fuzz`: seeded mutations of every fixture .safetensors file (fixtures/), each read by every
// reader that takes it, against the built packages (turbo builds them first). Never part of the tests.
//
// Readers: `parse` (parseSafetensors, whole file from bytes, accepted files checked independently
// against their bytes), `path` (SafetensorsReader on a file, every float tensor read), `blob`
// (SafetensorsReader on a Blob), `kohya` (lycoris-format's readLycorisAdapter, for the kohya /
// LyCORIS adapter files) and `peft` (runtime's loadPeftModel on an adapter directory holding the
// mutated adapter_model.safetensors, for the PEFT adapter files; readPeftAdapterDir where the case's
// base model has layers this runtime does not build). `path` and `blob` must agree with `parse`
// (same outcome class, same tensors).
//
// Prints counts per outcome class — a typed error (a LycorisError, by name:kind), success, or anything
// else — per reader, and exits 1 when anything else happened (the first few are printed with their case).
// Options: --cases N (default 100000), --seed S (default 1), --case I (replay one case, verbose).
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, relative } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const root = join(fileURLToPath(new URL(".", import.meta.url)), "..");
const args = process.argv.slice(2);
const option = (name, fallback) => (args.includes(name) ? Number(args[args.indexOf(name) + 1]) : fallback);
const cases = option("--cases", 100_000);
const seed = option("--seed", 1);
const only = option("--case", undefined);

const load = (pkg) => import(pathToFileURL(join(root, "packages", pkg, "dist/index.js")).href);
const st = await load("safetensors");
const rt = await load("runtime");
const lf = await load("lycoris-format");
const config = await load("lycoris-config");
const { registerLoKr } = await load("lokr");
const { registerLoHa } = await load("loha");
const { checkAccepted, mutateSafetensors, seededRandom } = await import(
  pathToFileURL(join(root, "packages/safetensors/fuzz/mutations.mjs")).href
);

/** The one error family every package throws for bad input (`LycorisError` and its subclasses). */
const { LycorisError } = await load("errors");

const registry = new rt.AdapterRegistry();
registerLoKr(registry);
registerLoHa(registry);

// ---- the fixture files and what each reader needs for them ----

function findFiles(dir, out = []) {
  for (const name of readdirSync(dir).sort()) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) findFiles(path, out);
    else if (name.endsWith(".safetensors")) out.push(path);
  }
  return out;
}

/** The nearest directory above `path` holding a model.json (the fixture case). */
function caseDirOf(path) {
  for (let dir = dirname(path); dir.startsWith(join(root, "fixtures")); dir = dirname(dir)) {
    if (existsSync(join(dir, "model.json"))) return dir;
  }
  return null;
}

const work = mkdtempSync(join(tmpdir(), "lycoris-fuzz-"));
const baseModels = new Map();

/** The case's base model (built once), or null when the fixture has none this runtime can build. */
function baseModel(caseDir) {
  if (!baseModels.has(caseDir)) {
    let model = null;
    try {
      const description = config.parseModelDescription(
        JSON.parse(readFileSync(join(caseDir, "model.json"), "utf8")),
      );
      model = rt.buildModelFromDescription(
        description,
        st.readSafetensorsSync(join(caseDir, "base.safetensors")).tensors,
      );
    } catch {
      model = null;
    }
    baseModels.set(caseDir, model);
  }
  return baseModels.get(caseDir);
}

const sources = findFiles(join(root, "fixtures")).map((path, index) => {
  const bytes = new Uint8Array(readFileSync(path));
  const name = relative(root, path);
  const caseDir = caseDirOf(path);
  const source = { name, bytes, kohya: null, peft: null };
  if (path.endsWith("/adapter.safetensors") && caseDir !== null) {
    const model = JSON.parse(readFileSync(join(caseDir, "model.json"), "utf8"));
    source.kohya = { moduleNames: model.modules.map((m) => m.name) };
  }
  if (path.endsWith("/adapter_model.safetensors") && caseDir !== null) {
    const dir = join(work, `peft-${index}`);
    mkdirSync(dir);
    copyFileSync(join(dirname(path), "adapter_config.json"), join(dir, "adapter_config.json"));
    source.peft = { dir, caseDir };
  }
  return source;
});

// ---- running one case ----

const outcomeOf = (error) =>
  error instanceof LycorisError
    ? `${error.name}:${error.kind}`
    : `OTHER ${error?.constructor?.name ?? typeof error}: ${String(error?.message ?? error).slice(0, 120)}`;
const FLOATS = new Set(["F32", "F16", "BF16", "F64"]);
const sameTensors = (a, b) =>
  a.size === b.size &&
  [...a].every(([name, t]) => {
    const u = b.get(name);
    return (
      u !== undefined &&
      t.shape.join() === u.shape.join() &&
      Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength).equals(
        Buffer.from(u.data.buffer, u.data.byteOffset, u.data.byteLength),
      )
    );
  });

/** Reads every float tensor through an incremental reader; a Map name → tensor. */
async function readAll(open) {
  const reader = await st.SafetensorsReader.open(open);
  try {
    const out = new Map();
    for (const info of reader.header.tensors)
      if (FLOATS.has(info.dtype)) out.set(info.name, await reader.read(info.name));
    return out;
  } finally {
    await reader.close();
  }
}

const filePath = join(work, "case.safetensors");

/** Runs case `i`; returns the mutation family and each reader's outcome (`ok`, `Class:kind` or `OTHER ...`). */
async function runCase(i) {
  const source = sources[i % sources.length];
  const rand = seededRandom((Math.imul(seed, 0x9e3779b1) ^ i) >>> 0);
  const { bytes, family } = mutateSafetensors(rand, source.bytes);
  const outcomes = {};
  let parsed = null;
  try {
    const contents = st.parseSafetensors(bytes, { unsupported: "skip" });
    const problem = checkAccepted(bytes, st.parseSafetensorsHeader(bytes), contents.tensors);
    outcomes.parse = problem === null ? "ok" : `OTHER accepted an invalid file: ${problem}`;
    parsed = contents.tensors;
  } catch (error) {
    outcomes.parse = outcomeOf(error);
  }
  writeFileSync(filePath, bytes);
  for (const [reader, open] of [
    ["path", filePath],
    ["blob", new Blob([bytes])],
  ]) {
    let outcome;
    try {
      const tensors = await readAll(open);
      outcome = parsed !== null && sameTensors(tensors, parsed) ? "ok" : "OTHER read differs from parse";
    } catch (error) {
      outcome = outcomeOf(error);
    }
    if (!outcome.startsWith("OTHER") && outcome !== outcomes.parse) {
      outcome = `OTHER disagrees with parse (${outcome} vs ${outcomes.parse})`;
    }
    outcomes[reader] = outcome;
  }
  if (source.kohya !== null) {
    try {
      lf.readLycorisAdapter(bytes, { moduleNames: source.kohya.moduleNames, registry });
      outcomes.kohya = "ok";
    } catch (error) {
      outcomes.kohya = outcomeOf(error);
    }
  }
  if (source.peft !== null) {
    writeFileSync(join(source.peft.dir, "adapter_model.safetensors"), bytes);
    const base = baseModel(source.peft.caseDir);
    try {
      // into the case's base model where this runtime builds it, else the adapter files alone
      if (base === null) await rt.readPeftAdapterDir(source.peft.dir);
      else await rt.loadPeftModel(rt.cloneModule(base), source.peft.dir, { registry });
      outcomes.peft = "ok";
    } catch (error) {
      outcomes.peft = outcomeOf(error);
    }
  }
  return { source: source.name, family, outcomes };
}

// ---- the run ----

const READERS = ["parse", "path", "blob", "kohya", "peft"];
const table = new Map(); // outcome class -> reader -> count
const families = new Map();
const others = [];

const warn = console.warn;
console.warn = () => {}; // loading warns about what PEFT also warns about; not what is fuzzed here
try {
  if (only !== undefined) {
    console.log(JSON.stringify({ case: only, ...(await runCase(only)) }, null, 2));
  } else {
    const started = performance.now();
    for (let i = 0; i < cases; i++) {
      const { source, family, outcomes } = await runCase(i);
      families.set(family, (families.get(family) ?? 0) + 1);
      for (const [reader, outcome] of Object.entries(outcomes)) {
        const cls = outcome.startsWith("OTHER") ? "anything else" : outcome;
        if (cls === "anything else" && others.length < 20)
          others.push({ case: i, source, family, reader, outcome });
        const row = table.get(cls) ?? new Map();
        row.set(reader, (row.get(reader) ?? 0) + 1);
        table.set(cls, row);
      }
      if ((i + 1) % 10_000 === 0) {
        process.stderr.write(
          `  ${i + 1} / ${cases} cases (${((performance.now() - started) / 1000).toFixed(0)} s)\n`,
        );
      }
    }
  }
} finally {
  console.warn = warn;
  rmSync(work, { recursive: true, force: true });
}
if (only !== undefined) process.exit(0);

const classes = [...table.keys()].sort((a, b) => {
  const rank = (c) => (c === "ok" ? 0 : c === "anything else" ? 2 : 1);
  return rank(a) - rank(b) || a.localeCompare(b);
});
const total = (cls) => READERS.reduce((n, r) => n + (table.get(cls)?.get(r) ?? 0), 0);
const header = ["outcome", ...READERS, "total"];
const rows = classes.map((cls) => [
  cls === "ok" ? "success" : cls,
  ...READERS.map((r) => String(table.get(cls)?.get(r) ?? 0)),
  String(total(cls)),
]);
const width = header.map((h, j) => Math.max(h.length, ...rows.map((r) => r[j].length)));
const line = (cells) =>
  `| ${cells.map((c, j) => (j === 0 ? c.padEnd(width[j]) : c.padStart(width[j]))).join(" | ")} |`;
const kohyaFiles = sources.filter((x) => x.kohya !== null).length;
const peftFiles = sources.filter((x) => x.peft !== null).length;
console.log(
  `\npnpm fuzz: ${cases} cases (seed ${seed}) over ${sources.length} fixture files ` +
    `(${kohyaFiles} kohya adapters, ${peftFiles} PEFT adapters), case i mutating file i mod ${sources.length}\n`,
);
console.log(line(header));
console.log(
  `|${width.map((w, j) => (j === 0 ? `${"-".repeat(w + 1)}-` : `${"-".repeat(w + 1)}:`)).join("|")}|`,
);
for (const r of rows) console.log(line(r));
console.log(
  `\nmutations: ${[...families]
    .sort()
    .map(([f, n]) => `${f} ${n}`)
    .join(", ")}`,
);
const runs = classes.reduce((n, c) => n + total(c), 0);
const typed = classes.filter((c) => c !== "ok" && c !== "anything else").reduce((n, c) => n + total(c), 0);
const bad = total("anything else");
for (const o of others)
  console.log(`anything else: case ${o.case} (${o.source}, ${o.family}) ${o.reader}: ${o.outcome}`);
console.log(`\n${runs} reads: ${typed} typed errors, ${total("ok")} successes, ${bad} anything else`);
process.exit(bad === 0 ? 0 : 1);
