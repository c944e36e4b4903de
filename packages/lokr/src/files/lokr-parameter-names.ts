/** Every LoKr parameter name, in PEFT's attribute order. */
export const LOKR_PARAM_NAMES: readonly string[] = [
  "lokr_w1",
  "lokr_w1_a",
  "lokr_w1_b",
  "lokr_w2",
  "lokr_w2_a",
  "lokr_w2_b",
  "lokr_t2",
];
