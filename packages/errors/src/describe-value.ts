/**
 * A value as an error message shows it: strings quoted, numbers as JavaScript prints them (`NaN`,
 * `Infinity`, `-0`), bigints with `n`, arrays and plain objects as compact JSON (non-finite numbers
 * inside them kept as themselves), anything else by `String`. Never throws, and never recurses
 * deeper than a few levels or prints more than `maxLength` characters, so a hostile input (a 10,000
 * deep array, a huge string) cannot make the message builder fail.
 */
export function describeValue(value: unknown, maxLength = 200): string {
  const text = describe(value, 0);
  return text.length > maxLength ? `${text.slice(0, maxLength - 1)}…` : text;
}

const MAX_DEPTH = 4;
const MAX_ITEMS = 16;

function describe(value: unknown, depth: number): string {
  if (typeof value === "string")
    return JSON.stringify(value.length > 256 ? `${value.slice(0, 256)}…` : value);
  if (typeof value === "number") return Object.is(value, -0) ? "-0" : String(value);
  if (typeof value === "bigint") return `${value}n`;
  if (value === null || typeof value !== "object") return String(value);
  if (depth >= MAX_DEPTH) return Array.isArray(value) ? "[…]" : "{…}";
  if (Array.isArray(value)) {
    const items = value.slice(0, MAX_ITEMS).map((v) => describe(v, depth + 1));
    if (value.length > MAX_ITEMS) items.push(`… ${value.length - MAX_ITEMS} more`);
    return `[${items.join(", ")}]`;
  }
  const entries = Object.entries(value as Record<string, unknown>);
  const shown = entries
    .slice(0, MAX_ITEMS)
    .map(([k, v]) => `${JSON.stringify(k)}: ${describe(v, depth + 1)}`);
  if (entries.length > MAX_ITEMS) shown.push(`… ${entries.length - MAX_ITEMS} more`);
  return `{${shown.join(", ")}}`;
}
