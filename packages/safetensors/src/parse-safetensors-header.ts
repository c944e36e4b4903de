import { describeValue } from "@lycoris-ts/errors";
import { checkHeaderJson } from "./check-header-json";
import { dtypeBits, isSafetensorsDtype, type SafetensorsDtype } from "./dtype";
import { SafetensorsError } from "./safetensors-error";

/** One tensor's entry in a safetensors header, with absolute file positions. */
export interface TensorInfo {
  /** The tensor's name (header key). */
  readonly name: string;
  /** Element type as written in the file. */
  readonly dtype: SafetensorsDtype;
  /** Shape, row-major; `[]` is a 0-d tensor of one element. */
  readonly shape: readonly number[];
  /** Absolute byte position of the tensor's data in the file. */
  readonly byteOffset: number;
  /** Length of the tensor's data in bytes. */
  readonly byteLength: number;
}

/** A validated safetensors header. */
export interface SafetensorsHeader {
  /** Every tensor, in file (data offset) order. */
  readonly tensors: readonly TensorInfo[];
  /** The `__metadata__` map, or `null` when the file has none. */
  readonly metadata: Readonly<Record<string, string>> | null;
  /** Absolute byte position of the data section (8 + header length). */
  readonly dataOffset: number;
}

/** Options of {@link parseSafetensorsHeader}. */
export interface ParseHeaderOptions {
  /** Largest accepted JSON header, in bytes. Default 100 MB (the reference implementation's cap). */
  readonly maxHeaderBytes?: number;
  /**
   * Size of the whole file, when `bytes` holds only its beginning (at least the 8-byte length
   * and the header). Default: `bytes.length`.
   */
  readonly fileSize?: number;
}

/** The reference implementation's header cap: 100,000,000 bytes. */
export const DEFAULT_MAX_HEADER_BYTES = 100_000_000;

const METADATA_KEY = "__metadata__";

/**
 * Reads the 8-byte little-endian header length at the start of a file and checks it against
 * the cap and the file size, before anything is allocated for the header.
 *
 * @returns the header length N; the header occupies bytes `[8, 8 + N)`.
 */
export function readHeaderLength(prefix: Uint8Array, fileSize: number, maxHeaderBytes: number): number {
  if (prefix.length < 8 || fileSize < 8) {
    throw new SafetensorsError(
      "truncated",
      "header length",
      "at least 8 bytes",
      `${Math.min(prefix.length, fileSize)} bytes`,
    );
  }
  const view = new DataView(prefix.buffer, prefix.byteOffset, 8);
  const lo = view.getUint32(0, true);
  const hi = view.getUint32(4, true);
  // hi * 2^32 + lo is exact as long as it stays below 2^53; anything above is over any cap.
  const n = hi >= 0x200000 ? Number.POSITIVE_INFINITY : hi * 0x1_0000_0000 + lo;
  if (n > maxHeaderBytes) {
    const shown = hi >= 0x200000 ? `${(BigInt(hi) << 32n) | BigInt(lo)}` : `${n}`;
    throw new SafetensorsError("header_too_large", "header length", `at most ${maxHeaderBytes} bytes`, shown);
  }
  if (8 + n > fileSize) {
    throw new SafetensorsError(
      "truncated",
      "header length",
      `8 + ${n} header bytes within the file`,
      `a file of ${fileSize} bytes`,
    );
  }
  return n;
}

/** A value as it appears in an error message: its type and a bounded preview (`describeValue`). */
const describe = (value: unknown): string => {
  if (value === null) return "null";
  if (Array.isArray(value)) return `array ${describeValue(value, 80)}`;
  if (typeof value === "object") return "object";
  if (typeof value === "string") return `string ${describeValue(value, 80)}`;
  return `${typeof value} ${String(value)}`;
};

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === "object" && value !== null && !Array.isArray(value);

const isIndex = (value: unknown): value is number =>
  typeof value === "number" && Number.isSafeInteger(value) && value >= 0;

interface RawEntry {
  readonly name: string;
  readonly dtype: SafetensorsDtype;
  readonly shape: readonly number[];
  readonly begin: number;
  readonly end: number;
  readonly order: number;
}

function parseEntry(name: string, value: unknown, order: number): RawEntry {
  if (!isRecord(value)) {
    throw new SafetensorsError(
      "invalid_header",
      name,
      "an object {dtype, shape, data_offsets}",
      describe(value),
    );
  }
  const { dtype, shape, data_offsets: offsets } = value;
  if (typeof dtype !== "string") {
    throw new SafetensorsError("invalid_header", name, "dtype as a string", describe(dtype));
  }
  if (!isSafetensorsDtype(dtype)) {
    throw new SafetensorsError("unknown_dtype", name, "a safetensors dtype (F32, F16, BF16, ...)", dtype);
  }
  if (!Array.isArray(shape) || !shape.every(isIndex)) {
    throw new SafetensorsError("invalid_header", name, "shape as an array of integers >= 0", describe(shape));
  }
  if (!Array.isArray(offsets) || offsets.length !== 2) {
    throw new SafetensorsError("invalid_header", name, "data_offsets as [begin, end]", describe(offsets));
  }
  const [begin, end] = offsets as [unknown, unknown];
  if (!isIndex(begin) || !isIndex(end)) {
    throw new SafetensorsError("bad_offsets", name, "data_offsets of integers >= 0", describe(offsets));
  }
  if (end < begin) {
    throw new SafetensorsError("bad_offsets", name, "data_offsets with begin <= end", `[${begin}, ${end}]`);
  }
  return { name, dtype, shape: shape as number[], begin, end, order };
}

function parseMetadata(value: unknown): Record<string, string> | null {
  if (value === null) return null;
  if (!isRecord(value)) {
    throw new SafetensorsError("invalid_header", METADATA_KEY, "an object of strings", describe(value));
  }
  const out: Record<string, string> = {};
  for (const [key, v] of Object.entries(value)) {
    if (typeof v !== "string") {
      throw new SafetensorsError("invalid_header", `${METADATA_KEY}.${key}`, "a string value", describe(v));
    }
    Object.defineProperty(out, key, { value: v, enumerable: true, writable: true, configurable: true });
  }
  return out;
}

function expectedByteLength(entry: RawEntry): number {
  let numel = 1;
  for (const d of entry.shape) {
    numel *= d;
    if (!Number.isSafeInteger(numel)) {
      throw new SafetensorsError(
        "size_mismatch",
        entry.name,
        "a shape whose element count is below 2^53",
        `shape [${entry.shape.join(", ")}]`,
      );
    }
  }
  const bits = numel * dtypeBits(entry.dtype);
  if (!Number.isSafeInteger(bits) || bits % 8 !== 0) {
    throw new SafetensorsError(
      "size_mismatch",
      entry.name,
      `a whole number of bytes for shape [${entry.shape.join(", ")}] × ${entry.dtype}`,
      `${bits} bits`,
    );
  }
  return bits / 8;
}

/**
 * Parses and validates a safetensors header.
 *
 * `bytes` is the whole file, or its first `8 + N` bytes together with `opts.fileSize`. Checks,
 * in order: the 8-byte length against the cap and the file size (before allocating anything),
 * UTF-8, nesting at most 64 deep and no key twice in one object, JSON, the header being an
 * object, `__metadata__` being string → string, every entry's dtype (known), shape (integers
 * ≥ 0), offsets (integers, begin ≤ end), the byte length (element count × dtype size = end −
 * begin), offsets contiguous and non-overlapping from 0, and the data section ending exactly at
 * the end of the file.
 *
 * @throws SafetensorsError naming the offending tensor or header key.
 */
export function parseSafetensorsHeader(bytes: Uint8Array, opts: ParseHeaderOptions = {}): SafetensorsHeader {
  const fileSize = opts.fileSize ?? bytes.length;
  const maxHeaderBytes = opts.maxHeaderBytes ?? DEFAULT_MAX_HEADER_BYTES;
  const n = readHeaderLength(bytes, fileSize, maxHeaderBytes);
  if (bytes.length < 8 + n) {
    throw new SafetensorsError("truncated", "header", `${8 + n} bytes of header`, `${bytes.length} bytes`);
  }
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true }).decode(bytes.subarray(8, 8 + n));
  } catch (cause) {
    throw new SafetensorsError("invalid_json", "header", "UTF-8 text", "invalid UTF-8 bytes", { cause });
  }
  checkHeaderJson(text);
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (cause) {
    const detail = cause instanceof Error ? cause.message : String(cause);
    throw new SafetensorsError("invalid_json", "header", "a JSON object", detail.slice(0, 120), { cause });
  }
  if (!isRecord(json)) {
    throw new SafetensorsError("invalid_header", "header", "a JSON object", describe(json));
  }

  let metadata: Record<string, string> | null = null;
  const entries: RawEntry[] = [];
  let order = 0;
  for (const [name, value] of Object.entries(json)) {
    if (name === METADATA_KEY) metadata = parseMetadata(value);
    else entries.push(parseEntry(name, value, order++));
  }

  const dataOffset = 8 + n;
  const dataLength = fileSize - dataOffset;
  const sizes = new Map<RawEntry, number>();
  for (const entry of entries) {
    const size = expectedByteLength(entry);
    if (entry.end - entry.begin !== size) {
      throw new SafetensorsError(
        "size_mismatch",
        entry.name,
        `${size} bytes (shape [${entry.shape.join(", ")}] × ${entry.dtype})`,
        `${entry.end - entry.begin} bytes (data_offsets [${entry.begin}, ${entry.end}])`,
      );
    }
    sizes.set(entry, size);
  }

  entries.sort((a, b) => a.begin - b.begin || a.end - b.end || a.order - b.order);
  let cursor = 0;
  let previous: RawEntry | null = null;
  for (const entry of entries) {
    if (entry.begin < cursor) {
      throw new SafetensorsError(
        "overlap",
        entry.name,
        `data starting at or after byte ${cursor} (end of '${previous?.name ?? ""}')`,
        `data_offsets [${entry.begin}, ${entry.end}]`,
      );
    }
    if (entry.begin > cursor) {
      throw new SafetensorsError(
        "bad_offsets",
        entry.name,
        `data starting at byte ${cursor} (contiguous, no gaps)`,
        `data_offsets [${entry.begin}, ${entry.end}]`,
      );
    }
    cursor = entry.end;
    previous = entry;
  }
  if (cursor > dataLength) {
    throw new SafetensorsError(
      "truncated",
      previous?.name ?? "data section",
      `${cursor} bytes of tensor data after the header`,
      `${dataLength} bytes`,
    );
  }
  if (cursor !== dataLength) {
    throw new SafetensorsError(
      "size_mismatch",
      "data section",
      `${cursor} bytes of tensor data after the header`,
      `${dataLength} bytes`,
    );
  }

  const tensors: TensorInfo[] = entries.map((e) => ({
    name: e.name,
    dtype: e.dtype,
    shape: e.shape,
    byteOffset: dataOffset + e.begin,
    byteLength: sizes.get(e) ?? e.end - e.begin,
  }));
  return { tensors, metadata, dataOffset };
}
