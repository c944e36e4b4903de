import type { LycorisConfig } from "@lycoris-ts/lycoris-config";
import type { AdapterContext, AdapterVariant, LayerGeometry } from "@lycoris-ts/runtime";

/** A difference between the parameters a variant creates for a layer and those found in a file. */
export interface LayoutMismatch {
  readonly param: string;
  /** The shape the variant creates, or `null` when it does not create this parameter. */
  readonly expected: readonly number[] | null;
  /** The shape in the file, or `null` when the file lacks the parameter. */
  readonly found: readonly number[] | null;
}

const sameShape = (a: readonly number[], b: readonly number[]) =>
  a.length === b.length && a.every((d, i) => d === b[i]);

/** Formats a shape as `[a, b, c]`. */
export function shapeText(shape: readonly number[] | null): string {
  return shape === null ? "missing" : `[${shape.join(", ")}]`;
}

/** Describes one mismatch in a sentence part: `<param>: expected [4, 4], found [6, 4]`. */
export function mismatchText(m: LayoutMismatch): string {
  if (m.found === null) return `${m.param}: missing (expected ${shapeText(m.expected)})`;
  if (m.expected === null) return `${m.param}: not created for this layer (found ${shapeText(m.found)})`;
  return `${m.param}: expected ${shapeText(m.expected)}, found ${shapeText(m.found)}`;
}

/**
 * Compares the parameters `variant` creates for `layer` (with this module's `r` / `alpha`) with
 * `found` (name → shape); returns every difference (empty: the file fits the layer exactly).
 */
export function compareLayout(
  variant: AdapterVariant<LycorisConfig>,
  ctx: AdapterContext<LycorisConfig>,
  found: ReadonlyMap<string, readonly number[]>,
): LayoutMismatch[] {
  const expected = new Map(variant.parameterLayout(ctx).params.map(([n, s]) => [n, s] as const));
  const out: LayoutMismatch[] = [];
  for (const [name, shape] of expected) {
    const f = found.get(name);
    if (f === undefined) out.push({ param: name, expected: shape, found: null });
    else if (!sameShape(shape, f)) out.push({ param: name, expected: shape, found: f });
  }
  for (const [name, shape] of found) {
    if (!expected.has(name)) out.push({ param: name, expected: null, found: shape });
  }
  return out;
}

/** The context a variant sees for one module. */
export function adapterContext(
  config: LycorisConfig,
  r: number,
  alpha: number,
  layer: LayerGeometry,
): AdapterContext<LycorisConfig> {
  return { config, r, alpha, layer };
}
