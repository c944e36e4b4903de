import { formatShape, type Tensor } from "@lycoris-ts/kernels";
import { adapterConfigToJson, type LycorisConfig, resolveRankAndAlpha } from "@lycoris-ts/lycoris-config";
import {
  type AdapterRegistry,
  type AdapterVariant,
  checkRankSelection,
  type ExtractedModule,
  geometryFromWeightShape,
  type LayerGeometry,
  type RankSelection,
} from "@lycoris-ts/runtime";
import { decodeTensorBytes, isFloatDtype, type TensorInfo } from "@lycoris-ts/safetensors";
import { AdapterFilesError } from "./adapter-files-error";
import { checkOutputPath } from "./check-output-path";
import { checkPeftOutput } from "./check-peft-output";
import { type FileInput, inputName } from "./file-input";
import { openBaseModel } from "./open-base-model";
import type { OnProgress } from "./progress";
import type { TensorFile } from "./tensor-file";
import { writeExtractedAdapter } from "./write-extracted-adapter";

/** Options of {@link extractAdapter}. */
export interface ExtractAdapterOptions {
  /** The base checkpoint (`.safetensors`). */
  readonly base: FileInput;
  /** The fine-tuned checkpoint: the same tensor names and shapes as `base`. */
  readonly tuned: FileInput;
  /** The variant to extract, by `peft_type` in any case (`"lokr"`, `"lora"`): one with an `extractFromDelta` hook. */
  readonly algo: string;
  /** Where to write (a PEFT directory, or a `.safetensors` file for `kohya`); omit to only get the data. */
  readonly out?: string;
  /** `peft` (default): `adapter_config.json` + `adapter_model.safetensors`; `kohya`: one kohya / LyCORIS file. */
  readonly format?: "peft" | "kohya";
  /** LoKr's `decompose_factor` (`-1`, the default: the most balanced split). */
  readonly factor?: number;
  /** LoKr's `decompose_both`: `w1` a rank-r product too (needs a fixed rank). */
  readonly decomposeBoth?: boolean;
  /** How the rank is chosen per layer (LoRA: required; LoKr: a fixed rank for `w2`, or none to keep `w2` full). */
  readonly rank?: RankSelection;
  /** Only weights whose module name (the tensor name without `.weight`) matches are extracted. */
  readonly targets?: RegExp;
  /** kohya key prefix (default `lycoris`). */
  readonly prefix?: string;
  readonly registry: AdapterRegistry;
  /** Called once at the start (`done: 0`) and after every tensor compared. */
  readonly onProgress?: OnProgress;
  /** Stops the extraction between two tensors: nothing is written, the call rejects (`aborted`). */
  readonly signal?: AbortSignal;
}

/** One extracted layer. */
export interface ExtractedLayerReport {
  /** The module name (`model.layers.0.self_attn.q_proj`). */
  readonly module: string;
  /** The base weight's shape. */
  readonly shape: readonly number[];
  /** The module's `r`. */
  readonly rank: number;
  /** `‖ΔW − approximation‖_F / ‖ΔW‖_F` of the stored factors. */
  readonly relativeError: number;
  /** The factors' shapes, as the variant describes them. */
  readonly structure: string;
}

/** A tensor that changed but was not extracted, and why. */
export interface ChangedTensorReport {
  readonly name: string;
  readonly shape: readonly number[];
  readonly reason: string;
}

/** What {@link extractAdapter} found and wrote. */
export interface ExtractSummary {
  readonly peftType: string;
  readonly format: "peft" | "kohya";
  readonly out: string | null;
  readonly layers: readonly ExtractedLayerReport[];
  /** Tensors identical in both checkpoints (skipped). */
  readonly unchanged: number;
  /** Changed tensors left out (biases, norms, embeddings of other ranks, weights outside `targets`). */
  readonly otherChanged: readonly ChangedTensorReport[];
  /** The largest per-layer relative error (0 with no layer). */
  readonly maxRelativeError: number;
  /** `adapter_config.json`'s text (PEFT form, also for a kohya output). */
  readonly configJson: string;
  /** The adapter's tensors under PEFT's names (`base_model.model.<module>.<param>`). */
  readonly weights: ReadonlyMap<string, Tensor<Float32Array>>;
}

const PEFT_KEY_PREFIX = "base_model.model.";

function invalid(field: string, message: string, received: string, expected: string): never {
  throw new AdapterFilesError("invalid_option", message, { field, received, expected });
}

/** The variant to extract and the checked options. */
function checkOptions(o: ExtractAdapterOptions): AdapterVariant<LycorisConfig> {
  const format = o.format ?? "peft";
  if (format !== "peft" && format !== "kohya")
    invalid(
      "format",
      `format must be peft or kohya, got '${String(format)}'`,
      String(format),
      "peft | kohya",
    );
  if (o.factor !== undefined && !(Number.isInteger(o.factor) && (o.factor === -1 || o.factor > 0)))
    invalid(
      "factor",
      `factor must be -1 or a positive integer, got ${o.factor}`,
      String(o.factor),
      "-1 or > 0",
    );
  if (o.rank !== undefined) checkRankSelection(o.rank);
  const variant = o.registry.find(o.algo);
  const extractable = o.registry.peftTypes().filter((t) => o.registry.get(t).extractFromDelta !== undefined);
  if (variant?.extractFromDelta === undefined) {
    const list = extractable.map((t) => t.toLowerCase()).join(", ") || "(none registered)";
    invalid("algo", `cannot extract '${o.algo}': extractable adapter types are ${list}`, o.algo, list);
  }
  return variant;
}

function listNames(names: readonly string[]): string {
  const shown = names.slice(0, 5).map((n) => `'${n}'`);
  return names.length > 5 ? `${shown.join(", ")} and ${names.length - 5} more` : shown.join(", ");
}

/** Refuses checkpoints whose tensor names or shapes differ. */
function checkSameLayout(base: TensorFile, tuned: TensorFile): void {
  const onlyBase = base.names.filter((n) => !tuned.has(n));
  const onlyTuned = tuned.names.filter((n) => !base.has(n));
  if (onlyBase.length > 0 || onlyTuned.length > 0) {
    const parts = [
      onlyBase.length > 0 ? `missing from ${tuned.path}: ${listNames(onlyBase)}` : "",
      onlyTuned.length > 0 ? `missing from ${base.path}: ${listNames(onlyTuned)}` : "",
    ].filter((p) => p !== "");
    throw new AdapterFilesError("input", `the checkpoints hold different tensors (${parts.join("; ")})`, {
      path: tuned.path,
    });
  }
  for (const info of base.header.tensors) {
    const other = tuned.info(info.name)!;
    if (formatShape(other.shape) !== formatShape(info.shape)) {
      throw new AdapterFilesError(
        "input",
        `tensor '${info.name}' has shape ${formatShape(info.shape)} in ${base.path} but ${formatShape(other.shape)} in ${tuned.path}`,
        {
          path: tuned.path,
          field: info.name,
          expected: formatShape(info.shape),
          received: formatShape(other.shape),
        },
      );
    }
  }
}

/** Byte equality, four bytes at a time where both arrays allow it. */
function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let start = 0;
  if (a.byteOffset % 4 === 0 && b.byteOffset % 4 === 0) {
    const words = a.length >>> 2;
    const wa = new Uint32Array(a.buffer, a.byteOffset, words);
    const wb = new Uint32Array(b.buffer, b.byteOffset, words);
    for (let i = 0; i < words; i++) if (wa[i] !== wb[i]) return false;
    start = words * 4;
  }
  for (let i = start; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/**
 * `tuned − base` of one tensor (float32), or `null` when they are equal. The raw bytes are compared first, so
 * an unchanged tensor is never decoded; `decode: false` (a tensor not to extract) stops there, any non-null
 * result then only says that it changed.
 */
async function readDelta(
  base: TensorFile,
  tuned: TensorFile,
  info: TensorInfo,
  tunedInfo: TensorInfo,
  decode: boolean,
): Promise<Float32Array | null> {
  const baseBytes = await base.readBytes(info.name);
  const tunedBytes = await tuned.readBytes(info.name);
  if (info.dtype === tunedInfo.dtype && sameBytes(baseBytes, tunedBytes)) return null;
  if (!decode) return new Float32Array(0);
  const b = decodeTensorBytes(info.name, info.dtype, info.shape, baseBytes).data;
  const delta = decodeTensorBytes(info.name, tunedInfo.dtype, tunedInfo.shape, tunedBytes).data;
  let changed = false;
  for (let i = 0; i < delta.length; i++) {
    if (delta[i] !== b[i]) changed = true;
    delta[i] = delta[i]! - b[i]!;
  }
  return changed ? delta : null;
}

/** Why a changed tensor is not extracted, or `null` when it is a weight to extract. */
function skipReason(info: TensorInfo, dtypeOk: boolean, targets: RegExp | undefined): string | null {
  if (!dtypeOk) return `dtype ${info.dtype} (not a float tensor)`;
  if (!info.name.endsWith(".weight")) return "not a weight (only 2-D / conv weights become modules)";
  if (info.shape.length < 2 || info.shape.length > 4)
    return `a ${info.shape.length}-D weight (not linear / conv)`;
  if (targets !== undefined && !targets.test(info.name.slice(0, -".weight".length)))
    return `not matched by targets ${targets}`;
  return null;
}

function mostCommon(values: readonly number[]): number {
  const counts = new Map<number, number>();
  let best = values[0]!;
  for (const v of values) {
    const c = (counts.get(v) ?? 0) + 1;
    counts.set(v, c);
    if (c > counts.get(best)! || (c === counts.get(best)! && v < best)) best = v;
  }
  return best;
}

interface Extracted {
  readonly module: string;
  readonly layer: LayerGeometry;
  readonly result: ExtractedModule;
}

/** The adapter config for the extracted modules (`r`/alpha the most common, the rest in the patterns). */
function buildConfig(
  variant: AdapterVariant<LycorisConfig>,
  extracted: readonly Extracted[],
  configOptions: Readonly<Record<string, unknown>>,
): LycorisConfig {
  const r = mostCommon(extracted.map((e) => e.result.r));
  const alpha = mostCommon(extracted.map((e) => e.result.alpha));
  const rankPattern: Record<string, number> = {};
  const alphaPattern: Record<string, number> = {};
  for (const e of extracted) {
    if (e.result.r !== r) rankPattern[e.module] = e.result.r;
    if (e.result.alpha !== alpha) alphaPattern[e.module] = e.result.alpha;
  }
  const names = variant.kohya?.configNames ?? { alpha: "alpha", initWeights: "initWeights" };
  const config = variant.createConfig({
    ...configOptions,
    r,
    [names.alpha]: alpha,
    rankPattern,
    alphaPattern,
    targetModules: extracted.map((e) => e.module),
    [names.initWeights]: false,
  });
  for (const e of extracted) {
    const ra = resolveRankAndAlpha(config, e.module);
    const layout = variant.parameterLayout({ config, ...ra, layer: e.layer });
    const got = Object.entries(e.result.params).map(([n, t]) => `${n} ${formatShape(t.shape)}`);
    const want = layout.params.map(([n, s]) => `${n} ${formatShape(s)}`);
    if (ra.r !== e.result.r || ra.alpha !== e.result.alpha || got.join(", ") !== want.join(", ")) {
      throw new AdapterFilesError(
        "unsupported",
        `module '${e.module}': the ${variant.peftType} config cannot express the extracted factors (${got.join(", ")}; the config gives ${want.join(", ")})`,
      );
    }
  }
  return config;
}

/**
 * Extracts an adapter from a fine-tuned checkpoint: for every weight that differs between `base` and `tuned`
 * (2-D or conv, matching `targets`), `ΔW = tuned − base` and the variant's `extractFromDelta` (LoKr: the nearest
 * Kronecker product; LoRA: a truncated SVD with LyCORIS's rank selection), streamed tensor by tensor (memory: the
 * two tensors being compared and the factors so far). Unchanged tensors are skipped; other changed tensors are
 * reported. The adapter is written (when `out` is given) as a PEFT directory or a kohya / LyCORIS file, atomically,
 * after every tensor was read; merging it into `base` gives `tuned` up to each layer's reported relative error.
 *
 * @throws AdapterFilesError `invalid_option` (format, factor, algo), `input` (checkpoints with different tensors
 *   or shapes, nothing to extract), `refused` (an output that is an input or holds an adapter), `aborted`;
 *   AdapterError `invalid_rank` (a rank selection); the variant's errors (a rank its shapes cannot take).
 */
export async function extractAdapter(o: ExtractAdapterOptions): Promise<ExtractSummary> {
  const variant = checkOptions(o);
  const format = o.format ?? "peft";
  if (o.out !== undefined) {
    if (format === "peft") await checkPeftOutput(o.out, [o.base, o.tuned], []);
    else await checkOutputPath(o.out, [o.base, o.tuned], []);
  }
  const base = await openBaseModel(o.base);
  let tuned: TensorFile | null = null;
  try {
    tuned = await openBaseModel(o.tuned);
    checkSameLayout(base, tuned);
    const total = base.header.tensors.length;
    o.onProgress?.({ task: "extract", done: 0, total, item: "" });
    const extracted: Extracted[] = [];
    const otherChanged: ChangedTensorReport[] = [];
    let configOptions: Readonly<Record<string, unknown>> = {};
    let unchanged = 0;
    let done = 0;
    for (const info of base.header.tensors) {
      if (o.signal?.aborted === true) throw new AdapterFilesError("aborted", "aborted; no output written");
      const tunedInfo = tuned.info(info.name)!;
      const floats = isFloatDtype(info.dtype) && isFloatDtype(tunedInfo.dtype);
      const reason = skipReason(info, floats, o.targets);
      const delta = await readDelta(base, tuned, info, tunedInfo, reason === null);
      if (delta === null) unchanged++;
      else if (reason !== null) otherChanged.push({ name: info.name, shape: info.shape, reason });
      else {
        const layer = geometryFromWeightShape(info.shape)!;
        const module = info.name.slice(0, -".weight".length);
        const x = variant.extractFromDelta!({ data: delta, shape: info.shape }, layer, {
          ...(o.rank === undefined ? {} : { rank: o.rank }),
          ...(o.factor === undefined ? {} : { factor: o.factor }),
          ...(o.decomposeBoth === undefined ? {} : { decomposeBoth: o.decomposeBoth }),
        });
        extracted.push({ module, layer, result: x.module });
        configOptions = x.configOptions;
      }
      o.onProgress?.({ task: "extract", done: ++done, total, item: info.name });
    }
    if (extracted.length === 0) {
      throw new AdapterFilesError(
        "input",
        `no 2-D / conv weight differs between ${inputName(o.base)} and ${inputName(o.tuned)}${o.targets === undefined ? "" : ` among those matching ${o.targets}`}: nothing to extract`,
      );
    }
    const config = buildConfig(variant, extracted, configOptions);
    const configJson = adapterConfigToJson(config);
    const weights = new Map<string, Tensor<Float32Array>>();
    for (const e of extracted)
      for (const [name, t] of Object.entries(e.result.params))
        weights.set(`${PEFT_KEY_PREFIX}${e.module}.${name}`, t);
    if (o.signal?.aborted === true) throw new AdapterFilesError("aborted", "aborted; no output written");
    if (o.out !== undefined) {
      const shapes = base;
      await writeExtractedAdapter({
        configJson,
        weights,
        format,
        out: o.out,
        registry: o.registry,
        weightShape: (m) => shapes.info(`${m}.weight`)?.shape,
        ...(o.prefix === undefined ? {} : { prefix: o.prefix }),
      });
    }
    const layers = extracted.map((e) => ({
      module: e.module,
      shape: e.layer.weightShape,
      rank: e.result.r,
      relativeError: e.result.relativeError,
      structure: e.result.structure,
    }));
    return {
      peftType: variant.peftType,
      format,
      out: o.out ?? null,
      layers,
      unchanged,
      otherChanged,
      maxRelativeError: Math.max(0, ...layers.map((l) => l.relativeError)),
      configJson,
      weights,
    };
  } finally {
    await tuned?.close();
    await base.close();
  }
}
