// Benchmarks of @lycoris-ts/kernels (run by `pnpm bench` from the repo root, against dist/).
// The rows issue #3 asks for: matmul per backend, LoKr structured apply vs materialise-then-dense,
// fused merge vs a plain copy of the same bytes, LoHa delta.
import {
  createRng,
  initGpuJs,
  kron,
  kronApply,
  kronMergeInto,
  lowRankHadamard,
  matmul,
  residentZeros,
  setBackend,
  setThreads,
  uniformTensor,
} from "../dist/index.js";

const rng = createRng(42);
const rand = (shape) => uniformTensor(shape, rng, -1, 1);

export default async function bench(h) {
  let gpuInfo;
  try {
    gpuInfo = await initGpuJs();
  } catch (err) {
    console.error(`gpu.js unavailable: ${err}`);
  }

  // matmul 256 / 512 / 1024 per backend; baseline: the plain typed-array JS loop.
  const backends = ["auto", "wasm", "js", "ml-matrix", ...(gpuInfo ? ["gpu.js"] : [])];
  for (const n of [256, 512, 1024]) {
    const a = rand([n, n]);
    const b = rand([n, n]);
    for (const be of backends) {
      setBackend(be);
      const slow = be === "js" || be === "ml-matrix" || be === "gpu.js";
      const runs = n >= 1024 ? (slow ? 1 : 5) : slow ? 3 : 7;
      const ms = h.time(() => matmul(a, b), { runs, warmup: n >= 1024 && slow ? 0 : 2 });
      h.row({
        group: `matmul${n}`,
        op: "matmul",
        shape: `${n}×${n}·${n}×${n}`,
        backend: be === "gpu.js" ? `gpu.js (${gpuInfo.mode})` : be,
        ms,
        flops: 2 * n ** 3,
        baseline: be === "js",
        target: n === 1024 && be === "wasm" ? "≥ 18 GFLOP/s one core (PyTorch+OpenBLAS: 27.8)" : undefined,
      });
    }
    // The opt-in worker-thread split (setThreads), on this machine's two cores.
    setBackend("wasm");
    const threads = setThreads(2);
    if (threads === 2) {
      const ms = h.time(() => matmul(a, b), { runs: 7, warmup: 2 });
      h.row({
        group: `matmul${n}`,
        op: "matmul",
        shape: `${n}×${n}·${n}×${n}`,
        backend: "wasm, 2 threads",
        ms,
        flops: 2 * n ** 3,
        target: n === 1024 ? "more than one core" : undefined,
      });
    }
    setThreads(1);
  }
  setBackend("auto");

  // A linear layer's forward x·Wᵀ at small batch (W 4096²): the WASM dot-rows path (W streamed once)
  // against the plain JS loop; rows above DOT_ROWS_MAX_M (16) use the packed GEMM.
  const wLinear = rand([4096, 4096]);
  for (const m of [1, 8, 16, 32]) {
    const x = rand([m, 4096]);
    for (const be of ["auto", "js"]) {
      setBackend(be);
      const ms = h.time(() => matmul(x, wLinear, { transB: true }), { runs: be === "js" ? 3 : 9, warmup: 1 });
      h.row({
        group: `linear${m}`,
        op: "linear x·Wᵀ",
        shape: `x ${m}×4096, W 4096²`,
        backend: be,
        ms,
        flops: 2 * m * 4096 * 4096,
        baseline: be === "js",
      });
    }
  }
  setBackend("auto");

  // LoKr 4096² with a, b 64×64: structured apply vs materialise kron then dense x·Wᵀ.
  const a = rand([64, 64]);
  const b = rand([64, 64]);
  for (const n of [1, 8, 64, 512]) {
    const x = rand([n, 4096]);
    const flopsStructured = 2 * n * (64 * 64 * 64 * 2);
    const msDense = h.time(
      () => {
        const w = kron(a, b);
        matmul(x, w, { transB: true });
      },
      { runs: n >= 512 ? 2 : 3, warmup: 1 },
    );
    h.row({
      group: `lokr${n}`,
      op: "LoKr materialise+dense",
      shape: `x ${n}×4096, W 4096² (64×64 ⊗ 64×64)`,
      backend: "auto",
      ms: msDense,
      flops: 2 * n * 4096 * 4096,
      baseline: true,
    });
    for (const be of ["auto", "js"]) {
      setBackend(be);
      // Short calls get a long warm-up so the JS glue is optimised (steady state, as in a training loop).
      const ms = h.time(() => kronApply(x, a, b, 1), {
        runs: be === "js" && n >= 64 ? 3 : 31,
        warmup: n <= 64 ? 50 : 3,
      });
      h.row({
        group: `lokr${n}`,
        op: "LoKr structured apply",
        shape: `x ${n}×4096, W 4096² (64×64 ⊗ 64×64)`,
        backend: be,
        ms,
        flops: flopsStructured,
        target: n === 8 && be === "auto" ? "≤ 0.6 ms" : undefined,
      });
    }
    setBackend("auto");
  }

  // Fused merge W += s·kron(A, B), 4096², against a plain copy of the same 64 MB (bandwidth floor).
  // Both move 128 MB (read + write 64 MB).
  const src = new Float32Array(4096 * 4096).fill(1);
  const dst = new Float32Array(4096 * 4096);
  const bytes = 2 * 4096 * 4096 * 4;
  const msCopy = h.time(() => dst.set(src), { runs: 9, warmup: 2 });
  h.row({
    group: "merge",
    op: "plain copy 64 MB",
    shape: "4096² f32",
    backend: "TypedArray.set",
    ms: msCopy,
    bytes,
    baseline: true,
  });
  const wRes = residentZeros([4096, 4096]);
  const ms1 = h.time(() => kronMergeInto(wRes, a, b, 0.5), { runs: 9, warmup: 2 });
  h.row({
    group: "merge",
    op: "fused merge W += s·kron(A,B)",
    shape: "4096², A, B 64×64",
    backend: "wasm (W resident)",
    ms: ms1,
    bytes,
    target: "≥ 80% of copy bandwidth (≈ 15 ms)",
  });
  const wPlain = { data: new Float32Array(4096 * 4096), shape: [4096, 4096] };
  for (const be of ["wasm", "js"]) {
    setBackend(be);
    const ms = h.time(() => kronMergeInto(wPlain, a, b, 0.5), { runs: 5, warmup: 1 });
    h.row({
      group: "merge",
      op: "fused merge W += s·kron(A,B)",
      shape: "4096², A, B 64×64",
      backend: be === "wasm" ? "wasm (W in JS memory, streamed)" : "js",
      ms,
      bytes,
    });
  }
  setBackend("auto");

  // LoHa delta 4096², rank 8: row kernel vs the plain-JS row kernel (baseline) and vs two dense
  // products + Hadamard (what PyTorch does).
  const a1 = rand([4096, 8]);
  const b1 = rand([8, 4096]);
  const a2 = rand([4096, 8]);
  const b2 = rand([8, 4096]);
  const lohaFlops = 4096 * 4096 * (2 * 8 * 2 + 2);
  for (const be of ["js", "auto"]) {
    setBackend(be);
    const ms = h.time(() => lowRankHadamard(a1, b1, a2, b2, 0.5), { runs: be === "js" ? 3 : 7, warmup: 1 });
    h.row({
      group: "loha",
      op: "LoHa delta (row kernel)",
      shape: "4096², r = 8",
      backend: be,
      ms,
      flops: lohaFlops,
      baseline: be === "js",
    });
  }
  setBackend("auto");
  const msTwo = h.time(
    () => {
      const p1 = matmul(a1, b1);
      const p2 = matmul(a2, b2);
      for (let i = 0; i < p1.data.length; i++) p1.data[i] = 0.5 * p1.data[i] * p2.data[i];
    },
    { runs: 5, warmup: 1 },
  );
  h.row({
    group: "loha",
    op: "LoHa delta (2 matmuls + ⊙)",
    shape: "4096², r = 8",
    backend: "auto",
    ms: msTwo,
    flops: lohaFlops,
  });

  // Every op producing a large tensor, both ways: into a fresh array (baseline) and into one reused
  // output buffer. Where touching fresh memory is expensive, the fresh rows pay it on every call.
  const big = [
    ["kron", "64×64 ⊗ 64×64 → 4096²", 4096 * 4096, (out) => kron(a, b, out), {}],
    ["matmul", "1024³", 1024 * 1024, (out) => matmul(ma, mb, { out }), { flops: 2 * 1024 ** 3 }],
    ["LoHa delta", "4096², r = 8", 4096 * 4096, (out) => lowRankHadamard(a1, b1, a2, b2, 0.5, out), {}],
  ];
  const ma = rand([1024, 1024]);
  const mb = rand([1024, 1024]);
  for (const [op, shape, n, run, rate] of big) {
    const out = new Float32Array(n);
    const fresh = h.time(() => run(undefined), { runs: 5, warmup: 1 });
    const reused = h.time(() => run(out), { runs: 5, warmup: 1 });
    const measure = rate.flops === undefined ? { bytes: n * 4 } : rate; // bytes: the output written
    h.row({
      group: `out-${op}`,
      op: `${op} (fresh output)`,
      shape,
      backend: "auto",
      ms: fresh,
      ...measure,
      baseline: true,
    });
    h.row({
      group: `out-${op}`,
      op: `${op} (reused output)`,
      shape,
      backend: "auto",
      ms: reused,
      ...measure,
    });
  }
}
