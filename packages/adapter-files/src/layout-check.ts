import { formatShape } from "@lycoris-ts/kernels";
import type { LycorisConfig } from "@lycoris-ts/lycoris-config";
import {
  type AdapterContext,
  type AdapterVariant,
  diffParameterShapes,
  type ShapeMismatch,
} from "@lycoris-ts/runtime";

/** A shape as `[a, b, c]`, or `missing`. */
export function shapeText(shape: readonly number[] | null): string {
  return shape === null ? "missing" : formatShape(shape);
}

/** One mismatch as a sentence part: `<param>: expected [4, 4], found [6, 4]`. */
export function mismatchText(m: ShapeMismatch): string {
  if (m.found === null) return `${m.param}: missing (expected ${shapeText(m.expected)})`;
  if (m.expected === null) return `${m.param}: not created for this layer (found ${shapeText(m.found)})`;
  return `${m.param}: expected ${shapeText(m.expected)}, found ${shapeText(m.found)}`;
}

/**
 * Compares the parameters `variant` creates in `ctx` (this module's layer, `r`, `alpha`) with
 * `found` (name → shape); every difference (empty: the file fits the layer exactly).
 */
export function compareLayout(
  variant: AdapterVariant<LycorisConfig>,
  ctx: AdapterContext<LycorisConfig>,
  found: ReadonlyMap<string, readonly number[]>,
): ShapeMismatch[] {
  return diffParameterShapes(new Map(variant.parameterLayout(ctx).params), found);
}
