/** Containers nested deeper than this print as `…`. */
const MAX_DEPTH = 3;
/** Items (array elements, object entries) printed per container before `… N more`. */
const MAX_ITEMS = 10;
/** Strings longer than this are cut, with `…` before the closing quote. */
const MAX_STRING = 200;

/**
 * A received value as an error message should print it: JSON-like, but every value as itself
 * (`NaN`, `Infinity`, `-0`, `8n`, `undefined`, where `JSON.stringify` prints `null` or nothing), and
 * always short and finite — at most 3 levels deep, 10 items per container and 200 characters per
 * string, so a hostile value (huge, deeply nested or cyclic) cannot blow up the message.
 */
export function describeValue(value: unknown): string {
  return describeAt(value, 0);
}

function describeAt(value: unknown, depth: number): string {
  switch (typeof value) {
    case "number":
      return Object.is(value, -0) ? "-0" : String(value);
    case "bigint":
      return `${value}n`;
    case "string":
      return JSON.stringify(value.length > MAX_STRING ? `${value.slice(0, MAX_STRING)}…` : value);
    case "undefined":
    case "boolean":
    case "symbol":
      return String(value);
    case "function":
      return `function ${value.name || "(anonymous)"}`;
  }
  if (value === null) return "null";
  if (depth >= MAX_DEPTH) return "…";
  if (Array.isArray(value)) {
    return `[${items(value.slice(0, MAX_ITEMS + 1), value.length, (v) => describeAt(v, depth + 1))}]`;
  }
  const entries: [string, unknown][] = [];
  for (const key in value as object) {
    if (!Object.hasOwn(value as object, key)) continue;
    if (entries.length > MAX_ITEMS) break;
    entries.push([key, (value as Record<string, unknown>)[key]]);
  }
  const total = entries.length > MAX_ITEMS ? Object.keys(value as object).length : entries.length;
  return `{${items(entries, total, ([k, v]) => `${JSON.stringify(k)}: ${describeAt(v, depth + 1)}`)}}`;
}

/** The first {@link MAX_ITEMS} of `head` described and joined, plus `… N more` when `total` exceeds them. */
function items<T>(head: readonly T[], total: number, describe: (item: T) => string): string {
  const shown = head.slice(0, MAX_ITEMS).map(describe);
  if (total > MAX_ITEMS) shown.push(`… ${total - MAX_ITEMS} more`);
  return shown.join(", ");
}
