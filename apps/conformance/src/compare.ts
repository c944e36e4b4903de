import type { Tensor } from "@lycoris-ts/kernels";

/** The runner's tolerance: |ours − PEFT| ≤ ATOL_REL · (1 + |PEFT|) per element. */
export const TOLERANCE = 1e-5;

/** A failed check: what was compared and how far off it was. */
export class Mismatch extends Error {
  readonly worst: number;
  constructor(message: string, worst = Number.NaN) {
    super(message);
    this.worst = worst;
  }
}

/** Throws a {@link Mismatch} unless `ours` equals `peft` in shape and within tolerance per element. */
export function expectClose(
  what: string,
  ours: Tensor<Float32Array>,
  peft: Tensor<Float32Array> | undefined,
): number {
  if (peft === undefined) throw new Mismatch(`${what}: missing from expected.safetensors`);
  if (!sameShape(ours.shape, peft.shape)) {
    throw new Mismatch(`${what}: shape [${ours.shape.join(", ")}], expected [${peft.shape.join(", ")}]`);
  }
  let worst = 0;
  let worstAt = -1;
  for (let i = 0; i < peft.data.length; i++) {
    const e = peft.data[i]!;
    const err = Math.abs(ours.data[i]! - e) / (1 + Math.abs(e));
    if (!(err <= worst)) {
      worst = err;
      worstAt = i;
    }
  }
  if (!(worst <= TOLERANCE)) {
    throw new Mismatch(
      `${what}: element ${worstAt} is ${ours.data[worstAt]}, expected ${peft.data[worstAt]} (relative error ${worst.toExponential(2)})`,
      worst,
    );
  }
  return worst;
}

/** Throws a {@link Mismatch} unless the JSON values are deeply equal. */
export function expectEqual(what: string, ours: unknown, peft: unknown): void {
  if (JSON.stringify(ours) !== JSON.stringify(peft)) {
    throw new Mismatch(`${what}: ours ${JSON.stringify(ours)}, expected ${JSON.stringify(peft)}`);
  }
}

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}
