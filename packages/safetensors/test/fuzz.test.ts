import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, test } from "vitest";
import { findSafetensorsFiles, tempDir } from "../../../test-support/fixtures";
import { checkAccepted, mutateSafetensors, seededRandom } from "../fuzz/mutations.mjs";
import {
  dtypeBits,
  parseSafetensors,
  parseSafetensorsHeader,
  type SafetensorsDtype,
  SafetensorsError,
  SafetensorsReader,
} from "../src/index";

/**
 * Fuzzing the safetensors reader in the test pass (a few thousand cases; `pnpm fuzz` runs 100,000+
 * over every fixture through every reader): valid fixture files are mutated (bit flips, truncation,
 * header-length edits, offset / shape / dtype / metadata edits, huge numbers, deep nesting,
 * duplicate keys, bad UTF-8) and each result must either parse *correctly* (checked independently
 * by `checkAccepted`) or throw a SafetensorsError. Any other exception or a huge allocation (header
 * lengths and shapes up to 2^64 would need one) fails the test; a hang fails it by the timeout.
 */

const seeds = findSafetensorsFiles()
  .filter((f) => /(adapter_model|adapter)\.safetensors$/.test(f))
  .slice(0, 12)
  .map((f) => new Uint8Array(readFileSync(f)));

const pick = <T>(rand: () => number, xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;

/** Parses `bytes` and checks an accepted file against its raw bytes. */
function checkCorrectRead(bytes: Uint8Array): void {
  const contents = parseSafetensors(bytes, { unsupported: "skip" });
  const problem = checkAccepted(bytes, parseSafetensorsHeader(bytes), contents.tensors);
  if (problem !== null) throw new Error(`accepted an invalid file: ${problem}`);
}

/** Generous: the 2,000 cases take about a second on an idle machine; this only catches a hang. */
const HANG_TIMEOUT_MS = 300_000;

describe("fuzzing the safetensors reader", () => {
  test("the seed files are present and valid", () => {
    expect(seeds.length).toBeGreaterThan(5);
    for (const s of seeds) checkCorrectRead(s);
  });

  test(
    "2000 seeded mutations: a typed error or a correct read, nothing else",
    () => {
      const rand = seededRandom(20261128);
      const counts = { ok: 0, typed: 0 };
      const kinds = new Set<string>();
      const families = new Set<string>();
      for (let i = 0; i < 2000; i++) {
        const { bytes, family } = mutateSafetensors(rand, pick(rand, seeds));
        families.add(family);
        const before = process.memoryUsage().arrayBuffers;
        try {
          checkCorrectRead(bytes);
          counts.ok++;
        } catch (error) {
          if (!(error instanceof SafetensorsError)) {
            throw new Error(`iteration ${i} (${family}): ${String(error)}`, { cause: error });
          }
          kinds.add(error.kind);
          counts.typed++;
        }
        // no allocation beyond a small multiple of the input (files here are a few KB)
        const grown = process.memoryUsage().arrayBuffers - before;
        if (grown > 64 * 1024 * 1024) throw new Error(`iteration ${i} allocated ${grown} bytes`);
      }
      // the mutations must actually reach both outcomes, every family and most error kinds
      expect(counts.ok).toBeGreaterThan(20);
      expect(counts.typed).toBeGreaterThan(1000);
      expect([...families].sort()).toEqual(
        ["bitflip", "entries", "invalid-utf8", "length", "tail", "text", "truncate"].sort(),
      );
      for (const k of ["header_too_large", "truncated", "invalid_json", "invalid_header", "unknown_dtype"]) {
        expect(kinds).toContain(k);
      }
      for (const k of ["bad_offsets", "overlap", "size_mismatch"]) expect(kinds).toContain(k);
    },
    HANG_TIMEOUT_MS,
  );

  test(
    "300 mutated files through SafetensorsReader (file handle path)",
    async () => {
      const rand = seededRandom(99);
      const dir = tempDir("fuzz");
      const path = join(dir, "m.safetensors");
      for (let i = 0; i < 300; i++) {
        writeFileSync(path, mutateSafetensors(rand, pick(rand, seeds)).bytes);
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
    },
    HANG_TIMEOUT_MS,
  );
});
