import { formatShape as fmt, type Tensor } from "@lycoris-ts/kernels";
import { AdapterError } from "../errors";

/** A difference between the parameters expected for a layer and those found (in a file). */
export interface ShapeMismatch {
  readonly param: string;
  /** The expected shape, or `null` when the parameter is not expected. */
  readonly expected: readonly number[] | null;
  /** The shape found, or `null` when the parameter is missing. */
  readonly found: readonly number[] | null;
}

/**
 * Every difference between `expected` and `found` parameter shapes: missing and differently shaped
 * parameters in `expected`'s order, then unexpected ones in `found`'s order. Empty: they match.
 * The one expected-vs-found check: loading (`checkTensorShapes`) and the file tools use it.
 */
export function diffParameterShapes(
  expected: ReadonlyMap<string, readonly number[]>,
  found: ReadonlyMap<string, readonly number[]>,
): ShapeMismatch[] {
  const out: ShapeMismatch[] = [];
  for (const [param, shape] of expected) {
    const f = found.get(param);
    if (f === undefined) out.push({ param, expected: shape, found: null });
    else if (f.length !== shape.length || f.some((v, i) => v !== shape[i]))
      out.push({ param, expected: shape, found: f });
  }
  for (const [param, shape] of found)
    if (!expected.has(param)) out.push({ param, expected: null, found: shape });
  return out;
}

/**
 * Checks tensors read from a file against the parameters they are meant for:
 * every value must have a parameter of the same shape, and (unless
 * `allowMissing`) every parameter a value. Errors name the module, the
 * parameter, the expected and the found shape.
 */
export function checkTensorShapes(
  expected: ReadonlyMap<string, readonly number[]>,
  values: ReadonlyMap<string, Tensor<Float32Array>>,
  where: { readonly module: string; readonly owner: string; readonly allowMissing?: boolean },
): void {
  const { module, owner } = where;
  const found = new Map([...values].map(([n, t]) => [n, t.shape] as const));
  const diff = diffParameterShapes(expected, found).filter((d) => d.found !== null || !where.allowMissing);
  const first = diff[0];
  if (first === undefined) return;
  const { param: pname, expected: shape, found: got } = first;
  if (got === null) {
    throw new AdapterError(
      "missing_parameter",
      `module '${module}': parameter '${pname}' of ${owner} is missing from the file`,
      { field: `${module}.${pname}`, expected: fmt(shape!), received: "missing" },
    );
  }
  if (shape !== null) {
    throw new AdapterError(
      "shape_mismatch",
      `module '${module}', parameter '${pname}': expected shape ${fmt(shape)} for this base model, found ${fmt(got)}`,
      { field: `${module}.${pname}`, expected: fmt(shape), received: fmt(got) },
    );
  }
  throw new AdapterError(
    "unexpected_parameter",
    `module '${module}': the file has '${pname}', which ${owner} does not have here (it has ${[...expected.keys()].join(", ")})`,
    { field: `${module}.${pname}`, expected: [...expected.keys()].join(", "), received: pname },
  );
}
