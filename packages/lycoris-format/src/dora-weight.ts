import type { Tensor } from "@lycoris-ts/kernels";

/** float32 machine epsilon, ComfyUI's DoRA norm offset (`torch.finfo(float32).eps`). */
export const DORA_EPS = 1.1920929e-7;

/** Whether `dora` has one magnitude per output row of a weight with `rows` rows (else: per input column). */
export function doraOnOutputAxis(dora: Tensor<Float32Array>, rows: number): boolean {
  return dora.shape[0] === rows && dora.data.length === rows;
}

/**
 * ComfyUI's DoRA weight (`weight_decompose`): `W' = (W0 + Δ) · dora_scale / (N + ε)`. With one
 * magnitude per output row, `N` is the row norm of the **original** `W0`; otherwise the column norm
 * (over rows and kernel) of `W0 + Δ`. `delta` is the scaled update, already passed through the
 * patch's function; `W0` is never changed.
 */
export function doraWeight(
  w0: Tensor<Float32Array>,
  delta: ArrayLike<number>,
  dora: Tensor<Float32Array>,
): Float64Array {
  const out = w0.shape[0]!;
  const inCh = w0.shape[1]!;
  const inner = w0.data.length / out;
  const k = inner / inCh;
  const wd = new Float64Array(w0.data.length);
  for (let i = 0; i < wd.length; i++) wd[i] = w0.data[i]! + delta[i]!;
  if (doraOnOutputAxis(dora, out)) {
    for (let o = 0; o < out; o++) {
      let ss = 0;
      for (let j = 0; j < inner; j++) ss += w0.data[o * inner + j]! ** 2;
      const f = dora.data[o]! / (Math.sqrt(ss) + DORA_EPS);
      for (let j = 0; j < inner; j++) wd[o * inner + j]! *= f;
    }
    return wd;
  }
  const ss = new Float64Array(inCh);
  for (let o = 0; o < out; o++) {
    for (let c = 0; c < inCh; c++) {
      for (let t = 0; t < k; t++) ss[c]! += wd[o * inner + c * k + t]! ** 2;
    }
  }
  const f = Array.from(ss, (s, c) => dora.data[c]! / (Math.sqrt(s) + DORA_EPS));
  for (let o = 0; o < out; o++) {
    for (let c = 0; c < inCh; c++) {
      for (let t = 0; t < k; t++) wd[o * inner + c * k + t]! *= f[c]!;
    }
  }
  return wd;
}
