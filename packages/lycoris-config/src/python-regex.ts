import { LycorisConfigError } from "./errors";

/** How a Python pattern is applied: `re.fullmatch` (whole name) or `re.match` (anchored at the start only). */
export type PythonMatchMode = "fullmatch" | "match";

/** Escapes of ASCII letters that Python's `re` knows outside a character class (others are errors there). */
const LETTER_ESCAPES = new Set(["b", "B", "d", "D", "f", "n", "r", "s", "S", "t", "v", "w", "W", "x", "u"]);
/** Escapes of ASCII letters that Python's `re` knows inside a character class. */
const CLASS_LETTER_ESCAPES = new Set(["b", "d", "D", "f", "n", "r", "s", "S", "t", "v", "w", "W", "x", "u"]);
const GROUP_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

function reject(pattern: string, field: string, why: string): never {
  throw new LycorisConfigError(
    "invalid_regex",
    `Cannot use the Python regular expression ${JSON.stringify(pattern)} of \`${field}\`: ${why}`,
    { field, expected: "a Python regular expression within the translated subset", received: pattern },
  );
}

/**
 * Translates the syntax of a Python `re` pattern into a JavaScript `RegExp` source (no flags, non-unicode
 * mode). Supported: everything both engines share, plus `(?P<name>...)` → `(?<name>...)`,
 * `(?P=name)` → `\k<name>`, `\A` → `^`, `\Z`/`\z` → `$`, `\a` → `\x07`, `{,n}` → `{0,n}`, `(?#...)` comments
 * (dropped), and a `]` as the first member of a character class. Rejected with a {@link LycorisConfigError}
 * of kind `"invalid_regex"`: inline flags (`(?i)`, `(?i:...)`), conditionals `(?(1)...)`, atomic groups,
 * possessive quantifiers, `\N{...}`, `\U...`, and escapes Python itself rejects.
 */
export function translatePythonRegex(pattern: string, field: string): string {
  let out = "";
  let i = 0;
  const n = pattern.length;
  while (i < n) {
    const c = pattern[i] as string;
    if (c === "\\") {
      const d = pattern[i + 1];
      if (d === undefined) reject(pattern, field, "it ends with a bare backslash");
      if (d === "A") out += "^";
      else if (d === "Z" || d === "z") out += "$";
      else if (d === "a") out += "\\x07";
      else if (d === "N" || d === "U") reject(pattern, field, `the escape \\${d} is not supported`);
      else if (/[A-Za-z]/.test(d) && !LETTER_ESCAPES.has(d)) reject(pattern, field, `bad escape \\${d}`);
      else out += `\\${d}`;
      i += 2;
      continue;
    }
    if (c === "[") {
      // copy the whole class; Python treats a leading `]` as a literal member
      out += "[";
      i += 1;
      if (pattern[i] === "^") {
        out += "^";
        i += 1;
      }
      if (pattern[i] === "]") {
        out += "\\]";
        i += 1;
      }
      let closed = false;
      while (i < n) {
        const e = pattern[i] as string;
        if (e === "\\") {
          const d = pattern[i + 1];
          if (d === undefined) reject(pattern, field, "it ends with a bare backslash");
          if (d === "a") out += "\\x07";
          else if (/[A-Za-z]/.test(d) && !CLASS_LETTER_ESCAPES.has(d)) {
            reject(pattern, field, `bad escape \\${d} in a character class`);
          } else out += `\\${d}`;
          i += 2;
          continue;
        }
        out += e;
        i += 1;
        if (e === "]") {
          closed = true;
          break;
        }
      }
      if (!closed) reject(pattern, field, "unterminated character set");
      continue;
    }
    if (c === "(" && pattern[i + 1] === "?") {
      const e = pattern[i + 2];
      if (e === ":" || e === "=" || e === "!") {
        out += `(?${e}`;
        i += 3;
      } else if (e === "<" && (pattern[i + 3] === "=" || pattern[i + 3] === "!")) {
        out += `(?<${pattern[i + 3]}`;
        i += 4;
      } else if (e === "P" && pattern[i + 3] === "<") {
        const end = pattern.indexOf(">", i + 4);
        const name = end < 0 ? "" : pattern.slice(i + 4, end);
        if (!GROUP_NAME.test(name)) reject(pattern, field, "bad group name");
        out += `(?<${name}>`;
        i = end + 1;
      } else if (e === "P" && pattern[i + 3] === "=") {
        const end = pattern.indexOf(")", i + 4);
        const name = end < 0 ? "" : pattern.slice(i + 4, end);
        if (!GROUP_NAME.test(name)) reject(pattern, field, "bad group name");
        out += `\\k<${name}>`;
        i = end + 1;
      } else if (e === "#") {
        const end = pattern.indexOf(")", i + 3);
        if (end < 0) reject(pattern, field, "missing ), unterminated comment");
        i = end + 1;
      } else if (e === ">") {
        reject(pattern, field, "atomic groups (?>...) are not supported");
      } else if (e === "(") {
        reject(pattern, field, "conditional groups (?(id)yes|no) are not supported");
      } else {
        reject(pattern, field, "inline flags and other (?...) extensions are not supported");
      }
      continue;
    }
    if ((c === "*" || c === "+" || c === "?") && pattern[i + 1] === "+") {
      reject(pattern, field, "possessive quantifiers are not supported");
    }
    if (c === "{") {
      const open = /^\{,(\d+)\}/.exec(pattern.slice(i));
      if (open) {
        out += `{0,${open[1]}}`;
        i += open[0].length;
        if (pattern[i] === "+") reject(pattern, field, "possessive quantifiers are not supported");
        continue;
      }
      const bounded = /^\{\d+(,\d*)?\}/.exec(pattern.slice(i));
      if (bounded && pattern[i + bounded[0].length] === "+") {
        reject(pattern, field, "possessive quantifiers are not supported");
      }
    }
    out += c;
    i += 1;
  }
  try {
    new RegExp(out);
  } catch (error) {
    reject(pattern, field, (error as Error).message);
  }
  return out;
}

/**
 * Compiles a Python pattern into a `RegExp` that behaves like `re.fullmatch(pattern, name)` or
 * `re.match(pattern, name)` on module names (single-line ASCII-ish strings).
 */
export function compilePythonRegex(pattern: string, mode: PythonMatchMode, field: string): RegExp {
  const source = translatePythonRegex(pattern, field);
  return new RegExp(mode === "fullmatch" ? `^(?:${source})$` : `^(?:${source})`);
}
