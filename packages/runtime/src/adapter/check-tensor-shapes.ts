import type { Tensor } from "@lycoris-ts/kernels";
import { AdapterError } from "../errors";

const fmt = (shape: readonly number[]) => `[${shape.join(", ")}]`;

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
  for (const [pname, shape] of expected) {
    const t = values.get(pname);
    if (t === undefined) {
      if (where.allowMissing) continue;
      throw new AdapterError(
        "missing_parameter",
        `module '${module}': parameter '${pname}' of ${owner} is missing from the file`,
        {
          field: `${module}.${pname}`,
          expected: fmt(shape),
          received: "missing",
        },
      );
    }
    if (t.shape.length !== shape.length || t.shape.some((v, i) => v !== shape[i])) {
      throw new AdapterError(
        "shape_mismatch",
        `module '${module}', parameter '${pname}': expected shape ${fmt(shape)} for this base model, found ${fmt(t.shape)}`,
        { field: `${module}.${pname}`, expected: fmt(shape), received: fmt(t.shape) },
      );
    }
  }
  for (const pname of values.keys()) {
    if (!expected.has(pname)) {
      throw new AdapterError(
        "unexpected_parameter",
        `module '${module}': the file has '${pname}', which ${owner} does not have here (it has ${[...expected.keys()].join(", ")})`,
        { field: `${module}.${pname}`, expected: [...expected.keys()].join(", "), received: pname },
      );
    }
  }
}
