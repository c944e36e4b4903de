import { pythonFloatRepr } from "@lycoris-ts/lycoris-config";
import { AdapterError } from "../errors";

/**
 * The rank of a conversion to LoRA: a fixed rank for every layer, or an energy threshold `t ∈ (0, 1]` (per
 * layer, the smallest rank whose singular values keep the fraction `t` of ‖ΔW‖²_F). PEFT tells them apart by
 * Python type (`2` vs `0.9`, and `1` vs `1.0`); a plain number here is a fixed rank when it is an integer and a
 * threshold otherwise, so the threshold 1.0 is written `{ threshold: 1 }`.
 */
export type LoraRank = { readonly rank: number } | { readonly threshold: number };

/** Python's repr of a float, as PEFT prints the rank in its message (`1.5`, `0.0`, `nan`, `inf`). */
function pythonFloat(x: number): string {
  if (Number.isNaN(x)) return "nan";
  if (!Number.isFinite(x)) return x > 0 ? "inf" : "-inf";
  return pythonFloatRepr(x);
}

/**
 * Reads and checks a conversion rank as PEFT's `convert_to_lora` does before anything else, with PEFT's
 * messages: a threshold outside `(0, 1]` and a rank of 0 are refused. A negative rank, which PEFT accepts and
 * turns into a config that cannot be loaded (it slices singular vectors from the end), is refused too.
 * Throws {@link AdapterError} (`invalid_rank`).
 */
export function resolveLoraRank(rank: number | LoraRank): LoraRank {
  const spec: LoraRank =
    typeof rank === "number" ? (Number.isInteger(rank) ? { rank } : { threshold: rank }) : rank;
  if ("threshold" in spec) {
    const t = spec.threshold;
    if (!(t > 0 && t <= 1)) {
      throw new AdapterError(
        "invalid_rank",
        `If rank is a float, it is interpreted as a threshold. It must be between 0 and 1 but got ${pythonFloat(t)}.`,
        { field: "rank", expected: "a threshold in (0, 1]", received: pythonFloat(t) },
      );
    }
    return { threshold: t };
  }
  const r = spec.rank;
  if (r === 0) {
    throw new AdapterError(
      "invalid_rank",
      "Passing a rank of 0 doesn't make sense, please pass a valid value.",
      {
        field: "rank",
        expected: "a positive integer",
        received: "0",
      },
    );
  }
  if (!Number.isSafeInteger(r) || r < 0) {
    throw new AdapterError(
      "invalid_rank",
      `rank must be a positive integer or a threshold in (0, 1], got ${r}` +
        (Number.isInteger(r)
          ? " (PEFT accepts negative ranks and writes a LoRA config that cannot be loaded)"
          : ""),
      { field: "rank", expected: "a positive integer", received: String(r) },
    );
  }
  return { rank: r };
}
