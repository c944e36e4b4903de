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

/** Throws a {@link Mismatch} unless the JSON-like values are deeply equal. */
export function expectEqual(what: string, ours: unknown, peft: unknown): void {
  const [a, b] = [exactJson(ours), exactJson(peft)];
  if (a !== b) throw new Mismatch(`${what}: ours ${a}, expected ${b}`);
}

/** JSON text in which NaN, ±Infinity, -0, bigints and undefined print as themselves (not `null`), so they compare unequal to `null`. */
function exactJson(value: unknown): string {
  const text = JSON.stringify(value, (_key, v: unknown) => {
    if (typeof v === "number" && (!Number.isFinite(v) || Object.is(v, -0))) {
      return `\u0000${Object.is(v, -0) ? "-0" : v}`;
    }
    if (typeof v === "bigint") return `\u0000${v}n`;
    return v === undefined ? "\u0000undefined" : v;
  });
  return (text ?? "undefined").replace(/"\\u0000([^"]*)"/g, "$1");
}

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}
