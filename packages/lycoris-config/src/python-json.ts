import { pythonFloatRepr } from "./python-repr";

/** Marks a number that Python holds as a float, so it prints as `0.0` rather than `0`. */
export class PythonFloat {
  constructor(readonly value: number) {}
}

function escapeString(s: string): string {
  // JSON.stringify escapes quotes, backslashes and control characters exactly like Python's json;
  // Python's default ensure_ascii additionally escapes everything outside printable ASCII.
  return JSON.stringify(s).replace(
    /[^\x20-\x7e]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`,
  );
}

function formatNumber(x: number): string {
  if (Number.isInteger(x)) return Math.abs(x) < 1e21 ? String(x) : BigInt(x).toString();
  return pythonFloatRepr(x);
}

/**
 * Serialises like Python's `json.dumps(value, indent=2, sort_keys=True)` (ensure_ascii on): keys sorted by
 * code point at every level, `", "`-free separators with newlines, integers as ints, {@link PythonFloat} and
 * non-integral numbers in Python's float notation.
 */
export function pythonJsonDumps(value: unknown, indent = 0): string {
  if (value === null || value === undefined) return "null";
  if (value instanceof PythonFloat) return pythonFloatRepr(value.value);
  if (typeof value === "boolean") return value ? "true" : "false";
  if (typeof value === "number") return formatNumber(value);
  if (typeof value === "string") return escapeString(value);
  const inner = " ".repeat(indent + 2);
  const outer = " ".repeat(indent);
  if (Array.isArray(value)) {
    if (value.length === 0) return "[]";
    return `[\n${value.map((v) => inner + pythonJsonDumps(v, indent + 2)).join(",\n")}\n${outer}]`;
  }
  const keys = Object.keys(value as object).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  if (keys.length === 0) return "{}";
  const record = value as Record<string, unknown>;
  const lines = keys.map((k) => `${inner}${escapeString(k)}: ${pythonJsonDumps(record[k], indent + 2)}`);
  return `{\n${lines.join(",\n")}\n${outer}}`;
}
