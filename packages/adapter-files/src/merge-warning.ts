import type { ClosestBaseName, KeyMapStatus } from "@lycoris-ts/lycoris-format";
import { AdapterFilesError } from "./adapter-files-error";

/**
 * An adapter module key a merge does not (fully) apply: not placed on the base (no such module,
 * unknown layout), mapped onto a tensor the base lacks, or with tensors the loaders do not read
 * (ComfyUI's "lora key not loaded" / "NOT LOADED"), or a kind lycoris-ts does not merge.
 */
export interface MergeWarning {
  /** The adapter input, as messages name it. */
  readonly adapter: string;
  readonly moduleKey: string;
  /** The key map's status, or `not_supported` for a module kind that is not merged. */
  readonly status: KeyMapStatus | "not_supported";
  /** Why (one line, naming the key). */
  readonly message: string;
  /** The adapter tensors not applied. */
  readonly tensors: readonly string[];
  /** The nearest base modules, best first (for keys that name none). */
  readonly closest: readonly ClosestBaseName[];
}

/** One line per warning: `<adapter>: <message>; closest: <key> (<tensor>), ...`. */
export function mergeWarningText(w: MergeWarning): string {
  const near =
    w.closest.length === 0
      ? ""
      : `; closest: ${w.closest.map((c) => (c.key === c.tensor ? c.key : `${c.key} (${c.tensor})`)).join(", ")}`;
  return `${w.adapter}: ${w.message}${near}`;
}

/**
 * The `strict` rule: refuses a merge with any warning, naming the first and the count.
 *
 * @throws AdapterFilesError `unplaced`.
 */
export function refuseUnplaced(warnings: readonly MergeWarning[]): void {
  const first = warnings[0];
  if (first === undefined) return;
  const more = warnings.length > 1 ? ` (and ${warnings.length - 1} more)` : "";
  throw new AdapterFilesError(
    "unplaced",
    `strict merge: ${mergeWarningText(first)}${more}; nothing written`,
    { module: first.moduleKey },
  );
}
