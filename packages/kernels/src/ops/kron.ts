import { allocLike, type FloatArray, numel, type Tensor } from "../tensor";
import { kronMergeData, kronShape } from "./kron-merge";

/**
 * The Kronecker product, materialised. a is 2-D [p,q]; b is [r,s,...kernel]; the result is
 * [p·r, q·s, ...kernel] with `out[i·r+j, k·s+l, …] = a[i,k]·b[j,l,…]` (a broadcast over the kernel dims,
 * which is what LoKr's conv rebuild means; note `torch.kron` with a 2-D a and 3-D b differs).
 */
export function kron<A extends FloatArray>(a: Tensor<A>, b: Tensor<A>): Tensor<A> {
  const shape = kronShape("kron", a, b);
  const out = allocLike(a.data, numel(shape));
  kronMergeData(out, a, b, 1);
  return { data: out, shape };
}
