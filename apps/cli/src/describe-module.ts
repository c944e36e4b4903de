import { type LycorisConfig, resolveRankAndAlpha } from "@lycoris-ts/lycoris-config";
import type { LayerGeometry } from "@lycoris-ts/runtime";
import type { SafetensorsReader } from "@lycoris-ts/safetensors";
import type { AdapterModuleTensors } from "./group-adapter-tensors";
import { candidateGeometries } from "./layer-geometry";
import { adapterContext, compareLayout, mismatchText } from "./layout-check";

/** One tensor of a module, as listed by `inspect`. */
export interface ParamDescription {
  /** The parameter name (`lokr_w1`, `hada_t1`, …; for kohya files also `lora_down.weight`, …). */
  readonly name: string;
  /** The tensor's full name in the file. */
  readonly key: string;
  readonly shape: readonly number[];
  readonly dtype: string;
}

/** What `inspect` / `validate` know about one adapted module. */
export interface ModuleDescription {
  readonly module: string;
  /** The variant's `peft_type`, or `null` when no registered variant owns the parameters. */
  readonly peftType: string | null;
  /** Factor structure: LoKr `{ w1: "full" | "lowrank", w2: "full" | "lowrank" | "tucker" }`, LoHa `{ effective_conv }`. */
  readonly structure: Readonly<Record<string, string | boolean>>;
  readonly params: readonly ParamDescription[];
  readonly numParams: number;
  /** Rank (config and `rank_pattern`; kohya files: the inner dimension of the low-rank factors). */
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

function describeStructure(
  peftType: string | null,
  names: ReadonlySet<string>,
): Record<string, string | boolean> {
  if (peftType === "LOKR") {
    return {
      w1: names.has("lokr_w1") ? "full" : "lowrank",
      w2: names.has("lokr_w2") ? "full" : names.has("lokr_t2") ? "tucker" : "lowrank",
    };
  }
  if (peftType === "LOHA") return { effective_conv: names.has("hada_t1") };
  return {};
}

/** Inner rank of low-rank factors: every `*_b` factor is `[r, …]`; `null` when all factors are full. */
function innerRank(params: ReadonlyMap<string, readonly number[]>): number | null {
  for (const [name, shape] of params) if (/_b(\.weight)?$/.test(name) && shape.length > 0) return shape[0]!;
  return null;
}

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

/**
 * Describes one adapted module from its tensor shapes (no data read, except a kohya `.alpha`
 * scalar). With `config`, rank and alpha follow PEFT (`rank_pattern` / `alpha_pattern`), and the
 * factors are checked against the variant's parameter layout for every layer they could belong to.
 */
export async function describeModule(
  tensors: AdapterModuleTensors,
  config: LycorisConfig | null,
  reader: SafetensorsReader,
): Promise<ModuleDescription> {
  const variant = tensors.variant;
  const peftType = variant?.peftType ?? null;
  const shapes = new Map([...tensors.params].map(([n, i]) => [n, i.shape] as const));
  const params: ParamDescription[] = [...tensors.params, ...tensors.other].map(([name, i]) => ({
    name,
    key: i.name,
    shape: i.shape,
    dtype: i.dtype,
  }));
  const numParams = [...tensors.params.values()].reduce((a, i) => a + prod(i.shape), 0);
  const problems: string[] = [];

  let r: number | null = null;
  let alpha: number | null = null;
  if (config !== null) {
    try {
      ({ r, alpha } = resolveRankAndAlpha(config, tensors.module));
    } catch (error) {
      problems.push(error instanceof Error ? error.message : String(error));
    }
  } else {
    r = innerRank(shapes);
    if (tensors.alpha !== null) {
      const t = await reader.read(tensors.alpha.name);
      alpha = t.data.length > 0 ? t.data[0]! : null;
    }
  }
  // kohya loaders (ComfyUI, A1111): a LoKr with both factors full has no rank, scale 1, alpha ignored
  const scaling = r !== null && alpha !== null ? alpha / r : config === null && alpha !== null ? 1 : null;

  let candidates: LayerGeometry[] = peftType === null ? [] : candidateGeometries(peftType, shapes);
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
  } else if (variant !== null && candidates.length === 0) {
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
    structure: describeStructure(peftType, new Set(tensors.params.keys())),
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
