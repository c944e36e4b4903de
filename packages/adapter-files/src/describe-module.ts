import { numel } from "@lycoris-ts/kernels";
import { type LycorisConfig, resolveRankAndAlpha } from "@lycoris-ts/lycoris-config";
import { kohyaToPeftParam } from "@lycoris-ts/lycoris-format";
import type { FactorDescription, LayerGeometry } from "@lycoris-ts/runtime";
import type { AdapterModuleTensors } from "./group-adapter-tensors";
import { compareLayout, mismatchText, shapeText } from "./layout-check";
import type { TensorFile } from "./tensor-file";

/** One tensor of a module, as listed by `inspect`. */
export interface ParamDescription {
  /** The parameter name as stored (for kohya files also tensors of no variant, e.g. `lora_down.weight`). */
  readonly name: string;
  /** The tensor's full name in the file. */
  readonly key: string;
  readonly shape: readonly number[];
  readonly dtype: string;
}

/** What `inspect` / `validate` know about one adapted module. */
export interface AdapterModuleDescription {
  readonly module: string;
  /** The variant's `peft_type`, or `null` when no registered variant owns the parameters. */
  readonly peftType: string | null;
  /** The variant's structure flags (`describeParameters(...).flags`, e.g. LoKr's `{ w1, w2 }` forms). */
  readonly structure: Readonly<Record<string, string | boolean>>;
  /** The factors of ΔW and how each is stored (full / low-rank / Tucker). */
  readonly factors: readonly FactorDescription[];
  /** One line describing the structure (`w1 full, w2 lowrank`), `unknown` without a variant. */
  readonly summary: string;
  readonly params: readonly ParamDescription[];
  readonly numParams: number;
  /** Rank (config and `rank_pattern`; without a config: the rank the variant reads from the factors). */
  readonly r: number | null;
  /** Alpha (config and `alpha_pattern`; kohya files: the `.alpha` tensor). */
  readonly alpha: number | null;
  /** `alpha / r`, the factor ΔW is multiplied by. */
  readonly scaling: number | null;
  /** The base weight shape the factors imply, when they determine it. */
  readonly weightShape: readonly number[] | null;
  /** ΔW as a matrix `[out, in/groups × kernel]` (known even when the kernel split is not). */
  readonly deltaMatrixShape: readonly [number, number] | null;
  /** Inconsistencies between the factors and the config (empty when none). */
  readonly problems: readonly string[];
}

/** The module's parameter shapes under the variant's PEFT names (kohya tensors renamed, cores reshaped). */
function peftShapes(tensors: AdapterModuleTensors, kohya: boolean): Map<string, readonly number[]> {
  const kf = tensors.variant?.kohya;
  return new Map(
    [...tensors.params].map(([n, i]) => {
      if (!kohya || kf === undefined) return [n, i.shape] as const;
      const p = kohyaToPeftParam(kf, n, i.shape);
      return [p.name, p.shape] as const;
    }),
  );
}

/** r and alpha: the config's (patterns applied), or without one the factors' rank and a kohya `.alpha`. */
async function rankAndAlpha(
  tensors: AdapterModuleTensors,
  config: LycorisConfig | null,
  rank: number | null,
  reader: TensorFile,
  problems: string[],
): Promise<{ r: number | null; alpha: number | null; scaling: number | null }> {
  if (config !== null) {
    try {
      const { r, alpha } = resolveRankAndAlpha(config, tensors.module);
      return { r, alpha, scaling: alpha / r };
    } catch (error) {
      problems.push(error instanceof Error ? error.message : String(error));
      return { r: null, alpha: null, scaling: null };
    }
  }
  let alpha: number | null = null;
  if (tensors.alpha !== null) {
    const t = await reader.read(tensors.alpha.name);
    alpha = t.data.length > 0 ? t.data[0]! : null;
  }
  // kohya loaders (ComfyUI, A1111): a module whose factors are all full has no rank, scale 1, alpha ignored
  return { r: rank, alpha, scaling: alpha === null ? null : rank === null ? 1 : alpha / rank };
}

/**
 * The layers the factors could belong to; with a config, those whose layout is exactly these
 * shapes for this `r` / `alpha` (a problem when none is).
 */
function fittingLayers(
  tensors: AdapterModuleTensors,
  shapes: ReadonlyMap<string, readonly number[]>,
  config: LycorisConfig | null,
  ra: { r: number | null; alpha: number | null },
  problems: string[],
): LayerGeometry[] {
  const variant = tensors.variant!;
  const candidates = variant.layerCandidates?.(shapes) ?? [];
  const { r } = ra;
  if (config === null || r === null || candidates.length === 0) return candidates;
  const ctx = (layer: LayerGeometry) => ({ config, r, alpha: ra.alpha ?? r, layer });
  const fitting = candidates.filter((g) => compareLayout(variant, ctx(g), shapes).length === 0);
  if (fitting.length > 0) return fitting;
  const first = candidates[0]!;
  const diff = compareLayout(variant, ctx(first), shapes);
  problems.push(
    `factors do not match ${variant.peftType}'s layout for r=${r} with this config (for a base weight ${shapeText(first.weightShape)}: ${diff.map(mismatchText).join("; ")})`,
  );
  return candidates;
}

/**
 * Describes one adapted module from its tensor shapes (no data read, except a kohya `.alpha`
 * scalar) through its variant's `describeParameters` and `layerCandidates`. With `config`, rank and
 * alpha follow PEFT (`rank_pattern` / `alpha_pattern`), and the factors are checked against the
 * variant's parameter layout for every layer they could belong to. `kohya`: the tensors carry kohya
 * names (a kohya / LyCORIS file read without a base model).
 */
export async function describeModule(
  tensors: AdapterModuleTensors,
  config: LycorisConfig | null,
  reader: TensorFile,
  kohya = false,
): Promise<AdapterModuleDescription> {
  const { variant } = tensors;
  const shapes = peftShapes(tensors, kohya);
  const problems: string[] = [];
  const described = variant?.describeParameters?.(shapes);
  if (described !== undefined && !described.ok) problems.push(described.message);
  // kohya tensors beside the variant's that nothing reads (kohya's Tucker `lora_mid.weight` on a LoRA module)
  const unread = [...tensors.other].filter(([n]) => kohya && variant !== null && n !== "dora_scale");
  if (unread.length > 0) {
    problems.push(
      `not read: ${unread.map(([n, i]) => `${n} ${shapeText(i.shape)}`).join(", ")} (no registered variant reads it; the layer shape comes from the other factors)`,
    );
  }
  const structure = described?.ok === true ? described : null;
  const ra = await rankAndAlpha(tensors, config, structure?.rank ?? null, reader, problems);
  const candidates = variant === null ? [] : fittingLayers(tensors, shapes, config, ra, problems);
  if (variant !== null && candidates.length === 0 && described?.ok !== false) {
    problems.push(`cannot derive a layer shape from the factors (${[...shapes.keys()].join(", ")})`);
  }
  const first = candidates[0];
  // with a config, the variant's scaling (rsLoRA: alpha / √r) for the layer the factors fit
  if (config !== null && ra.r !== null && ra.alpha !== null && first !== undefined && variant?.scaling) {
    ra.scaling = variant.scaling({ config, r: ra.r, alpha: ra.alpha, layer: first });
  }
  const weightShapes = new Set(candidates.map((g) => shapeText(g.weightShape)));
  return {
    module: tensors.module,
    peftType: variant?.peftType ?? null,
    structure: structure?.flags ?? {},
    factors: structure?.factors ?? [],
    summary: structure?.summary ?? (variant === null ? "unknown" : "-"),
    params: [...tensors.params, ...tensors.other].map(([name, i]) => ({
      name,
      key: i.name,
      shape: i.shape,
      dtype: i.dtype,
    })),
    numParams: [...tensors.params.values()].reduce((a, i) => a + numel(i.shape), 0),
    ...ra,
    weightShape: first !== undefined && weightShapes.size === 1 ? first.weightShape : null,
    deltaMatrixShape:
      first === undefined ? null : [first.outFeatures, first.inFeatures * numel(first.kernelSize)],
    problems,
  };
}
