import { join, resolve } from "node:path";
import { isLycorisError } from "@lycoris-ts/errors";
import { type FloatArray, svd, type Tensor } from "@lycoris-ts/kernels";
import { convertToLora, type LoraConversion, loraAdapterFiles } from "@lycoris-ts/lora";
import { adapterConfigBehaviour, parseAdapterConfigJson } from "@lycoris-ts/lycoris-config";
import {
  type AdapterRegistry,
  type LoraRank,
  LycorisLayer,
  loadAdapterStateDict,
  PeftModel,
  thresholdRank,
} from "@lycoris-ts/runtime";
import { expectClose, expectEqual, Mismatch } from "./compare";
import type { ConversionAttempt, ConversionExpected, ConversionJson } from "./conversion-fixture-files";
import { adapterDir, exists, readInputs, readJson, readTensors } from "./fixture-files";
import { loraProduct } from "./lora-product";
import { buildCaseBase, buildPeftCaseModel } from "./peft-case-model";
import type { CaseResult } from "./run-case";

/** FORMAT.md's tolerance for B·A, singular values and relative errors against PEFT's float32 SVD. */
const PEFT_TOLERANCE = 1e-4;
/** Our conv conversions against a float64 SVD of ΔW: float64 on both sides, factors stored as float32. */
const F64_TOLERANCE = 1e-5;

/** max over elements of |x − ref| / (1 + |ref|). */
function worstRelative(x: ArrayLike<number>, ref: ArrayLike<number>): number {
  let worst = 0;
  for (let i = 0; i < ref.length; i++)
    worst = Math.max(worst, Math.abs(x[i]! - ref[i]!) / (1 + Math.abs(ref[i]!)));
  return worst;
}

const rankOf = (a: ConversionAttempt): LoraRank =>
  a.rank_type === "int" ? { rank: a.rank } : { threshold: a.rank };

const classSet = (message: string) => [...message.matchAll(/<class '[^']+'>/g)].map((m) => m[0]).sort();

/** The attempt's conversion must raise as PEFT did (typed; PEFT's text for PEFT's own checks; our typed error for PEFT's bugs). */
function expectRefusal(what: string, run: () => unknown, a: ConversionAttempt): void {
  let error: unknown;
  try {
    run();
  } catch (e) {
    error = e;
  }
  if (error === undefined) throw new Mismatch(`${what}: converted; PEFT raised ${a.exception}: ${a.message}`);
  if (!isLycorisError(error)) throw new Mismatch(`${what}: raised an untyped error (${String(error)})`);
  const message = error.message;
  if (a.stage === "get_peft_model") {
    // PEFT returned a config with a negative r that cannot be loaded: ours must refuse the rank.
    if (error.kind !== "invalid_rank")
      throw new Mismatch(`${what}: expected invalid_rank, got ${error.kind}: ${message}`);
  } else if (a.exception === "AttributeError") {
    if (error.kind !== "conversion_missing_adapter")
      throw new Mismatch(`${what}: expected conversion_missing_adapter, got ${error.kind}: ${message}`);
  } else if (a.message!.startsWith("Some module types")) {
    expectEqual(`${what}: unsupported layer classes`, classSet(message), classSet(a.message!));
  } else if (!message.includes(a.message!)) {
    throw new Mismatch(`${what}: message "${message}" lacks PEFT's "${a.message}"`);
  }
}

/** Loads a LoRA adapter (config JSON + weights) onto a fresh base of the source case, as PEFT's from_pretrained. */
function freshLora(
  sourceDir: string,
  registry: AdapterRegistry,
  configJson: Record<string, unknown>,
  weights: ReadonlyMap<string, Tensor<Float32Array>>,
): PeftModel {
  const { model, options } = buildCaseBase(sourceDir, registry);
  const { options: lora } = parseAdapterConfigJson(configJson);
  const peft = new PeftModel(model, registry.get("LORA").createConfig(lora), "default", options);
  loadAdapterStateDict(peft, "default", weights);
  peft.eval();
  return peft;
}

/** The tensors `saveLoraAdapter` writes for a conversion. */
const savedWeights = (c: LoraConversion) => new Map([...c.weights, ...c.targetedInitWeights]);

/** The source model's adapted layer `module`. */
function sourceLayer(peft: PeftModel, module: string): LycorisLayer {
  const layer = peft.model.getSubmodule(module);
  if (!(layer instanceof LycorisLayer))
    throw new Mismatch(`${module}: not an adapter layer of the source model`);
  return layer;
}

/** The converted LoRA loaded here has, on `module`, the LoRA ΔW our factors say (file layout and names right). */
function expectLoadedDelta(
  what: string,
  lora: PeftModel,
  ours: LoraConversion,
  module: string,
  source: PeftModel,
): number {
  const geometry = sourceLayer(source, module).geometry;
  if (geometry.groups > 1) return 0; // PEFT's LoRA has no ΔW on a grouped conv (checked through B·A instead)
  const delta = sourceLayer(lora, module).getDeltaWeight("default");
  const err = worstRelative(delta.data, loraProduct(ours.weights, module, geometry));
  if (!(err <= F64_TOLERANCE))
    throw new Mismatch(`${what} ${module}: loaded LoRA ΔW off by ${err.toExponential(2)}`, err);
  return err;
}

/** `a`'s conversion against PEFT's folder: ranks, shapes, B·A, relative errors, keys, config; both adapters load here. */
function checkConverted(
  setDir: string,
  sourceDir: string,
  peft: PeftModel,
  registry: AdapterRegistry,
  ours: LoraConversion,
  a: ConversionAttempt,
  inputs: ReadonlyMap<string, Tensor<Float32Array>>,
): number {
  const dir = join(setDir, a.dir!);
  const what = a.dir!;
  const exp = readJson<ConversionExpected>(join(dir, "expected.json"));
  const refs = readTensors(join(dir, "expected.safetensors"));
  const fileConfig = readJson(join(dir, "adapter_config.json"));
  expectEqual(
    `${what}: converted modules`,
    ours.layers.map((l) => l.module),
    exp.converted_modules,
  );
  let worst = 0;
  let sameRanks = true;
  for (const l of ours.layers) {
    const e = exp.modules[l.module]!;
    const at = `${what} ${l.module}`;
    if (e.rank_robust) expectEqual(`${at}: effective rank`, l.rank, e.effective_rank);
    else if (l.rank < e.ba_equivalent_ranks[0] || l.rank > e.ba_equivalent_ranks[1])
      throw new Mismatch(
        `${at}: rank ${l.rank} outside PEFT's equivalent ranks [${e.ba_equivalent_ranks.join(", ")}]`,
      );
    const k = l.rank;
    const shape = (m: string) => ours.weights.get(`base_model.model.${l.module}.${m}.weight`)?.shape;
    expectEqual(
      `${at}: lora_A / lora_B shapes`,
      [shape("lora_A"), shape("lora_B")],
      [
        [k, ...e.lora_A_shape.slice(1)],
        [e.lora_B_shape[0], k],
      ],
    );
    if (k !== e.effective_rank) {
      sameRanks = false;
      continue;
    }
    if (Math.abs(l.relativeError - e.relative_error) > PEFT_TOLERANCE)
      throw new Mismatch(`${at}: relative error ${l.relativeError}, PEFT ${e.relative_error}`);
    if (!e.truncation_well_conditioned) continue;
    const ba = loraProduct(ours.weights, l.module, sourceLayer(peft, l.module).geometry);
    const err = worstRelative(ba, refs.get(`ba/${l.module}`)!.data);
    if (!(err <= PEFT_TOLERANCE))
      throw new Mismatch(`${at}: B·A off by ${err.toExponential(2)} (relative)`, err);
    worst = Math.max(worst, err);
  }
  expectEqual(`${what}: state dict keys`, [...ours.weights.keys()], exp.state_dict_keys);
  // The returned config (target_modules a set) and the saved one (target_modules as injection resolved it).
  expectEqual(
    `${what}: returned target_modules`,
    typeof ours.config.targetModules === "string"
      ? ours.config.targetModules
      : [...ours.config.targetModules!].sort(),
    typeof exp.lora_config.target_modules === "string"
      ? exp.lora_config.target_modules
      : [...exp.lora_config.target_modules].sort(),
  );
  const files = loraAdapterFiles(ours);
  const oursJson = JSON.parse(files["adapter_config.json"]) as Record<string, unknown>;
  if (sameRanks) {
    expectEqual(
      `${what}: adapter_config.json`,
      adapterConfigBehaviour(oursJson),
      adapterConfigBehaviour(fileConfig),
    );
    expectEqual(
      `${what}: rank_pattern order (model order)`,
      Object.keys(ours.config.rankPattern),
      Object.keys(exp.lora_config.rank_pattern),
    );
  } else {
    const strip = (j: Record<string, unknown>) => ({
      ...adapterConfigBehaviour(j),
      rank_pattern: null,
      alpha_pattern: null,
    });
    expectEqual(`${what}: adapter_config.json (ranks aside)`, strip(oursJson), strip(fileConfig));
  }
  // PEFT's saved folder loads here and gives PEFT's LoRA forward; ours loads too, with our B·A as its ΔW.
  const peftLora = freshLora(
    sourceDir,
    registry,
    fileConfig,
    readTensors(join(dir, "adapter_model.safetensors")),
  );
  const oursLora = freshLora(sourceDir, registry, oursJson, savedWeights(ours));
  for (const l of ours.layers) {
    const x = inputs.get(l.module);
    if (x === undefined) throw new Mismatch(`${what}: no input for ${l.module}`);
    const y = sourceLayer(peftLora, l.module).forward(x);
    worst = Math.max(worst, expectClose(`${what} forward/${l.module}`, y, refs.get(`forward/${l.module}`)));
    worst = Math.max(worst, expectLoadedDelta(`${what} ours`, oursLora, ours, l.module, peft));
  }
  return worst;
}

/** ΔW of `adapter` on `layer` in float64 (the variant's own formula on float64 factors), as `[out, numel / out]`. */
function delta64(layer: LycorisLayer, adapter: string): Tensor<Float64Array> {
  const a = layer.adapter(adapter)!;
  const params: Record<string, Tensor<FloatArray>> = {};
  for (const [name, t] of Object.entries(layer.paramValues(adapter)))
    params[name] = { data: Float64Array.from(t.data), shape: t.shape };
  const d = a.variant.deltaWeight(params as Record<string, Tensor<Float64Array>>, a.ctx, a.scaling);
  const out = layer.geometry.outFeatures;
  return { data: d.data, shape: [out, d.data.length / out] };
}

/** Σ_{i<k} Sᵢ² / Σ Sᵢ² (float64). */
function energyAt(s: Float64Array, k: number): number {
  let kept = 0;
  let total = 0;
  for (let i = 0; i < s.length; i++) {
    total += s[i]! * s[i]!;
    if (i < k) kept += s[i]! * s[i]!;
  }
  return total === 0 ? 1 : kept / total;
}

/**
 * Beyond PEFT (a conversion PEFT refused for its conv layers): ours converts, and every layer's rank, relative
 * error and B·A are those of a float64 SVD of ΔW computed here; where the adapter is missing on a layer or the
 * rank is too large for one, ours must raise (typed). Returns the number of layers checked.
 */
function checkBeyondPeft(
  sourceDir: string,
  peft: PeftModel,
  registry: AdapterRegistry,
  conv: ConversionJson,
  a: ConversionAttempt,
): number {
  const what = `${a.adapter} ${a.tag} (convs converted)`;
  const rank = rankOf(a);
  const run = () => convertToLora(peft, { rank, adapterName: a.adapter });
  for (const [i, l] of conv.layers.entries()) {
    if (!l.adapters.includes(a.adapter)) {
      expectRefusal(what, run, { ...a, exception: "AttributeError" });
      return 0;
    }
    if ("rank" in rank && rank.rank > conv.svd_dims[i]!) {
      const message = `The chosen rank ${rank.rank} is larger than the weight shape (${conv.svd_dims[i]}), please choose a lower rank.`;
      expectRefusal(what, run, { ...a, exception: "ValueError", message });
      return 0;
    }
  }
  if ("rank" in rank && rank.rank < 0) {
    expectRefusal(what, run, { ...a, stage: "get_peft_model" }); // PEFT's negative-rank bug: ours refuses
    return 0;
  }
  const ours = run();
  for (const l of ours.layers) {
    const at = `${what} ${l.module}`;
    const layer = sourceLayer(peft, l.module);
    const d = delta64(layer, a.adapter);
    const ref = svd(d);
    const s = ref.s;
    const kRef = "rank" in rank ? rank.rank : thresholdRank(s, rank.threshold);
    if (l.rank !== kRef) {
      // Only a threshold decision within float rounding of t may differ (FORMAT.md: fragile at 1.0).
      const t = "threshold" in rank ? rank.threshold : Number.NaN;
      const fragile = [l.rank, kRef].every(
        (k) => energyAt(s, k) >= t - 1e-6 && energyAt(s, k - 1) <= t + 1e-6,
      );
      if (!fragile) throw new Mismatch(`${at}: rank ${l.rank}, float64 SVD gives ${kRef}`);
      continue;
    }
    const k = l.rank;
    const relTail = Math.sqrt(
      s.slice(k).reduce((acc, x) => acc + x * x, 0) / s.reduce((acc, x) => acc + x * x, 0),
    );
    if (Math.abs(l.relativeError - relTail) > 1e-6)
      throw new Mismatch(`${at}: relative error ${l.relativeError}, float64 SVD ${relTail}`);
    const g = layer.geometry;
    const shape = (m: string) => ours.weights.get(`base_model.model.${l.module}.${m}.weight`)?.shape;
    expectEqual(
      `${at}: lora_A / lora_B shapes`,
      [shape("lora_A"), shape("lora_B")],
      [
        [g.groups * k, g.inFeatures * g.groups, ...g.kernelSize],
        [g.outFeatures, k, ...g.kernelSize.map(() => 1)],
      ],
    );
    // FORMAT.md's conditioning rule: B·A is compared where the truncation is well defined.
    const s0 = s[0]!;
    const gap = k < s.length ? (s[k - 1]! - s[k]!) / s0 : 1;
    if (gap < 1e-3 && s[k - 1]! >= 1e-5 * s0) continue;
    const [rows, cols] = [d.shape[0]!, d.shape[1]!];
    const p = ref.s.length;
    const want = new Float64Array(rows * cols);
    for (let r = 0; r < rows; r++)
      for (let c = 0; c < cols; c++) {
        let acc = 0;
        for (let t = 0; t < k; t++) acc += ref.u.data[r * p + t]! * s[t]! * ref.v.data[c * p + t]!;
        want[r * cols + c] = acc;
      }
    const err = worstRelative(loraProduct(ours.weights, l.module, g), want);
    if (!(err <= F64_TOLERANCE))
      throw new Mismatch(`${at}: B·A vs float64 truncation off by ${err.toExponential(2)}`, err);
  }
  const oursJson = JSON.parse(loraAdapterFiles(ours)["adapter_config.json"]) as Record<string, unknown>;
  const oursLora = freshLora(sourceDir, registry, oursJson, savedWeights(ours));
  for (const l of ours.layers) expectLoadedDelta(what, oursLora, ours, l.module, peft);
  return ours.layers.length;
}

/**
 * Runs one case of a PEFT `convert_to_lora` fixture set (fixtures/peft-lora-conversion/FORMAT.md): builds the
 * converted PEFT case (`conversion.json` → `source`), loads its adapters, and replays every attempt with
 * `peftCompatible: true` (PEFT's outcome: conversions within FORMAT.md's tolerances, refusals raised), then, for
 * the attempts PEFT refused because of conv layers, converts them without it and checks them against a float64
 * SVD of ΔW.
 */
export function runConversionCase(setDir: string, name: string, registry: AdapterRegistry): CaseResult {
  const caseDir = join(setDir, name);
  let worst = 0;
  try {
    const conv = readJson<ConversionJson>(join(caseDir, "conversion.json"));
    const sourceDir = resolve(caseDir, conv.source);
    if (!exists(join(sourceDir, "case.json")))
      throw new Mismatch(`the converted case ${sourceDir} is missing (conversion.json → source)`);
    const { peft, c } = buildPeftCaseModel(sourceDir, registry);
    for (const ad of c.adapters)
      loadAdapterStateDict(
        peft,
        ad.name,
        readTensors(join(adapterDir(sourceDir, ad.name), "adapter_model.safetensors")),
      );
    const inputs = readInputs(join(sourceDir, "inputs.safetensors"));
    let converted = 0;
    let refused = 0;
    let beyond = 0;
    for (const a of conv.attempts) {
      const what = `${a.adapter} ${a.tag}`;
      const run = () =>
        convertToLora(peft, { rank: rankOf(a), adapterName: a.adapter, peftCompatible: true });
      if (a.status === "ok") {
        worst = Math.max(worst, checkConverted(setDir, sourceDir, peft, registry, run(), a, inputs));
        converted++;
        continue;
      }
      expectRefusal(what, run, a);
      refused++;
      if (
        a.exception === "TypeError" &&
        a.stage === "convert_to_lora" &&
        a.message!.startsWith("Some module types")
      )
        beyond += checkBeyondPeft(sourceDir, peft, registry, conv, a);
    }
    const detail = `${converted} conversions, ${refused} refusals${beyond > 0 ? `, ${beyond} conv/linear layers beyond PEFT vs float64 SVD` : ""}`;
    return { name: `conversion/${name}`, status: "pass", detail, worst };
  } catch (error) {
    const message = error instanceof Error ? `${error.constructor.name}: ${error.message}` : String(error);
    return {
      name: `conversion/${name}`,
      status: "fail",
      detail: message,
      worst: error instanceof Mismatch ? error.worst : worst,
    };
  }
}
