import { KernelsError } from "../errors";
import { allocLike, type FloatArray, type Tensor } from "../tensor";
import { expectRank } from "./check";

function rowIndex(op: string, v: number, rows: number): number {
  if (!Number.isInteger(v) || v < 0 || v >= rows) {
    throw new KernelsError(op, `index ${v} is not an integer in [0, ${rows})`);
  }
  return v;
}

/**
 * Embedding lookup (`torch.nn.functional.embedding`): the rows of `table` `[n, d]` at the integer indices
 * held in `ids` (any shape, stored as floats), shaped `[...ids.shape, d]`.
 */
export function gatherRows<A extends FloatArray>(table: Tensor<A>, ids: Tensor<FloatArray>): Tensor<A> {
  const [n, d] = expectRank("gatherRows", "table", table, 2) as [number, number];
  const out = allocLike(table.data, ids.data.length * d);
  for (let i = 0; i < ids.data.length; i++) {
    const row = rowIndex("gatherRows", ids.data[i]!, n);
    out.set(table.data.subarray(row * d, row * d + d), i * d);
  }
  return { data: out, shape: [...ids.shape, d] };
}

/**
 * The gradient of {@link gatherRows} with respect to the table: `[rows, d]` with every row of `dy`
 * (`[...ids.shape, d]`) added to the row its index names.
 */
export function scatterAddRows<A extends FloatArray>(
  ids: Tensor<FloatArray>,
  dy: Tensor<A>,
  rows: number,
): Tensor<A> {
  const d = ids.data.length === 0 ? 0 : dy.data.length / ids.data.length;
  if (!Number.isInteger(d) || dy.shape.length !== ids.shape.length + 1) {
    throw new KernelsError(
      "scatterAddRows",
      `dy must be [${[...ids.shape, "d"].join(", ")}], got [${dy.shape.join(", ")}]`,
    );
  }
  const out = allocLike(dy.data, rows * d);
  for (let i = 0; i < ids.data.length; i++) {
    const off = rowIndex("scatterAddRows", ids.data[i]!, rows) * d;
    for (let j = 0; j < d; j++) out[off + j] = out[off + j]! + dy.data[i * d + j]!;
  }
  return { data: out, shape: [rows, d] };
}
