import { LycorisConfigError } from "./errors";
import { addConfigWarning, type LycorisConfig } from "./lycoris-config";
import { pythonRepr } from "./python-repr";
import { camelToSnake } from "./snake-case";

/**
 * Builds a config from the options of an `adapter_config.json` (as {@link parseAdapterConfigJson}
 * returns them) the way PEFT's `PeftConfig.from_peft_type` does: keys the config does not know (written
 * by a newer version) are dropped and reported in `config.warnings` with PEFT's text, instead of the
 * `unknown_option` error the constructor raises. PEFT's minimal key, `peft_type`, is required by
 * {@link parseAdapterConfigJson}. Every other error is raised as is.
 *
 * @param create - The config constructor, e.g. `(o) => new LoKrConfig(o)`.
 * @param options - camelCase options.
 */
export function configFromFileOptions<C extends LycorisConfig>(
  create: (options: Record<string, unknown>) => C,
  options: Readonly<Record<string, unknown>>,
): C {
  try {
    return create({ ...options });
  } catch (error) {
    if (!(error instanceof LycorisConfigError) || error.kind !== "unknown_option") throw error;
    const unknown = error.received as readonly string[];
    const config = create(Object.fromEntries(Object.entries(options).filter(([k]) => !unknown.includes(k))));
    const names = unknown.map(camelToSnake).sort();
    addConfigWarning(
      config,
      `Unexpected keyword arguments ${pythonRepr(names)} for class ${config.constructor.name}, these are ignored. This probably means that you're loading a configuration file that was saved using a higher version of the library and additional parameters have been introduced since. It is highly recommended to upgrade the PEFT version before continuing (e.g. by running \`pip install -U peft\`).`,
      "first",
    );
    return config;
  }
}
