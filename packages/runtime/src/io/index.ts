export type { AdapterFileErrorKind } from "./adapter-file-error";
export { AdapterFileError } from "./adapter-file-error";
export type { KohyaKeyMatch } from "./kohya-names";
export {
  KohyaKeyMap,
  KohyaNameError,
  kohyaKeyToPeft,
  kohyaModuleKey,
  LYCORIS_PREFIX,
  peftKeyToKohya,
} from "./kohya-names";
export type { PeftAdapterFiles, PeftAdapterToWrite } from "./peft-adapter-dir";
export {
  ADAPTER_CONFIG_NAME,
  ADAPTER_WEIGHTS_NAME,
  DEFAULT_ADAPTER_NAME,
  readPeftAdapterDir,
  writePeftAdapterDir,
} from "./peft-adapter-dir";
