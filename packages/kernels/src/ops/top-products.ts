import { KernelsError } from "../errors";

/** The `k` largest products `a[i]·b[j]` of two descending lists, largest first ({@link topProducts}). */
export interface TopProducts {
  /** `[k]` the products, descending. */
  readonly values: Float64Array;
  /** `[k]` the index into `a` of each product. */
  readonly i: Int32Array;
  /** `[k]` the index into `b` of each product. */
  readonly j: Int32Array;
}

function checkDescending(name: string, x: ArrayLike<number>): void {
  for (let t = 0; t < x.length; t++) {
    const v = x[t]!;
    if (!(v >= 0) || (t > 0 && v > x[t - 1]!)) {
      throw new KernelsError(
        "topProducts",
        `${name} must be non-negative and descending (singular values), got ${v} at index ${t}`,
      );
    }
  }
}

/**
 * The `k` largest products `a[i]·b[j]` of two non-negative descending lists (the singular values of a Kronecker
 * product are the products of its factors' singular values), largest first, with ties in `(i, j)` order. A heap
 * over the frontier of candidate pairs: `O(k·log k)` without forming all `|a|·|b|` products.
 */
export function topProducts(a: ArrayLike<number>, b: ArrayLike<number>, k: number): TopProducts {
  checkDescending("a", a);
  checkDescending("b", b);
  const total = a.length * b.length;
  if (!Number.isInteger(k) || k < 0 || k > total) {
    throw new KernelsError("topProducts", `k must be an integer in [0, ${total}], got ${k}`);
  }
  const values = new Float64Array(k);
  const is = new Int32Array(k);
  const js = new Int32Array(k);
  // Max-heap of (i, j) pairs; (i, 0) enters when (i − 1, 0) leaves, (i, j + 1) when (i, j) leaves, so every
  // pair enters after all pairs that dominate it and at most once.
  const hi: number[] = [];
  const hj: number[] = [];
  const before = (x: number, y: number): boolean => {
    const px = a[hi[x]!]! * b[hj[x]!]!;
    const py = a[hi[y]!]! * b[hj[y]!]!;
    if (px !== py) return px > py;
    return hi[x]! !== hi[y]! ? hi[x]! < hi[y]! : hj[x]! < hj[y]!;
  };
  const swap = (x: number, y: number): void => {
    [hi[x], hi[y]] = [hi[y]!, hi[x]!];
    [hj[x], hj[y]] = [hj[y]!, hj[x]!];
  };
  const push = (i: number, j: number): void => {
    hi.push(i);
    hj.push(j);
    let c = hi.length - 1;
    while (c > 0) {
      const parent = (c - 1) >> 1;
      if (!before(c, parent)) break;
      swap(c, parent);
      c = parent;
    }
  };
  const pop = (): [number, number] => {
    const top: [number, number] = [hi[0]!, hj[0]!];
    const lastI = hi.pop()!;
    const lastJ = hj.pop()!;
    if (hi.length > 0) {
      hi[0] = lastI;
      hj[0] = lastJ;
      let c = 0;
      for (;;) {
        const l = 2 * c + 1;
        const r = l + 1;
        let best = c;
        if (l < hi.length && before(l, best)) best = l;
        if (r < hi.length && before(r, best)) best = r;
        if (best === c) break;
        swap(c, best);
        c = best;
      }
    }
    return top;
  };
  if (k > 0) push(0, 0);
  for (let t = 0; t < k; t++) {
    const [i, j] = pop();
    values[t] = a[i]! * b[j]!;
    is[t] = i;
    js[t] = j;
    if (j === 0 && i + 1 < a.length) push(i + 1, 0);
    if (j + 1 < b.length) push(i, j + 1);
  }
  return { values, i: is, j: js };
}
