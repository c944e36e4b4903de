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
