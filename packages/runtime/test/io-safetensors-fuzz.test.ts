import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, test } from "vitest";
import {
  dtypeBits,
  parseSafetensors,
  parseSafetensorsHeader,
  type SafetensorsDtype,
  SafetensorsError,
  SafetensorsReader,
} from "../src/io/index";
import { findSafetensorsFiles, seededRandom, tempDir } from "./support/io-fixtures";

/**
 * Fuzzing the safetensors reader: valid fixture files are mutated (bit flips, truncation,
 * header-length edits, offset / shape / dtype / metadata edits, huge numbers) and each result
 * must either parse *correctly* (checked independently below) or throw a SafetensorsError.
 * Any other exception, a hang (the whole run has a time budget) or a huge allocation (header
 * lengths and shapes up to 2^64 would need one) fails the test.
 */

const seeds = findSafetensorsFiles()
  .filter((f) => /(adapter_model|adapter)\.safetensors$/.test(f))
  .slice(0, 12)
  .map((f) => new Uint8Array(readFileSync(f)));

const DTYPES = [
  "F32",
  "F16",
  "BF16",
  "F64",
  "I64",
  "U8",
  "BOOL",
  "F4",
  "F6_E2M3",
  "C64",
  "F8_E4M3",
  "X9",
  "",
  "f32",
];
const HUGE = [2 ** 53, 2 ** 53 + 2, 2 ** 63, 2 ** 64, 1e300, -1, -0, 0.5, 4294967296, 2 ** 31];

type Rand = () => number;
const pick = <T>(rand: Rand, xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;

function splitFile(bytes: Uint8Array): { header: Record<string, unknown>; data: Uint8Array } {
  const n = Number(new DataView(bytes.buffer, bytes.byteOffset).getBigUint64(0, true));
  const header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + n))) as Record<string, unknown>;
  return { header, data: bytes.subarray(8 + n) };
}

function joinFile(headerText: string, data: Uint8Array, length?: bigint): Uint8Array {
  const json = new TextEncoder().encode(headerText);
  const out = new Uint8Array(8 + json.length + data.length);
  new DataView(out.buffer).setBigUint64(0, length ?? BigInt(json.length), true);
  out.set(json, 8);
  out.set(data, 8 + json.length);
  return out;
}

function mutateJson(rand: Rand, bytes: Uint8Array): Uint8Array {
  const { header, data } = splitFile(bytes);
  const names = Object.keys(header).filter((k) => k !== "__metadata__");
  const name = pick(rand, names);
  const entry = header[name] as { dtype: unknown; shape: unknown[]; data_offsets: unknown[] };
  const what = Math.floor(rand() * 10);
  const number = (): unknown => (rand() < 0.5 ? pick(rand, HUGE) : Math.floor(rand() * 4096));
  switch (what) {
    case 0:
      entry.data_offsets[Math.floor(rand() * 2)] = number();
      break;
    case 1:
      if (entry.shape.length > 0) entry.shape[Math.floor(rand() * entry.shape.length)] = number();
      else entry.shape.push(number());
      break;
    case 2:
      entry.dtype = pick(rand, DTYPES);
      break;
    case 3:
      header.__metadata__ = pick(rand, [{ a: 1 }, null, [], "x", { format: "pt" }, { k: { n: 1 } }]);
      break;
    case 4:
      header[name] = pick(rand, [null, [], 1, "F32", { dtype: "F32" }, { shape: [1], data_offsets: [0, 4] }]);
      break;
    case 5: {
      // swap two tensors' offsets (a valid-looking but wrong layout)
      const other = header[pick(rand, names)] as typeof entry;
      [entry.data_offsets, other.data_offsets] = [other.data_offsets, entry.data_offsets];
      break;
    }
    case 6:
      entry.shape = pick(rand, [
        [],
        [0],
        [2 ** 40, 2 ** 40, 2 ** 40],
        [1, 1, 1, 1, 1, 1, 1, 1],
        "3",
        [[2]],
      ]) as unknown[];
      break;
    case 7:
      delete header[name];
      break;
    case 8: {
      // move a tensor while keeping its length: overlaps, gaps, out of range
      const [b, e] = entry.data_offsets as [number, number];
      const d = Math.floor(rand() * 64) - 48;
      entry.data_offsets = [Math.max(0, b + d), Math.max(0, b + d) + (e - b)];
      break;
    }
    default:
      entry.data_offsets = pick(rand, [[0], [0, 1, 2], null, "0,4", [-4, 0], [0, 2 ** 64]]) as unknown[];
  }
  const text = JSON.stringify(header);
  // sometimes keep the old length field, or pad with spaces, or drop the closing brace
  const r = rand();
  if (r < 0.15) return joinFile(text, data, BigInt(bytes.length) - BigInt(data.length) - 8n);
  if (r < 0.3) return joinFile(`${text}${" ".repeat(Math.floor(rand() * 9))}`, data);
  if (r < 0.35) return joinFile(text.slice(0, -1), data);
  return joinFile(text, data);
}

function mutate(rand: Rand, source: Uint8Array): Uint8Array {
  const kind = Math.floor(rand() * 6);
  const bytes = new Uint8Array(source);
  const view = new DataView(bytes.buffer);
  const headerEnd = 8 + Number(view.getBigUint64(0, true));
  switch (kind) {
    case 0: {
      // bit flips, mostly in the length field and the header
      const flips = 1 + Math.floor(rand() * 4);
      for (let i = 0; i < flips; i++) {
        const pos = rand() < 0.8 ? Math.floor(rand() * headerEnd) : Math.floor(rand() * bytes.length);
        bytes[pos]! ^= 1 << Math.floor(rand() * 8);
      }
      return bytes;
    }
    case 1:
      return bytes.subarray(0, Math.floor(rand() * bytes.length));
    case 2: {
      const choices = [0n, 1n, 7n, 2n ** 63n, 2n ** 64n - 1n, 2n ** 53n, BigInt(bytes.length), 100_000_001n];
      const delta = BigInt(Math.floor(rand() * 33) - 16);
      const current = view.getBigUint64(0, true);
      const next = rand() < 0.5 ? pick(rand, choices) : current + delta;
      view.setBigUint64(0, next < 0n ? 0n : next % 2n ** 64n, true);
      return bytes;
    }
    case 3: {
      // extra or missing bytes at the end
      if (rand() < 0.5) return bytes.subarray(0, Math.max(0, bytes.length - 1 - Math.floor(rand() * 8)));
      const out = new Uint8Array(bytes.length + 1 + Math.floor(rand() * 8));
      out.set(bytes);
      return out;
    }
    default:
      return mutateJson(rand, source);
  }
}

/** Independent check of a successful parse against the raw bytes (plain checks: fast). */
function checkCorrectRead(bytes: Uint8Array): void {
  const header = parseSafetensorsHeader(bytes);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const n = Number(view.getBigUint64(0, true));
  const fail = (what: string): never => {
    throw new Error(`accepted an invalid file: ${what}`);
  };
  if (header.dataOffset !== 8 + n) fail("data offset");
  let cursor = header.dataOffset;
  for (const info of header.tensors) {
    if (info.byteOffset !== cursor) fail(`${info.name} is not contiguous`);
    const numel = info.shape.reduce((a, b) => a * b, 1);
    if (info.byteLength * 8 !== numel * dtypeBits(info.dtype as SafetensorsDtype)) fail(`${info.name} size`);
    cursor += info.byteLength;
  }
  if (cursor !== bytes.length) fail("data section does not end the file");
  const contents = parseSafetensors(bytes, { unsupported: "skip" });
  for (const info of header.tensors) {
    if (info.dtype !== "F32") continue;
    const t = contents.tensors.get(info.name) ?? fail(`${info.name} missing`);
    if (t.shape.join() !== info.shape.join()) fail(`${info.name} shape`);
    for (let i = 0; i < t.data.length; i++) {
      const want = view.getFloat32(info.byteOffset + 4 * i, true);
      if (!(Object.is(t.data[i], want) || (Number.isNaN(want) && Number.isNaN(t.data[i]))))
        fail(`${info.name} data`);
    }
  }
}

describe("fuzzing the safetensors reader", () => {
  test("the seed files are present and valid", () => {
    expect(seeds.length).toBeGreaterThan(5);
    for (const s of seeds) checkCorrectRead(s);
  });

  // No wall-clock budget: a hang is caught by the generous timeout below, speed lives in `pnpm fuzz` / benches.
  test("2000 seeded mutations: a typed error or a correct read, nothing else", () => {
    const rand = seededRandom(20261128);
    const counts = { ok: 0, typed: 0 };
    const kinds = new Set<string>();
    for (let i = 0; i < 2000; i++) {
      const bytes = mutate(rand, pick(rand, seeds));
      const before = process.memoryUsage().arrayBuffers;
      try {
        checkCorrectRead(bytes);
        counts.ok++;
      } catch (error) {
        if (!(error instanceof SafetensorsError)) {
          throw new Error(`iteration ${i}: ${String(error)}`, { cause: error });
        }
        kinds.add(error.kind);
        counts.typed++;
      }
      // no allocation beyond a small multiple of the input (files here are a few KB)
      const grown = process.memoryUsage().arrayBuffers - before;
      if (grown > 64 * 1024 * 1024) throw new Error(`iteration ${i} allocated ${grown} bytes`);
    }
    // the mutations must actually reach both outcomes and most error kinds
    expect(counts.ok).toBeGreaterThan(20);
    expect(counts.typed).toBeGreaterThan(1000);
    for (const k of ["header_too_large", "truncated", "invalid_json", "invalid_header", "unknown_dtype"]) {
      expect(kinds).toContain(k);
    }
    for (const k of ["bad_offsets", "overlap", "size_mismatch"]) expect(kinds).toContain(k);
  }, 300_000);

  test("300 mutated files through SafetensorsReader (file handle path)", async () => {
    const rand = seededRandom(99);
    const dir = tempDir("fuzz");
    const path = join(dir, "m.safetensors");
    for (let i = 0; i < 300; i++) {
      writeFileSync(path, mutate(rand, pick(rand, seeds)));
      try {
        const reader = await SafetensorsReader.open(path);
        try {
          for (const info of reader.header.tensors) {
            if (
              info.dtype === "F32" ||
              info.dtype === "F16" ||
              info.dtype === "BF16" ||
              info.dtype === "F64"
            ) {
              const tensor = await reader.read(info.name);
              expect(tensor.data.length * dtypeBits(info.dtype as SafetensorsDtype)).toBe(
                info.byteLength * 8,
              );
            }
          }
        } finally {
          await reader.close();
        }
      } catch (error) {
        if (!(error instanceof SafetensorsError))
          throw new Error(`iteration ${i}: ${String(error)}`, { cause: error });
      }
    }
  });
});
