import { type LycorisConfig, resolveRankAndAlpha } from "@lycoris-ts/lycoris-config";
import { kohyaToPeftParam } from "@lycoris-ts/lycoris-format";
import type { FactorDescription, LayerGeometry, SafetensorsReader } from "@lycoris-ts/runtime";
import type { AdapterModuleTensors } from "./group-adapter-tensors";
import { adapterContext, compareLayout, mismatchText } from "./layout-check";

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

const prod = (s: readonly number[]) => s.reduce((a, b) => a * b, 1);

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
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

/**
 * Describes one adapted module from its tensor shapes (no data read, except a kohya `.alpha`
 * scalar) through its variant's `describeParameters` and `layerCandidates`. With `config`, rank and
 * alpha follow PEFT (`rank_pattern` / `alpha_pattern`), and the factors are checked against the
 * variant's parameter layout for every layer they could belong to.
 */
export async function describeModule(
  tensors: AdapterModuleTensors,
  config: LycorisConfig | null,
  reader: SafetensorsReader,
  kohya = false,
): Promise<AdapterModuleDescription> {
  const variant = tensors.variant;
  const peftType = variant?.peftType ?? null;
  const shapes = peftShapes(tensors, kohya);
  const params: ParamDescription[] = [...tensors.params, ...tensors.other].map(([name, i]) => ({
    name,
    key: i.name,
    shape: i.shape,
    dtype: i.dtype,
  }));
  const numParams = [...tensors.params.values()].reduce((a, i) => a + prod(i.shape), 0);
  const problems: string[] = [];
  const described = variant?.describeParameters?.(shapes);
  if (described !== undefined && !described.ok) problems.push(described.message);
  const structure = described?.ok === true ? described : null;

  let r: number | null = null;
  let alpha: number | null = null;
  if (config !== null) {
    try {
      ({ r, alpha } = resolveRankAndAlpha(config, tensors.module));
    } catch (error) {
      problems.push(error instanceof Error ? error.message : String(error));
    }
  } else {
    r = structure?.rank ?? null;
    if (tensors.alpha !== null) {
      const t = await reader.read(tensors.alpha.name);
      alpha = t.data.length > 0 ? t.data[0]! : null;
    }
  }
  // kohya loaders (ComfyUI, A1111): a module whose factors are all full has no rank, scale 1, alpha ignored
  const scaling = r !== null && alpha !== null ? alpha / r : config === null && alpha !== null ? 1 : null;

  let candidates: LayerGeometry[] = variant?.layerCandidates?.(shapes) ?? [];
  if (config !== null && variant !== null && r !== null && candidates.length > 0) {
    const fitting = candidates.filter(
      (g) => compareLayout(variant, adapterContext(config, r!, alpha ?? r!, g), shapes).length === 0,
    );
    if (fitting.length === 0) {
      const first = candidates[0]!;
      const diff = compareLayout(variant, adapterContext(config, r, alpha ?? r, first), shapes);
      problems.push(
        `factors do not match ${peftType}'s layout for r=${r} with this config (for a base weight [${first.weightShape.join(", ")}]: ${diff.map(mismatchText).join("; ")})`,
      );
    } else candidates = fitting;
  } else if (variant !== null && candidates.length === 0 && described?.ok !== false) {
    problems.push(`cannot derive a layer shape from the factors (${[...shapes.keys()].join(", ")})`);
  }
  const first = candidates[0];
  const weightShape =
    first !== undefined && candidates.every((g) => sameShape(g.weightShape, first.weightShape))
      ? first.weightShape
      : null;
  const deltaMatrixShape: readonly [number, number] | null =
    first === undefined ? null : [first.outFeatures, first.inFeatures * prod(first.kernelSize)];
  return {
    module: tensors.module,
    peftType,
    structure: structure?.flags ?? {},
    factors: structure?.factors ?? [],
    summary: structure?.summary ?? (variant === null ? "unknown" : "-"),
    params,
    numParams,
    r,
    alpha,
    scaling,
    weightShape,
    deltaMatrixShape,
    problems,
  };
}
