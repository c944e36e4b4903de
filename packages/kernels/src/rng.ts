import { XSadd } from "ml-xsadd";
import { KernelsError } from "./errors";
import { formatShape, numel, type Tensor } from "./tensor";

/** A seeded random source. */
export interface Rng {
  /** Uniform in [0, 1). */
  uniform(): number;
  /** Standard normal (Box–Muller). */
  normal(): number;
}

/** A reproducible RNG (XSadd, the generator ml-matrix uses) seeded with `seed`. */
export function createRng(seed: number): Rng {
  const gen = new XSadd(seed);
  let spare: number | undefined;
  return {
    uniform: () => gen.getFloat(),
    normal: () => {
      if (spare !== undefined) {
        const v = spare;
        spare = undefined;
        return v;
      }
      let u = 0;
      while (u === 0) u = gen.getFloat();
      const v = gen.getFloat();
      const rad = Math.sqrt(-2 * Math.log(u));
      spare = rad * Math.sin(2 * Math.PI * v);
      return rad * Math.cos(2 * Math.PI * v);
    },
  };
}

/** torch's fan-in rule: `shape[1] * prod(shape[2:])`. */
export function fanIn(shape: readonly number[]): number {
  if (shape.length < 2) {
    throw new KernelsError("fanIn", `fan in needs at least 2 dims, got ${formatShape(shape)}`);
  }
  let f = shape[1]!;
  for (let i = 2; i < shape.length; i++) f *= shape[i]!;
  return f;
}

/** Uniform `U(low, high)` float32 tensor. */
export function uniformTensor(
  shape: readonly number[],
  rng: Rng,
  low: number,
  high: number,
): Tensor<Float32Array> {
  const data = new Float32Array(numel(shape));
  for (let i = 0; i < data.length; i++) data[i] = low + (high - low) * rng.uniform();
  return { data, shape: [...shape] };
}

/** Normal `N(mean, std²)` float32 tensor. */
export function normalTensor(
  shape: readonly number[],
  rng: Rng,
  std: number,
  mean = 0,
): Tensor<Float32Array> {
  const data = new Float32Array(numel(shape));
  for (let i = 0; i < data.length; i++) data[i] = mean + std * rng.normal();
  return { data, shape: [...shape] };
}

/**
 * `torch.nn.init.kaiming_uniform_` with leaky-relu gain: `U(-b, b)`, `b = sqrt(6 / ((1 + a²)·fanIn))`,
 * which is `1/sqrt(fanIn)` for the default `a = √5` (what nn.Linear and PEFT use).
 */
export function kaimingUniform(shape: readonly number[], rng: Rng, a = Math.sqrt(5)): Tensor<Float32Array> {
  const bound = Math.sqrt(6 / ((1 + a * a) * fanIn(shape)));
  return uniformTensor(shape, rng, -bound, bound);
}
