/** `rankDropout` → `rank_dropout`, `useEffectiveConv2d` → `use_effective_conv2d`. */
export function camelToSnake(key: string): string {
  return key.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
}

/** `rank_dropout` → `rankDropout`, `use_effective_conv2d` → `useEffectiveConv2d`. */
export function snakeToCamel(key: string): string {
  return key.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());
}
