export type { AdapterFileErrorKind } from "./adapter-file-error";
export { AdapterFileError } from "./adapter-file-error";
export type { PeftAdapterFiles, PeftAdapterToWrite } from "./peft-adapter-dir";
export {
  ADAPTER_CONFIG_NAME,
  ADAPTER_WEIGHTS_NAME,
  DEFAULT_ADAPTER_NAME,
  readPeftAdapterDir,
  writePeftAdapterDir,
} from "./peft-adapter-dir";
export { decodeTensorBytes } from "./safetensors-decode";
export type { FloatDtype, SafetensorsDtype } from "./safetensors-dtype";
export { dtypeBits, isFloatDtype, isSafetensorsDtype } from "./safetensors-dtype";
export type { SafetensorsErrorKind } from "./safetensors-error";
export { SafetensorsError } from "./safetensors-error";
export { readSafetensors, readSafetensorsSync, writeSafetensors } from "./safetensors-file";
export type { ParseHeaderOptions, SafetensorsHeader, TensorInfo } from "./safetensors-header";
export { DEFAULT_MAX_HEADER_BYTES, parseSafetensorsHeader } from "./safetensors-header";
export type { ParseSafetensorsOptions, SafetensorsContents } from "./safetensors-parse";
export { parseSafetensors } from "./safetensors-parse";
export { SafetensorsReader } from "./safetensors-reader";
export type { SerializeOptions, TensorsToWrite } from "./safetensors-serialize";
export { serializeSafetensors } from "./safetensors-serialize";
export type { TensorToStream } from "./safetensors-writer";
export { SafetensorsWriter } from "./safetensors-writer";
export { writeFileAtomic } from "./write-file-atomic";
