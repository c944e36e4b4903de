import { formatShape, type Tensor, tensor } from "@lycoris-ts/kernels";
import { ModelError } from "./model-error";

/** Throws `invalid_input` unless `x` has `rank` dims (or one of `ranks`) and, when given, `dim` at `axis`. */
export function checkInput(
  module: string,
  x: Tensor<Float32Array>,
  ranks: readonly number[],
  axis: number,
  dim: number | null,
): void {
  const r = x.shape.length;
  if (!ranks.includes(r)) {
    throw new ModelError(
      "invalid_input",
      `${module} expects an input of rank ${ranks.join(" or ")}, got shape ${formatShape(x.shape)}`,
      { field: "input", expected: `rank ${ranks.join(" or ")}`, received: formatShape(x.shape) },
    );
  }
  const a = axis < 0 ? r + axis : axis;
  if (dim !== null && x.shape[a] !== dim) {
    throw new ModelError(
      "invalid_input",
      `${module} expects size ${dim} at dim ${a} of its input, got shape ${formatShape(x.shape)}`,
      { field: "input", expected: `size ${dim} at dim ${a}`, received: formatShape(x.shape) },
    );
  }
}

/** Throws `invalid_input` unless `dy` has exactly `shape`. */
export function checkGradShape(module: string, dy: Tensor<Float32Array>, shape: readonly number[]): void {
  if (dy.shape.length !== shape.length || dy.shape.some((v, i) => v !== shape[i])) {
    throw new ModelError(
      "invalid_input",
      `${module} backward expects a gradient of shape ${formatShape(shape)}, got ${formatShape(dy.shape)}`,
      { field: "dy", expected: formatShape(shape), received: formatShape(dy.shape) },
    );
  }
}

/** Adds `bias[j]` to every row `y[i, j]` in place (`y` holds rows of `bias.length`). */
export function addRowBias(y: Float32Array, bias: Float32Array): void {
  const n = bias.length;
  for (let i = 0; i < y.length; i += n) {
    for (let j = 0; j < n; j++) y[i + j]! += bias[j]!;
  }
}

/** Column sums of a row-major `[rows, n]` array, accumulated in float64. */
export function sumRows(dy: Float32Array, n: number): Float32Array {
  const acc = new Float64Array(n);
  for (let i = 0; i < dy.length; i += n) {
    for (let j = 0; j < n; j++) acc[j]! += dy[i + j]!;
  }
  return Float32Array.from(acc);
}

/** A tensor with the same data and a new shape. */
export function withShape(t: Tensor<Float32Array>, shape: readonly number[]): Tensor<Float32Array> {
  return tensor(t.data, shape);
}

/** Throws `invalid_hyperparameter` unless `v` is an integer ≥ `min`. */
export function checkInt(module: string, name: string, v: number, min: number): void {
  if (!Number.isInteger(v) || v < min) {
    throw new ModelError(
      "invalid_hyperparameter",
      `${module}: ${name} must be an integer >= ${min}, got ${v}`,
      {
        field: name,
        expected: `integer >= ${min}`,
        received: String(v),
      },
    );
  }
}
