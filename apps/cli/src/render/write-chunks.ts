/**
 * Writes pieces of text through `out` in chunks of about 64 KiB, so a report of any size (a header
 * with a million modules) is never built as one string: V8 refuses strings over ~512 MB.
 */
export function writeChunks(out: (text: string) => void, pieces: Iterable<string>): void {
  let buffer: string[] = [];
  let size = 0;
  for (const piece of pieces) {
    buffer.push(piece);
    size += piece.length;
    if (size >= 65_536) {
      out(buffer.join(""));
      buffer = [];
      size = 0;
    }
  }
  if (size > 0) out(buffer.join(""));
}

/**
 * `JSON.stringify(value, null, 2)` as a sequence of pieces: objects and arrays down to `depth` levels are
 * written member by member, deeper values (one module of a report) in one piece each. The text is the
 * same as `JSON.stringify`'s.
 */
export function* jsonPieces(value: unknown, depth = 4, indent = ""): Generator<string> {
  const inner = `${indent}  `;
  if (depth > 0 && Array.isArray(value)) {
    if (value.length === 0) return yield "[]";
    yield "[";
    for (let i = 0; i < value.length; i++) {
      yield `${i === 0 ? "" : ","}\n${inner}`;
      yield* jsonPieces(value[i] === undefined ? null : value[i], depth - 1, inner);
    }
    return yield `\n${indent}]`;
  }
  if (depth > 0 && isPlainObject(value)) {
    const entries = Object.entries(value).filter(([, v]) => v !== undefined && typeof v !== "function");
    if (entries.length === 0) return yield "{}";
    yield "{";
    for (const [i, [k, v]] of entries.entries()) {
      yield `${i === 0 ? "" : ","}\n${inner}${JSON.stringify(k)}: `;
      yield* jsonPieces(v, depth - 1, inner);
    }
    return yield `\n${indent}}`;
  }
  const text = JSON.stringify(value, null, 2) ?? "null";
  yield indent === "" ? text : text.replaceAll("\n", `\n${indent}`);
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && typeof (v as { toJSON?: unknown }).toJSON !== "function";
}

/** `pieces` followed by a newline: after the last piece (`whole`: one text), or after every piece (lines). */
export function* terminated(pieces: Iterable<string>, whole: boolean): Generator<string> {
  for (const piece of pieces) {
    yield piece;
    if (!whole) yield "\n";
  }
  if (whole) yield "\n";
}
