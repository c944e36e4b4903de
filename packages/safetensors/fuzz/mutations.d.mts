import type { Tensor } from "@lycoris-ts/kernels";
import type { SafetensorsHeader } from "../src/index";

/** Small seeded PRNG (mulberry32): numbers in [0, 1). */
export function seededRandom(seed: number): () => number;

/** What a mutation did, for reporting. */
export type MutationFamily = "bitflip" | "truncate" | "length" | "tail" | "entries" | "text" | "invalid-utf8";

/** One seeded mutation of a valid safetensors file. */
export function mutateSafetensors(
  rand: () => number,
  source: Uint8Array,
): { bytes: Uint8Array; family: MutationFamily };

/**
 * Checks a header a reader accepted against the raw bytes, independently of the reader; with the
 * decoded tensors, every F32 value too. Null when all holds, else what is wrong.
 */
export function checkAccepted(
  bytes: Uint8Array,
  header: SafetensorsHeader,
  tensors?: ReadonlyMap<string, Tensor<Float32Array>>,
): string | null;
