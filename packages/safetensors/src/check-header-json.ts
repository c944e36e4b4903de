import { SafetensorsError } from "./safetensors-error";

/** Deepest nesting of arrays and objects accepted in a header; a valid header nests 3 deep. */
export const MAX_HEADER_DEPTH = 64;

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COMMA = 0x2c;
const OPEN_OBJECT = 0x7b;
const CLOSE_OBJECT = 0x7d;
const OPEN_ARRAY = 0x5b;
const CLOSE_ARRAY = 0x5d;

/** An open object or array, and how it was reached (for messages only). */
interface Level {
  /** `null` for an array; an object's keys so far (a list while short, then a set). */
  keys: string[] | Set<string> | null;
  readonly parent: Level | undefined;
  /** The key (or `[]` in an array) under which the parent holds this level. */
  readonly name: string;
}

const SMALL_OBJECT = 16;

/** Records `key` in an object level; false when it is already there. */
function addKey(level: Level, key: string): boolean {
  const keys = level.keys!;
  if (Array.isArray(keys)) {
    if (keys.includes(key)) return false;
    keys.push(key);
    if (keys.length > SMALL_OBJECT) level.keys = new Set(keys);
    return true;
  }
  if (keys.has(key)) return false;
  keys.add(key);
  return true;
}

/** The header path of a key: `name`, `name.dtype`, `__metadata__.key`, `t[].a`. */
function pathOf(level: Level | undefined, key: string): string {
  const parts = [key];
  for (let l = level; l?.parent !== undefined; l = l.parent) parts.push(l.name);
  return parts
    .reverse()
    .join(".")
    .replace(/\.\[\]/g, "[]");
}

/**
 * One pass over the raw header text, before `JSON.parse`, for what `JSON.parse` does not report:
 * nesting deeper than {@link MAX_HEADER_DEPTH} (so nothing later recurses without bound) and a key
 * repeated in one object (`JSON.parse` keeps the last silently; the format forbids duplicates and
 * the reference implementation rejects them). Keys are compared decoded, so `"w"` and `"\u0077"`
 * are the same. Syntax errors are left to `JSON.parse`: the scan stops where the text stops being
 * JSON it can follow.
 *
 * @throws SafetensorsError `invalid_header` naming the repeated key (`name`, `__metadata__`,
 *   `name.dtype`, `__metadata__.key`) or the nesting.
 */
export function checkHeaderJson(text: string): void {
  const stack: Level[] = [];
  let lastKey = "";
  let expectKey = false;
  let nextBackslash = text.indexOf("\\");
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === QUOTE) {
      // jump to the closing quote: the first one not escaped by an odd run of backslashes
      const start = i;
      for (;;) {
        i = text.indexOf('"', i + 1);
        if (i < 0) return; // unterminated string: JSON.parse says so
        let b = i - 1;
        while (b > start && text.charCodeAt(b) === BACKSLASH) b--;
        if ((i - 1 - b) % 2 === 0) break;
      }
      if (nextBackslash >= 0 && nextBackslash < start) nextBackslash = text.indexOf("\\", start);
      const escaped = nextBackslash >= 0 && nextBackslash < i;
      if (!expectKey) continue;
      expectKey = false;
      let key = text.slice(start + 1, i);
      if (escaped) {
        try {
          key = JSON.parse(text.slice(start, i + 1)) as string;
        } catch {
          return; // a bad escape: JSON.parse says so
        }
      }
      const level = stack[stack.length - 1]!;
      if (!addKey(level, key)) {
        throw new SafetensorsError(
          "invalid_header",
          pathOf(level, key),
          "each key once per JSON object (the format forbids duplicates)",
          `'${key}' twice`,
        );
      }
      lastKey = key;
    } else if (c === OPEN_OBJECT || c === OPEN_ARRAY) {
      if (stack.length >= MAX_HEADER_DEPTH) {
        throw new SafetensorsError(
          "invalid_header",
          "header",
          `JSON nested at most ${MAX_HEADER_DEPTH} levels deep (a valid header nests 3)`,
          `deeper nesting at character ${i}`,
        );
      }
      const parent = stack[stack.length - 1];
      const name = parent?.keys === null ? "[]" : lastKey;
      stack.push({ keys: c === OPEN_OBJECT ? [] : null, parent, name });
      expectKey = c === OPEN_OBJECT;
    } else if (c === CLOSE_OBJECT || c === CLOSE_ARRAY) {
      stack.pop();
      expectKey = false;
    } else if (c === COMMA) {
      expectKey = stack[stack.length - 1]?.keys != null;
    }
  }
}
