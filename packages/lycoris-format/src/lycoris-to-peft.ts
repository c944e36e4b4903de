import type { Tensor } from "@lycoris-ts/kernels";
import { adapterConfigToJson, type LycorisConfig, resolveRankAndAlpha } from "@lycoris-ts/lycoris-config";
import {
  diffParameterShapes,
  type KohyaModuleShapes,
  type LayerGeometry,
  PEFT_KEY_PREFIX,
} from "@lycoris-ts/runtime";
import { checkLycorisModuleFits, lycorisLayerGeometry } from "./lycoris-geometry";
import type { LycorisAdapter, LycorisModule } from "./lycoris-module";
import { shapeText } from "./shape-text";

/** Options of {@link lycorisToPeft}. */
export interface LycorisToPeftOptions {
  /** The base weight shape of a module path (`<module>.weight` of the base model), or `undefined`. */
  readonly weightShape: (moduleName: string) => readonly number[] | undefined;
}

/** A LyCORIS adapter expressed as a PEFT adapter whose PEFT delta equals the loader delta. */
export interface PeftConversion {
  readonly ok: true;
  /** The variant's `peft_type`. */
  readonly peftType: string;
  /** The PEFT config object (r, alpha, `rank_pattern`, `alpha_pattern`, `target_modules`, ...). */
  readonly config: LycorisConfig;
  /** `adapter_config.json` text as PEFT writes it. */
  readonly configJson: string;
  /** `adapter_model.safetensors` tensors: `base_model.model.<module>.<param>` (no alpha tensors). */
  readonly weights: ReadonlyMap<string, Tensor<Float32Array>>;
  /** Per module: PEFT's r and alpha (`alpha / r` = the loader's scale). */
  readonly modules: ReadonlyMap<string, { readonly r: number; readonly alpha: number }>;
}

/** Why an adapter has no PEFT equivalent. */
export interface PeftConversionFailure {
  readonly ok: false;
  /** One sentence naming the first module at fault. */
  readonly reason: string;
}

function mostCommon(values: readonly number[]): number {
  const counts = new Map<number, number>();
  for (const v of values) counts.set(v, (counts.get(v) ?? 0) + 1);
  let best = values[0]!;
  for (const [v, n] of counts) if (n > counts.get(best)!) best = v;
  return best;
}

function jsonNumber(obj: Record<string, unknown>, key: string): number | undefined {
  const v = obj[key];
  const n = typeof v === "number" ? v : typeof v === "string" ? Number(v) : Number.NaN;
  return Number.isFinite(n) && n > 0 ? n : undefined;
}

function parseJsonObject(text: string | undefined): Record<string, unknown> {
  if (text === undefined) return {};
  try {
    const v: unknown = JSON.parse(text);
    return typeof v === "object" && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}

/** The trainer's network dim for a layer (conv dim for convs with a kernel > 1), from the metadata. */
function networkDim(
  metadata: Readonly<Record<string, string>> | null,
  layer: LayerGeometry,
): number | undefined {
  if (metadata === null) return undefined;
  const bigKernel = layer.kernelSize.some((k) => k !== 1);
  const args = parseJsonObject(metadata.ss_network_args);
  const wrapper = parseJsonObject(metadata.lycoris_config);
  const fromMeta = jsonNumber(metadata as Record<string, unknown>, "ss_network_dim");
  if (bigKernel) return jsonNumber(args, "conv_dim") ?? jsonNumber(wrapper, "conv_dim") ?? fromMeta;
  return fromMeta ?? jsonNumber(wrapper, "linear_dim");
}

/** A module as the variant's `kohya` hook sees it. */
function moduleShapes(m: LycorisModule, layer: LayerGeometry): KohyaModuleShapes {
  return { shapes: new Map(Object.entries(m.params).map(([n, t]) => [n, t.shape] as const)), layer };
}

/** PEFT's r for a module: its rank, or without one (every factor full) a dim that keeps PEFT's factors full. */
function peftRank(
  m: LycorisModule,
  layer: LayerGeometry,
  metadata: Readonly<Record<string, string>> | null,
  options: Readonly<Record<string, unknown>>,
): number {
  if (m.rank !== null) return m.rank;
  const needed = m.variant.kohya?.fullFactorRank?.(moduleShapes(m, layer).shapes, layer, options) ?? 1;
  return Math.max(networkDim(metadata, layer) ?? needed, needed);
}

function layoutMismatch(m: LycorisModule, config: LycorisConfig, layer: LayerGeometry): string | null {
  const { r, alpha } = resolveRankAndAlpha(config, m.moduleName);
  const want = new Map(m.variant.parameterLayout({ config, r, alpha, layer }).params);
  const diff = diffParameterShapes(want, moduleShapes(m, layer).shapes);
  if (diff.length === 0) return null;
  const text = (s: readonly number[] | null) => (s === null ? "absent" : shapeText(s));
  return diff.map((d) => `${d.param}: file ${text(d.found)}, PEFT ${text(d.expected)}`).join("; ");
}

/**
 * Converts a LyCORIS adapter to PEFT's format where PEFT can express it: one algorithm, no DoRA,
 * and factor shapes that PEFT's own layout reproduces exactly under one of the option sets the
 * variant proposes (`kohya.peftOptions`; LoKr: `decompose_factor`, `decompose_both`,
 * `use_effective_conv2d`) with per-module `rank_pattern`. PEFT's `alpha / r` is made equal to the
 * loader's scale: `alpha = scale · r` (`alpha_pattern` where modules differ); modules without a
 * rank (every factor full) get `r` = the network dim from the metadata (raised to the variant's
 * `kohya.fullFactorRank` so that PEFT also creates full factors) and `alpha = r`. Factors are
 * copied unchanged.
 */
export function lycorisToPeft(
  adapter: LycorisAdapter,
  options: LycorisToPeftOptions,
): PeftConversion | PeftConversionFailure {
  const mods = adapter.modules;
  if (mods.length === 0) return { ok: false, reason: "the adapter has no modules" };
  const algos = [...new Set(mods.map((m) => m.algo))];
  if (algos.length > 1) {
    return {
      ok: false,
      reason: `the file mixes ${algos.join(" and ")} modules; a PEFT adapter has one peft_type`,
    };
  }
  const dora = mods.find((m) => m.doraScale !== null);
  if (dora !== undefined) {
    return {
      ok: false,
      reason: `module '${dora.moduleName}' has dora_scale (DoRA): PEFT's LoKr / LoHa have no weight decomposition`,
    };
  }
  const layers = new Map<string, LayerGeometry>();
  for (const m of mods) {
    const shape = options.weightShape(m.moduleName);
    if (shape === undefined)
      return { ok: false, reason: `module '${m.moduleName}' is not in the base model` };
    const err = checkLycorisModuleFits(m, shape);
    if (err !== null) return { ok: false, reason: err.message };
    layers.set(m.moduleName, lycorisLayerGeometry(shape));
  }
  const variant = mods[0]!.variant;
  const candidates = variant.kohya?.peftOptions(
    mods.map((m) => moduleShapes(m, layers.get(m.moduleName)!)),
  ) ?? [{}];
  const ranks = new Map(
    mods.map((m) => [
      m.moduleName,
      peftRank(m, layers.get(m.moduleName)!, adapter.metadata, candidates[0] ?? {}),
    ]),
  );
  const alphas = new Map(mods.map((m) => [m.moduleName, m.scale * ranks.get(m.moduleName)!]));
  const r = mostCommon([...ranks.values()]);
  const alpha = mostCommon([...alphas.values()]);
  const rankPattern: Record<string, number> = {};
  const alphaPattern: Record<string, number> = {};
  for (const m of mods) {
    if (ranks.get(m.moduleName) !== r) rankPattern[m.moduleName] = ranks.get(m.moduleName)!;
    if (alphas.get(m.moduleName) !== alpha) alphaPattern[m.moduleName] = alphas.get(m.moduleName)!;
  }
  let firstProblem = "";
  for (const candidate of candidates) {
    const names = variant.kohya?.configNames ?? { alpha: "alpha", initWeights: "initWeights" };
    const config = variant.createConfig({
      ...candidate,
      r,
      [names.alpha]: alpha,
      rankPattern,
      alphaPattern,
      targetModules: mods.map((m) => m.moduleName),
      [names.initWeights]: false,
    });
    let problem: string | null = null;
    for (const m of mods) {
      const diff = layoutMismatch(m, config, layers.get(m.moduleName)!);
      if (diff !== null) {
        problem = `module '${m.moduleName}': ${diff}`;
        break;
      }
    }
    if (problem !== null) {
      if (firstProblem === "") firstProblem = problem;
      continue;
    }
    const weights = new Map<string, Tensor<Float32Array>>();
    for (const m of mods) {
      for (const [name, t] of Object.entries(m.params))
        weights.set(`${PEFT_KEY_PREFIX}${m.moduleName}.${name}`, t);
    }
    return {
      ok: true,
      peftType: variant.peftType,
      config,
      configJson: adapterConfigToJson(config),
      weights,
      modules: new Map(
        mods.map((m) => [m.moduleName, { r: ranks.get(m.moduleName)!, alpha: alphas.get(m.moduleName)! }]),
      ),
    };
  }
  return {
    ok: false,
    reason: `PEFT's factor layout does not reproduce the file's shapes for any of the ${candidates.length} ${variant.peftType} option sets tried (${candidates.length > 1 ? "PEFT has one layout setting per adapter and no per-module factorization; " : ""}first: ${firstProblem})`,
  };
}
