import type { LayerGeometry } from "./adapter-variant";
import type { ParameterShapes } from "./parameter-structure";

/** One module of a kohya / LyCORIS file, as a conversion to PEFT sees it: PEFT parameter shapes and the base layer. */
export interface KohyaModuleShapes {
  readonly shapes: ParameterShapes;
  readonly layer: LayerGeometry;
}

/**
 * How a variant's modules are stored in kohya / LyCORIS ("webui") files: one safetensors file with
 * `<module key>.<tensor>` keys and an `alpha` scalar per module. The loaders' rank (what they divide
 * `alpha` by) is the variant's `describeParameters(...).rank`. `@lycoris-ts/lycoris-format` reads,
 * merges and converts such files through this hook alone.
 */
export interface KohyaFormat {
  /** The algorithm name trainers write in `ss_network_args` (`{"algo": "lokr"}`). */
  readonly algo: string;
  /** Every tensor name (after `<module key>.`) of this variant in such files → the PEFT parameter it holds. */
  readonly tensorNames: Readonly<Record<string, string>>;
  /**
   * PEFT parameters that are convolution Tucker cores: files store a Conv1d core 3-D `(r, r, k)`,
   * PEFT 4-D `(r, r, k, 1)`.
   */
  readonly tuckerCores?: readonly string[];
  /**
   * The parameter PEFT's scaling is multiplied into when a module without a rank (every factor
   * full: the loaders use scale 1 and ignore alpha) is written to such a file.
   */
  readonly scaleParameter?: string;
  /**
   * The variant's config option names for alpha and the init flag where they differ from the shared
   * `alpha` / `initWeights` (LoRA: `loraAlpha`, `initLoraWeights`); a conversion to PEFT sets them.
   */
  readonly configNames?: { readonly alpha: string; readonly initWeights: string };
  /**
   * PEFT config options (camelCase, besides r / alpha / patterns / targets) that may reproduce these
   * modules' factor layouts, in the order to try: a conversion to PEFT keeps the first under which
   * `parameterLayout` gives every module exactly its shapes.
   */
  peftOptions(modules: readonly KohyaModuleShapes[]): ReadonlyArray<Readonly<Record<string, unknown>>>;
  /**
   * The smallest PEFT `r` for which the variant creates these factors, for a module without a rank
   * (every factor full); `options` is one of {@link peftOptions}' candidates. Default: 1.
   */
  fullFactorRank?(
    shapes: ParameterShapes,
    layer: LayerGeometry,
    options: Readonly<Record<string, unknown>>,
  ): number;
}
