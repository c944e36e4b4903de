import type { KohyaFormat, KohyaModuleShapes } from "@lycoris-ts/runtime";
import { LOHA_PARAM_NAMES } from "../functional/param-shapes";

/**
 * LoHa in kohya / LyCORIS files: the tensors keep PEFT's names and Conv1d Tucker cores are 3-D; PEFT
 * reproduces a file's layout with `use_effective_conv2d` set when any module has Tucker cores.
 */
export const lohaKohya: KohyaFormat = {
  algo: "loha",
  tensorNames: Object.fromEntries(LOHA_PARAM_NAMES.map((n) => [n, n])),
  tuckerCores: ["hada_t1", "hada_t2"],
  peftOptions: (modules: readonly KohyaModuleShapes[]) => [
    { useEffectiveConv2d: modules.some((m) => m.shapes.has("hada_t1") || m.shapes.has("hada_t2")) },
  ],
};
