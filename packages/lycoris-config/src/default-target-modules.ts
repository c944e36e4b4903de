/**
 * PEFT's default `target_modules` per transformers `model_type`, used when a LoKr/LoHa config leaves
 * `target_modules` unset (PEFT copies its LoRA table for LoKr and LoHa). A subset of PEFT's table.
 */
export const DEFAULT_TARGET_MODULES: Readonly<Record<string, readonly string[]>> = Object.freeze({
  t5: ["q", "v"],
  mt5: ["q", "v"],
  bart: ["q_proj", "v_proj"],
  gpt2: ["c_attn"],
  bloom: ["query_key_value"],
  "blip-2": ["q", "v", "q_proj", "v_proj"],
  opt: ["q_proj", "v_proj"],
  gptj: ["q_proj", "v_proj"],
  gpt_neox: ["query_key_value"],
  gpt_neo: ["q_proj", "v_proj"],
  bert: ["query", "value"],
  roberta: ["query", "value"],
  "xlm-roberta": ["query", "value"],
  electra: ["query", "value"],
  "deberta-v2": ["query_proj", "value_proj"],
  deberta: ["in_proj"],
  layoutlm: ["query", "value"],
  llama: ["q_proj", "v_proj"],
  chatglm: ["query_key_value"],
  gpt_bigcode: ["c_attn"],
  mpt: ["Wqkv"],
  RefinedWebModel: ["query_key_value"],
  RefinedWeb: ["query_key_value"],
  falcon: ["query_key_value"],
  btlm: ["c_proj", "c_attn"],
  codegen: ["qkv_proj"],
  mistral: ["q_proj", "v_proj"],
  mixtral: ["q_proj", "v_proj"],
  stablelm: ["q_proj", "v_proj"],
  phi: ["q_proj", "v_proj", "fc1", "fc2"],
  gemma: ["q_proj", "v_proj"],
});

/** The default targets for `modelType`, or null when PEFT has none (then `target_modules` is required). */
export function defaultTargetModules(modelType: string | null | undefined): readonly string[] | null {
  if (modelType === null || modelType === undefined) return null;
  return Object.hasOwn(DEFAULT_TARGET_MODULES, modelType)
    ? (DEFAULT_TARGET_MODULES[modelType] ?? null)
    : null;
}
