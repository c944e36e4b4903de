import { KernelsError } from "./errors";

/*
 * Half-precision decoding/encoding for tensor file bytes (little-endian, as in safetensors).
 * F16 is IEEE 754 binary16; BF16 is the top half of a binary32. Encoders round to nearest even.
 */

function checkEven(bytes: Uint8Array, what: string): void {
  if (bytes.length % 2 !== 0) throw new RangeError(`${what}: byte length ${bytes.length} is odd`);
}

function halfToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const frac = h & 0x3ff;
  if (exp === 0) return sign * frac * 2 ** -24;
  if (exp === 0x1f) return frac === 0 ? sign * Number.POSITIVE_INFINITY : Number.NaN;
  return sign * (1 + frac / 1024) * 2 ** (exp - 15);
}

function outputFor<T extends Float32Array | Uint8Array>(
  out: T | undefined,
  length: number,
  make: (n: number) => T,
  what: string,
): T {
  if (out === undefined) return make(length);
  if (out.length < length) throw new KernelsError(what, `output holds ${out.length} values, needs ${length}`);
  return out.subarray(0, length) as T;
}

/**
 * Decodes little-endian IEEE binary16 values to float32, into `out` when given (at least
 * `bytes.length / 2` values; the result is its prefix) so a caller can reuse one buffer.
 */
export function decodeF16(bytes: Uint8Array, out?: Float32Array): Float32Array {
  checkEven(bytes, "decodeF16");
  const n = bytes.length >> 1;
  out = outputFor(out, n, (k) => new Float32Array(k), "decodeF16");
  for (let i = 0; i < n; i++) out[i] = halfToFloat(bytes[2 * i]! | (bytes[2 * i + 1]! << 8));
  return out;
}

/** Decodes little-endian bfloat16 values to float32 (exact), into `out` when given (see {@link decodeF16}). */
export function decodeBF16(bytes: Uint8Array, out?: Float32Array): Float32Array {
  checkEven(bytes, "decodeBF16");
  const n = bytes.length >> 1;
  out = outputFor(out, n, (k) => new Float32Array(k), "decodeBF16");
  const bits = new Uint32Array(out.buffer, out.byteOffset, n);
  for (let i = 0; i < n; i++) bits[i] = ((bytes[2 * i]! | (bytes[2 * i + 1]! << 8)) << 16) >>> 0;
  return out;
}

function floatToHalf(x: number): number {
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  const mant = x & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0);
  const e = exp - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign;
    const m = mant | 0x800000;
    const shift = 14 - e;
    let h = m >>> shift;
    const rem = m & ((1 << shift) - 1);
    const half = 1 << (shift - 1);
    if (rem > half || (rem === half && h & 1)) h++;
    return sign | h;
  }
  let h = (e << 10) | (mant >>> 13);
  const rem = mant & 0x1fff;
  if (rem > 0x1000 || (rem === 0x1000 && h & 1)) h++;
  return sign | h;
}

/**
 * Encodes float32 values as little-endian IEEE binary16 (round to nearest even, overflow to ±Inf),
 * into `out` when given (at least `2 · values.length` bytes; the result is its prefix).
 */
export function encodeF16(values: Float32Array, out?: Uint8Array): Uint8Array {
  out = outputFor(out, values.length * 2, (k) => new Uint8Array(k), "encodeF16");
  const bits = new Uint32Array(values.buffer, values.byteOffset, values.length);
  for (let i = 0; i < values.length; i++) {
    const h = floatToHalf(bits[i]!);
    out[2 * i] = h & 0xff;
    out[2 * i + 1] = h >>> 8;
  }
  return out;
}

/** Encodes float32 values as little-endian bfloat16 (round to nearest even; NaN stays NaN), into `out` when given. */
export function encodeBF16(values: Float32Array, out?: Uint8Array): Uint8Array {
  out = outputFor(out, values.length * 2, (k) => new Uint8Array(k), "encodeBF16");
  const bits = new Uint32Array(values.buffer, values.byteOffset, values.length);
  for (let i = 0; i < values.length; i++) {
    const x = bits[i]!;
    let h: number;
    if ((x & 0x7f800000) === 0x7f800000 && x & 0x7fffff) h = (x >>> 16) | 0x40;
    else h = ((x + 0x7fff + ((x >>> 16) & 1)) >>> 16) & 0xffff;
    out[2 * i] = h & 0xff;
    out[2 * i + 1] = h >>> 8;
  }
  return out;
}
