import type { WasmArena } from "./wasm-arena";

/*
 * GotoBLAS-style blocking around the 6x8 GEBP kernel of wasm/kernels.wat. Block sizes fit this
 * machine's caches (48 KB L1d, 2 MB L2 per core): an A panel (6·KC floats) and a B panel (8·KC) share
 * L1, the packed A block (MC·KC, 120 KB) and B block (KC·NC, 1 MB) stay in L2.
 */
export const MR = 6;
export const NR = 8;
export const MC = 120;
export const KC = 256;
export const NC = 1024;

export function roundUp(x: number, to: number): number {
  return Math.ceil(x / to) * to;
}

/** Floats of packing scratch a GEMM with these dims needs (A block, then B block). */
export function packScratch(m: number, n: number, k: number): number {
  return packAFloats(m, k) + 8 + Math.min(k, KC) * Math.min(roundUp(n, NR), NC);
}

function packAFloats(m: number, k: number): number {
  return Math.min(roundUp(m, MR), MC) * Math.min(k, KC);
}

/** Float index of the packed-B block inside a packing scratch area starting at `pack`. */
export function packBOffset(pack: number, m: number, k: number): number {
  return roundUp(pack + packAFloats(m, k), 4);
}

/** A strided matrix operand in arena memory: element (i, j) at float index `off + i·rs + j·cs`. */
export interface Operand {
  off: number;
  rs: number;
  cs: number;
}

/**
 * `C = op(A)·op(B)` entirely in arena memory. C is written at float index `c` with row stride `ldc`
 * and must have room for `roundUp(m, 6)` rows and `roundUp(n, 8)` columns (padding is scratch).
 */
export function gemmInArena(
  arena: WasmArena,
  a: Operand,
  b: Operand,
  m: number,
  n: number,
  k: number,
  c: number,
  ldc: number,
  packA: number,
  packB: number,
): void {
  const w = arena.kernels;
  for (let jc = 0; jc < n; jc += NC) {
    const nc = Math.min(NC, n - jc);
    for (let pc = 0; pc < k; pc += KC) {
      const kc = Math.min(KC, k - pc);
      w.pack_b(4 * (b.off + pc * b.rs + jc * b.cs), b.rs, b.cs, kc, nc, 4 * packB);
      for (let ic = 0; ic < m; ic += MC) {
        const mc = Math.min(MC, m - ic);
        w.pack_a(4 * (a.off + ic * a.rs + pc * a.cs), a.rs, a.cs, mc, kc, 4 * packA);
        w.gebp(
          4 * packA,
          4 * packB,
          4 * (c + ic * ldc + jc),
          roundUp(mc, MR),
          roundUp(nc, NR),
          kc,
          4 * ldc,
          pc > 0 ? 1 : 0,
        );
      }
    }
  }
}
