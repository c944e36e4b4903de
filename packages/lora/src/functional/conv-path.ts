import type { ConvOptions } from "@lycoris-ts/kernels";
import { LoraError } from "./lora-error";
import type { LoraConvGeometry, LoraLayerShape } from "./types";

/** The options of PEFT's two LoRA convs for a base conv. */
export interface LoraConvPath {
  /** `lora_A`: the base kernel, stride and padding; dilation 1, one group (PEFT drops dilation and groups). */
  readonly a: ConvOptions;
  /** `lora_B`: a 1×…×1 conv, stride 1, no padding, the base's groups. */
  readonly b: ConvOptions;
}

/**
 * The two convs PEFT builds for `layer`. `lora_A` pads with the base's padding mode as given in `conv`
 * (PEFT always pads with zeros; the runtime passes `"zeros"` unless asked to pad like the base).
 */
export function loraConvPath(layer: LoraLayerShape, conv: LoraConvGeometry): LoraConvPath {
  const ones = layer.kernelSize.map(() => 1);
  return {
    a: {
      stride: conv.stride,
      padding: conv.padding,
      dilation: ones,
      groups: 1,
      paddingMode: conv.paddingMode,
    },
    b: {
      stride: ones,
      padding: ones.map(() => 0),
      dilation: ones,
      groups: layer.groups,
      paddingMode: "zeros",
    },
  };
}

/** The base conv's output length along one spatial axis. */
function baseOutput(length: number, axis: number, layer: LoraLayerShape, conv: LoraConvGeometry): number {
  const k = layer.kernelSize[axis]!;
  const at = (v: readonly number[]) => v[axis] ?? v[0]!;
  if (conv.padding === "same") return length;
  const pad = conv.padding === "valid" ? 0 : at(conv.padding);
  return Math.floor((length + 2 * pad - at(conv.dilation) * (k - 1) - 1) / at(conv.stride)) + 1;
}

/**
 * PEFT adds `lora_B(lora_A(x))` to the base output; with a dilated base conv the two can differ in size, and
 * torch's broadcasting then fails. Throws `conv_dilation_shape_mismatch` with torch's message (`a` is the
 * base output, `b` the LoRA term; the last differing dimension is reported, as torch does).
 */
export function checkLoraOutputShape(
  x: readonly number[],
  y: readonly number[],
  layer: LoraLayerShape,
  conv: LoraConvGeometry,
): void {
  const spatial = layer.kernelSize.length;
  const lead = y.length - spatial;
  for (let axis = spatial - 1; axis >= 0; axis--) {
    const a = baseOutput(x[x.length - spatial + axis]!, axis, layer, conv);
    const b = y[lead + axis]!;
    if (a !== b) {
      throw new LoraError(
        "conv_dilation_shape_mismatch",
        `The size of tensor a (${a}) must match the size of tensor b (${b}) at non-singleton dimension ${lead + axis} ` +
          "(PEFT's lora_A ignores the base conv's dilation, so its output has another size)",
        { field: "dilation", expected: `output size ${a}`, received: `output size ${b}` },
      );
    }
  }
}
