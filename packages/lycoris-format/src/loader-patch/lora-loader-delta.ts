import { matmul, type Tensor } from "@lycoris-ts/kernels";
import type { LoraLoaderPatch } from "./loader-patch";

/**
 * kohya's Tucker `down`: `D[i, n, …k] = Σ_j mid[i, j, …k] · down[j, n]` (`down` is `[r_j, in, 1, …]`,
 * `mid` `[r_i, r_j, …k]`), flattened to `[r_i, in · K]` (ComfyUI's `lora_mid` rebuild in `lora.py`).
 */
function tuckerDown(down: Tensor<Float32Array>, mid: Tensor<Float32Array>): Tensor<Float32Array> {
  const rj = down.shape[0]!;
  const inCh = down.data.length / rj;
  const ri = mid.shape[0]!;
  const k = mid.data.length / (ri * rj);
  const out = new Float32Array(ri * inCh * k);
  for (let i = 0; i < ri; i++) {
    for (let j = 0; j < rj; j++) {
      const midRow = (i * rj + j) * k;
      for (let n = 0; n < inCh; n++) {
        const d = down.data[j * inCh + n]!;
        if (d === 0) continue;
        const base = (i * inCh + n) * k;
        for (let t = 0; t < k; t++) out[base + t]! += mid.data[midRow + t]! * d;
      }
    }
  }
  return { data: out, shape: [ri, inCh * k] };
}

/** The `[out, in · K]` shape of the LoRA update (`up` rows × the flattened `down` or Tucker `down`). */
export function loraLoaderShape(p: LoraLoaderPatch): readonly [number, number] {
  const downInner = p.down.data.length / p.down.shape[0]!;
  const kernel = p.mid === null ? 1 : p.mid.data.length / (p.mid.shape[0]! * p.mid.shape[1]!);
  return [p.up.shape[0]!, downInner * kernel];
}

/**
 * The LoRA factors' flat update `up · down` (`[out, in · K]`), without the scale, as ComfyUI builds it;
 * into `into` (at least out · in · K values) when given.
 */
export function loraLoaderRaw(p: LoraLoaderPatch, into?: Float32Array): Tensor<Float32Array> {
  const out = p.up.shape[0]!;
  const up = { data: p.up.data, shape: [out, p.up.data.length / out] };
  const rows = p.down.shape[0]!;
  const down =
    p.mid === null
      ? { data: p.down.data, shape: [rows, p.down.data.length / rows] }
      : tuckerDown(p.down, p.mid);
  return matmul(up, down, { out: into });
}
