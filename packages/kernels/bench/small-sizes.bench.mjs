// Small-size crossovers between the plain-JS and WASM backends, which set WASM_MIN_WORK in
// src/backend/resolve-backend.ts. Each row is the mean of a 10-call loop, median over runs.
import {
  createRng,
  kronApply,
  kronMergeInto,
  lowRankHadamard,
  matmul,
  setBackend,
  uniformTensor,
} from "../dist/index.js";

const rng = createRng(7);
const rand = (shape) => uniformTensor(shape, rng, -1, 1);

export default async function bench(h) {
  const loop = (fn) => () => {
    for (let i = 0; i < 10; i++) fn();
  };
  for (const n of [8, 16, 32]) {
    const a = rand([n, n]);
    const b = rand([n, n]);
    const x = rand([1, n * n]);
    const w = { data: new Float32Array(n ** 4), shape: [n * n, n * n] };
    const a1 = rand([n * n, 4]);
    const b1 = rand([4, n * n]);
    const cases = [
      ["matmul", `${n}³`, () => matmul(a, b), 2 * n ** 3],
      ["kronApply", `x 1×${n * n}, ${n}×${n} ⊗ ${n}×${n}`, () => kronApply(x, a, b), 4 * n ** 3],
      ["kronMergeInto", `W ${n * n}², ${n}×${n} ⊗ ${n}×${n}`, () => kronMergeInto(w, a, b, 1), 2 * n ** 4],
      ["lowRankHadamard", `${n * n}², r = 4`, () => lowRankHadamard(a1, b1, a1, b1), n ** 4 * 18],
    ];
    for (const [op, shape, fn, flops] of cases) {
      for (const be of ["js", "wasm", "auto"]) {
        setBackend(be);
        const ms = h.time(loop(fn), { runs: 15, warmup: 20 }) / 10;
        h.row({
          group: `x-${op}-${n}`,
          op: `${op} (crossover)`,
          shape,
          backend: be,
          ms,
          flops,
          baseline: be === "js",
        });
      }
    }
  }
  setBackend("auto");
}
