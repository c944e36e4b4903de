import { type FloatArray, numel, outputLike, type Tensor } from "../tensor";
import { kronMergeData, kronShape } from "./kron-merge";

/**
 * The Kronecker product, materialised. a is 2-D [p,q]; b is [r,s,...kernel]; the result is
 * [p·r, q·s, ...kernel] with `out[i·r+j, k·s+l, …] = a[i,k]·b[j,l,…]` (a broadcast over the kernel dims,
 * which is what LoKr's conv rebuild means; note `torch.kron` with a 2-D a and 3-D b differs).
 * With `out` (see `outputLike`), the product is written there instead of a fresh array.
 */
export function kron<A extends FloatArray>(a: Tensor<A>, b: Tensor<A>, out?: A): Tensor<A> {
  const shape = kronShape("kron", a, b);
  const data = outputLike("kron", a.data, numel(shape), out);
  if (out !== undefined) data.fill(0);
  kronMergeData(data, a, b, 1);
  return { data, shape };
}
