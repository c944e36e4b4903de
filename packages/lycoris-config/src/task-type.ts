/** PEFT's `TaskType` values, in PEFT's order (the order its error message lists them). */
export const PEFT_TASK_TYPES = [
  "SEQ_CLS",
  "SEQ_2_SEQ_LM",
  "CAUSAL_LM",
  "TOKEN_CLS",
  "QUESTION_ANS",
  "FEATURE_EXTRACTION",
] as const;

/** A PEFT task type (`task_type` in `adapter_config.json`). */
export type PeftTaskType = (typeof PEFT_TASK_TYPES)[number];

/** Whether `value` is one of PEFT's task types. */
export function isPeftTaskType(value: unknown): value is PeftTaskType {
  return typeof value === "string" && (PEFT_TASK_TYPES as readonly string[]).includes(value);
}
