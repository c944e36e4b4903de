import type { LycorisConfig } from "./lycoris-config";

/**
 * Whether PEFT wraps the module `moduleName` as a fully trained `modules_to_save` copy. PEFT's rule is a
 * plain string suffix test (`name.endswith(entry)`, no dot required), reproduced here as is.
 */
export function isModuleToSave(config: LycorisConfig, moduleName: string): boolean {
  return (config.modulesToSave ?? []).some((entry) => moduleName.endsWith(entry));
}
