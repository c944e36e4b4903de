/**
 * IEEE half (F16) and bfloat16 (BF16) codecs for little-endian byte buffers.
 *
 * Decoding is exact (every F16/BF16 value is a float32). Encoding rounds to nearest, ties to
 * even, as torch's `.to(torch.float16 / torch.bfloat16)` does; overflow gives ±Infinity and NaN
 * stays NaN. Float64 input is first rounded to float32.
 */

const littleEndian = (): boolean => new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** Reads `count` little-endian u16 values starting at `bytes[0]`. */
function readU16(bytes: Uint8Array): Uint16Array {
  const count = bytes.length >>> 1;
  const out = new Uint16Array(count);
  if (littleEndian()) {
    new Uint8Array(out.buffer).set(bytes.subarray(0, count * 2));
  } else {
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    for (let i = 0; i < count; i++) out[i] = view.getUint16(2 * i, true);
  }
  return out;
}

function toBytes(u16: Uint16Array): Uint8Array {
  if (littleEndian()) return new Uint8Array(u16.buffer, u16.byteOffset, u16.byteLength);
  const out = new Uint8Array(u16.length * 2);
  const view = new DataView(out.buffer);
  for (let i = 0; i < u16.length; i++) view.setUint16(2 * i, u16[i]!, true);
  return out;
}

/** Decodes little-endian IEEE half-precision values (2 bytes each) to float32. */
export function decodeFloat16(bytes: Uint8Array): Float32Array {
  const halves = readU16(bytes);
  const out = new Float32Array(halves.length);
  const bits = new Uint32Array(out.buffer);
  for (let i = 0; i < halves.length; i++) {
    const h = halves[i]!;
    const sign = (h & 0x8000) << 16;
    const exp = (h >>> 10) & 0x1f;
    const mant = h & 0x3ff;
    if (exp === 0) {
      // zero or subnormal: mant · 2^-24, exact in float32
      out[i] = (sign ? -mant : mant) * 2 ** -24;
      if (mant === 0) bits[i] = sign >>> 0;
    } else if (exp === 31) {
      bits[i] = (sign | 0x7f800000 | (mant << 13)) >>> 0;
    } else {
      bits[i] = (sign | ((exp + 112) << 23) | (mant << 13)) >>> 0;
    }
  }
  return out;
}

/** Decodes little-endian bfloat16 values (2 bytes each) to float32. */
export function decodeBFloat16(bytes: Uint8Array): Float32Array {
  const halves = readU16(bytes);
  const out = new Float32Array(halves.length);
  const bits = new Uint32Array(out.buffer);
  for (let i = 0; i < halves.length; i++) bits[i] = halves[i]! << 16;
  return out;
}

function asFloat32(values: Float32Array | Float64Array): Float32Array {
  return values instanceof Float32Array ? values : Float32Array.from(values);
}

/** Encodes values as little-endian IEEE half precision, rounding to nearest even. */
export function encodeFloat16(values: Float32Array | Float64Array): Uint8Array {
  const f32 = asFloat32(values);
  const bits = new Uint32Array(f32.buffer, f32.byteOffset, f32.length);
  const out = new Uint16Array(f32.length);
  for (let i = 0; i < f32.length; i++) {
    const x = bits[i]!;
    const sign = (x >>> 16) & 0x8000;
    const exp = (x >>> 23) & 0xff;
    const mant = x & 0x7fffff;
    if (exp === 0xff) {
      out[i] = sign | 0x7c00 | (mant === 0 ? 0 : 0x200 | (mant >>> 13));
      continue;
    }
    const e = exp - 112; // rebias 127 -> 15
    if (e >= 31) {
      out[i] = sign | 0x7c00;
    } else if (e <= 0) {
      if (e < -10) {
        out[i] = sign; // below half of the smallest subnormal: rounds to zero
        continue;
      }
      const m = mant | 0x800000;
      const shift = 14 - e;
      let h = m >>> shift;
      const rem = m & ((1 << shift) - 1);
      const half = 1 << (shift - 1);
      if (rem > half || (rem === half && (h & 1) === 1)) h++;
      out[i] = sign | h;
    } else {
      let h = (e << 10) | (mant >>> 13);
      const rem = mant & 0x1fff;
      if (rem > 0x1000 || (rem === 0x1000 && (h & 1) === 1)) h++; // a carry moves into the exponent
      out[i] = sign | Math.min(h, 0x7c00);
    }
  }
  return toBytes(out);
}

/** Encodes values as little-endian bfloat16, rounding to nearest even. */
export function encodeBFloat16(values: Float32Array | Float64Array): Uint8Array {
  const f32 = asFloat32(values);
  const bits = new Uint32Array(f32.buffer, f32.byteOffset, f32.length);
  const out = new Uint16Array(f32.length);
  for (let i = 0; i < f32.length; i++) {
    const x = bits[i]!;
    if ((x & 0x7fffffff) > 0x7f800000) {
      out[i] = (x >>> 16) | 0x40; // NaN stays a (quiet) NaN
    } else {
      out[i] = (x + 0x7fff + ((x >>> 16) & 1)) >>> 16;
    }
  }
  return toBytes(out);
}
