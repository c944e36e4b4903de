/** Formats an integer with thousands separators, as Python's `f"{n:,}"`. */
export function formatThousands(n: number): string {
  return Math.trunc(n)
    .toString()
    .replace(/\B(?=(\d{3})+(?!\d))/g, ",");
}

/** PEFT's `print_trainable_parameters` line. */
export function formatTrainableParameters(trainable: number, all: number): string {
  const pct = all === 0 ? 0 : (100 * trainable) / all;
  return `trainable params: ${formatThousands(trainable)} || all params: ${formatThousands(all)} || trainable%: ${pct.toFixed(4)}`;
}
