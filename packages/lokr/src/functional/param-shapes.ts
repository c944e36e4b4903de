import { formatShape, numel } from "@lycoris-ts/kernels";
import { LoKrError } from "./errors";
import { factorization } from "./factorization";
import type { LoKrLayerShape, LoKrParamShape, LoKrShapeOptions, LoKrStructure } from "./types";

/** The result of {@link lokrParamShapes}. */
export interface LoKrParamShapes {
  readonly structure: LoKrStructure;
  /** Parameter names and shapes in PEFT's attribute order (w1 | w1_a, w1_b; w2 | w2_a, w2_b; t2). */
  readonly params: ReadonlyArray<LoKrParamShape>;
}

function checkLayer(layer: LoKrLayerShape): void {
  const expectedKernelDims = layer.kind === "linear" ? 0 : layer.kind === "conv1d" ? 1 : 2;
  if (layer.kernelSize.length !== expectedKernelDims) {
    throw new LoKrError(
      "invalid_layer",
      `layer.kernelSize must have ${expectedKernelDims} entries for a ${layer.kind} layer, got ${formatShape(layer.kernelSize)}`,
      {
        field: "layer.kernelSize",
        expected: `${expectedKernelDims} entries`,
        received: formatShape(layer.kernelSize),
      },
    );
  }
  for (const [name, value] of [
    ["outFeatures", layer.outFeatures],
    ["inFeatures", layer.inFeatures],
    ...layer.kernelSize.map((k, i) => [`kernelSize[${i}]`, k] as const),
  ] as const) {
    if (!Number.isInteger(value) || value < 1) {
      throw new LoKrError("invalid_layer", `layer.${name} must be a positive integer, got ${value}`, {
        field: `layer.${name}`,
        expected: "a positive integer",
        received: String(value),
      });
    }
  }
}

/**
 * Decides, exactly as PEFT's `LoKrLayer.update_layer`, the structure and parameter shapes of a LoKr adapter.
 *
 * - `(l, k) = factorization(out, f)`, `(m, n) = factorization(in, f)` (`in` is `in_channels / groups`).
 * - `w1` is low rank iff `decomposeBoth && r < max(l, m) / 2`.
 * - `w2` is full iff `r >= max(k, n) / 2`; otherwise Tucker (`lokr_t2`) for convolutions when
 *   `useEffectiveConv2d` and the kernel is not 1×1 / 1, else low rank (the kernel flattened into `w2_b`).
 * - A Conv1d Tucker core is stored 4-D `[r, r, k, 1]`, as in PEFT.
 */
export function lokrParamShapes(layer: LoKrLayerShape, o: LoKrShapeOptions): LoKrParamShapes {
  checkLayer(layer);
  const { r } = o;
  if (!Number.isInteger(r) || r <= 0) {
    throw new LoKrError("invalid_argument", `r should be a positive integer, got ${r}`, {
      field: "r",
      expected: "a positive integer",
      received: String(r),
    });
  }
  const [l, k] = factorization(layer.outFeatures, o.decomposeFactor);
  const [m, n] = factorization(layer.inFeatures, o.decomposeFactor);
  const kernel = layer.kernelSize;
  const kernelNumel = numel(kernel);

  const useW1 = !(o.decomposeBoth && r < Math.max(l, m) / 2);
  const useW2 = r >= Math.max(k, n) / 2;
  const useTucker = layer.kind !== "linear" && o.useEffectiveConv2d && kernelNumel !== 1;

  const params: LoKrParamShape[] = [];
  if (useW1) {
    params.push(["lokr_w1", [l, m]]);
  } else {
    params.push(["lokr_w1_a", [l, r]], ["lokr_w1_b", [r, m]]);
  }
  let w2: LoKrStructure["w2"];
  if (useW2) {
    w2 = "full";
    params.push(["lokr_w2", [k, n, ...kernel]]);
  } else if (useTucker) {
    w2 = "tucker";
    const core = layer.kind === "conv1d" ? [r, r, kernel[0]!, 1] : [r, r, ...kernel];
    params.push(["lokr_w2_a", [r, k]], ["lokr_w2_b", [r, n]], ["lokr_t2", core]);
  } else {
    w2 = "lowrank";
    params.push(["lokr_w2_a", [k, r]], ["lokr_w2_b", [r, n * kernelNumel]]);
  }
  return {
    structure: { w1: useW1 ? "full" : "lowrank", w2, outFactors: [l, k], inFactors: [m, n] },
    params,
  };
}

/**
 * The number of scalars in a LoKr adapter of this shape (PEFT's per-layer trainable parameter count).
 */
export function lokrNumParams(layer: LoKrLayerShape, o: LoKrShapeOptions): number {
  return lokrParamShapes(layer, o).params.reduce((acc, [, shape]) => acc + numel(shape), 0);
}
