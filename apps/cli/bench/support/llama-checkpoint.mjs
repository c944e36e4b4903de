// Shared by the CLI benchmarks (bench/merge, bench/extract): a seeded Llama-shaped F32 checkpoint written
// tensor by tensor, and a child-process runner that reports wall time, CPU times and peak RSS.
import { spawn } from "node:child_process";
import {
  closeSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
  writeSync,
} from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { lokrParamShapes } from "@lycoris-ts/lokr";

const here = fileURLToPath(new URL(".", import.meta.url));

// Llama-shaped: hidden 2048, MLP 5632, vocab 32000, F32.
export const HIDDEN = 2048;
export const MLP = 5632;
export const VOCAB = 32000;
export const PROJ = [
  ["self_attn.q_proj", HIDDEN, HIDDEN],
  ["self_attn.k_proj", HIDDEN, HIDDEN],
  ["self_attn.v_proj", HIDDEN, HIDDEN],
  ["self_attn.o_proj", HIDDEN, HIDDEN],
  ["mlp.gate_proj", MLP, HIDDEN],
  ["mlp.up_proj", MLP, HIDDEN],
  ["mlp.down_proj", HIDDEN, MLP],
];

/** The [name, shape] list of a `layers`-layer checkpoint (embeddings, norms, projections, head). */
export function llamaTensors(layers) {
  const tensors = [["model.embed_tokens.weight", [VOCAB, HIDDEN]]];
  for (let l = 0; l < layers; l++) {
    tensors.push([`model.layers.${l}.input_layernorm.weight`, [HIDDEN]]);
    for (const [name, out, inp] of PROJ) tensors.push([`model.layers.${l}.${name}.weight`, [out, inp]]);
    tensors.push([`model.layers.${l}.post_attention_layernorm.weight`, [HIDDEN]]);
  }
  tensors.push(["model.norm.weight", [HIDDEN]], ["lm_head.weight", [VOCAB, HIDDEN]]);
  return tensors;
}

/** xorshift32 values in [-0.05, 0.05), written straight into `out` (seeded, deterministic). */
function fillRandom(out, state) {
  let s = state.s;
  for (let i = 0; i < out.length; i++) {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    out[i] = ((s >>> 0) / 4294967296 - 0.5) * 0.1;
  }
  state.s = s;
}

/** Writes a safetensors file of seeded random F32 values tensor by tensor from one reused buffer; `tensors` = [name, shape]. */
export function writeRandomSafetensors(path, tensors, seed, metadata) {
  const header = {};
  if (metadata) header.__metadata__ = metadata;
  let offset = 0;
  let largest = 0;
  for (const [name, shape] of tensors) {
    const bytes = shape.reduce((a, b) => a * b, 1) * 4;
    header[name] = { dtype: "F32", shape, data_offsets: [offset, offset + bytes] };
    offset += bytes;
    largest = Math.max(largest, bytes);
  }
  let json = JSON.stringify(header);
  json += " ".repeat((8 - (json.length % 8)) % 8);
  const tmp = `${path}.partial`;
  const fd = openSync(tmp, "w");
  const prefix = Buffer.alloc(8);
  prefix.writeBigUInt64LE(BigInt(json.length));
  writeSync(fd, prefix);
  writeSync(fd, Buffer.from(json, "latin1"));
  const buffer = new Float32Array(largest / 4);
  const state = { s: seed >>> 0 || 1 };
  for (const [, shape] of tensors) {
    const n = shape.reduce((a, b) => a * b, 1);
    const view = buffer.subarray(0, n);
    fillRandom(view, state);
    writeSync(fd, new Uint8Array(view.buffer, view.byteOffset, n * 4));
  }
  fsyncSync(fd);
  closeSync(fd);
  renameSync(tmp, path); // last: a half-generated cache is never used
}

/**
 * Runs `node <args>` and returns wall seconds, user/sys CPU seconds, peak RSS (MiB) of the child and its
 * stdout; `usageFile` is a scratch path for the child's resource usage.
 */
export function measureChild(nodeArgs, usageFile) {
  rmSync(usageFile, { force: true });
  const preload = join(here, "..", "merge", "report-usage.mjs");
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const child = spawn(process.execPath, ["--import", preload, ...nodeArgs], {
      stdio: ["ignore", "pipe", "pipe"],
      env: { ...process.env, LYCORIS_BENCH_USAGE: usageFile },
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => {
      stdout += d;
    });
    child.stderr.on("data", (d) => {
      stderr += d;
    });
    child.on("error", reject);
    child.on("close", (code) => {
      const wall = (performance.now() - t0) / 1000;
      if (code !== 0) return reject(new Error(`exit ${code}: ${stderr.slice(-2000)}`));
      const u = JSON.parse(readFileSync(usageFile, "utf8"));
      resolve({
        wall,
        user: u.userCPUTime / 1e6,
        sys: u.systemCPUTime / 1e6,
        rssMiB: u.maxRSS / 1024,
        stdout,
      });
    });
  });
}

/**
 * Writes a PEFT LoKr adapter directory on every projection of a `layers`-layer checkpoint (seeded random
 * factors, `decompose_factor` 4, rank `r`, `alpha`; w1 4×4 full, w2 a rank-r product).
 */
export function writeLokrAdapter(dir, layers, { r, alpha }, seed) {
  mkdirSync(dir, { recursive: true });
  const opts = { r, decomposeBoth: false, decomposeFactor: 4, useEffectiveConv2d: false };
  const tensors = [];
  for (let l = 0; l < layers; l++)
    for (const [name, out, inp] of PROJ) {
      const layer = { kind: "linear", outFeatures: out, inFeatures: inp, kernelSize: [] };
      for (const [param, shape] of lokrParamShapes(layer, opts).params)
        tensors.push([`base_model.model.model.layers.${l}.${name}.${param}`, [...shape]]);
    }
  const config = {
    peft_type: "LOKR",
    r,
    alpha,
    decompose_factor: 4,
    decompose_both: false,
    target_modules: ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"],
    task_type: null,
  };
  writeFileSync(join(dir, "adapter_config.json"), JSON.stringify(config, null, 2));
  writeRandomSafetensors(join(dir, "adapter_model.safetensors"), tensors, seed, { format: "pt" });
}
