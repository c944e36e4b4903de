export type { ConvertToLoraOptions, LoraConversion, LoraLayerReport } from "./convert-to-lora";
export { convertToLora } from "./convert-to-lora";
export type {
  LoraConversionLayer,
  LoraConversionSource,
  LoraConversionTunerLayer,
} from "./lora-conversion-source";
export { peftModelConversionSource } from "./lora-conversion-source";
export type { LoraModuleTensors } from "./lora-module-tensors";
export { loraModuleTensors } from "./lora-module-tensors";
export type { LoraAdapterData, LoraAdapterFiles } from "./save-lora-adapter";
export { loraAdapterFiles, saveLoraAdapter } from "./save-lora-adapter";
