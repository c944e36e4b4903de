// Seeded mutations of valid safetensors files, and an independent check of what a reader accepts.
// Used by test/fuzz.test.ts (a few thousand cases in the test pass) and by `pnpm fuzz`
// (scripts/fuzz.mjs: 100,000+ cases through every reader). Plain JavaScript so that the fuzz script
// runs on the built packages without a TypeScript step; types in mutations.d.mts.

/** Small seeded PRNG (mulberry32): deterministic test data and mutations. */
export function seededRandom(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const pick = (rand, xs) => xs[Math.floor(rand() * xs.length)];
const int = (rand, n) => Math.floor(rand() * n);

const DTYPES = ["F32", "F16", "BF16", "F64", "I64", "U8", "BOOL", "F4", "F6_E2M3", "C64", "F8_E4M3"];
const BAD_DTYPES = ["X9", "", "f32", "F32 ", "float32", 32, null, ["F32"], { dtype: "F32" }];
const HUGE = [2 ** 53, 2 ** 53 + 2, 2 ** 63, 2 ** 64, 1e300, -1, -0, 0.5, 4294967296, 2 ** 31, 2 ** 40];
/** Numbers as raw JSON text, including ones JSON.parse turns into Infinity or rounds. */
const RAW_NUMBERS = [
  "1e400",
  "-1e400",
  "18446744073709551616",
  "123456789012345678901234567890",
  "9007199254740993",
  "1.0",
  "1e2",
  "-0",
  "0.0000001",
  "00",
  "+1",
  "0x10",
  "NaN",
  "Infinity",
];

/** Splits a valid file into its header object, its header text and its data section. */
function splitFile(bytes) {
  const n = Number(new DataView(bytes.buffer, bytes.byteOffset, 8).getBigUint64(0, true));
  const text = new TextDecoder().decode(bytes.subarray(8, 8 + n));
  return { header: JSON.parse(text), text, data: bytes.subarray(8 + n) };
}

/** Builds a file from header text (or raw header bytes) and data; `length` overrides the length field. */
function joinFile(header, data, length) {
  const json = typeof header === "string" ? new TextEncoder().encode(header) : header;
  const out = new Uint8Array(8 + json.length + data.length);
  new DataView(out.buffer).setBigUint64(0, length ?? BigInt(json.length), true);
  out.set(json, 8);
  out.set(data, 8 + json.length);
  return out;
}

const tensorNames = (header) => Object.keys(header).filter((k) => k !== "__metadata__");

/** A JSON value nested `depth` deep: arrays, objects or a mix. */
function nested(rand, depth) {
  const style = int(rand, 3);
  if (style === 0) return `${"[".repeat(depth)}${"]".repeat(depth)}`;
  if (style === 1) return `${'{"a":'.repeat(depth)}1${"}".repeat(depth)}`;
  let open = "";
  let close = "";
  for (let i = 0; i < depth; i++) {
    if (rand() < 0.5) {
      open += "[";
      close = `]${close}`;
    } else {
      open += '{"k":';
      close = `}${close}`;
    }
  }
  return `${open}0${close}`;
}

/** Structured edits of one header entry (offsets, shape, dtype, metadata, whole entries). */
function editEntries(rand, header) {
  const names = tensorNames(header);
  if (names.length === 0) {
    header.x = { dtype: "F32", shape: [1], data_offsets: [0, 4] };
    return;
  }
  const name = pick(rand, names);
  const entry = header[name];
  const number = () => (rand() < 0.5 ? pick(rand, HUGE) : int(rand, 4096));
  switch (int(rand, 12)) {
    case 0:
      entry.data_offsets[int(rand, 2)] = number();
      break;
    case 1:
      if (entry.shape.length > 0) entry.shape[int(rand, entry.shape.length)] = number();
      else entry.shape.push(number());
      break;
    case 2:
      entry.dtype = rand() < 0.6 ? pick(rand, DTYPES) : pick(rand, BAD_DTYPES);
      break;
    case 3:
      header.__metadata__ = pick(rand, [{ a: 1 }, null, [], "x", { format: "pt" }, { k: { n: 1 } }, {}]);
      break;
    case 4:
      header[name] = pick(rand, [null, [], 1, "F32", { dtype: "F32" }, { shape: [1], data_offsets: [0, 4] }]);
      break;
    case 5: {
      // swap two tensors' offsets: a valid-looking but wrong layout
      const other = header[pick(rand, names)];
      [entry.data_offsets, other.data_offsets] = [other.data_offsets, entry.data_offsets];
      break;
    }
    case 6:
      entry.shape = pick(rand, [
        [],
        [0],
        [2 ** 40, 2 ** 40, 2 ** 40],
        [1, 1, 1, 1, 1, 1, 1, 1],
        "3",
        [[2]],
        null,
      ]);
      break;
    case 7:
      delete header[name];
      break;
    case 8: {
      // move a tensor keeping its length: overlaps, gaps, out of range
      const [b, e] = entry.data_offsets;
      const d = int(rand, 64) - 48;
      entry.data_offsets = [Math.max(0, b + d), Math.max(0, b + d) + (e - b)];
      break;
    }
    case 9: {
      // rename a tensor: reserved, empty, odd or kohya-confusing names
      const to = pick(rand, [
        "__metadata__",
        "",
        "__proto__",
        "constructor",
        ".",
        "a..b",
        `${name}.${name}`,
        "lora_unet_x.lokr_w1",
        "x".repeat(10_000),
        "\u0000",
        "\ud800",
      ]);
      delete header[name];
      header[to] = entry;
      break;
    }
    case 10:
      entry.extra = pick(rand, [1, "x", null, [1, 2], { a: 1 }]);
      break;
    default:
      entry.data_offsets = pick(rand, [[0], [0, 1, 2], null, "0,4", [-4, 0], [0, 2 ** 64], [1.5, 4]]);
  }
}

/** Header text edits JSON.stringify cannot produce: deep nesting, duplicate keys, raw numbers. */
function editText(rand, header, text) {
  const names = tensorNames(header);
  const name = names.length > 0 ? pick(rand, names) : "x";
  const entry = JSON.stringify(header[name] ?? { dtype: "F32", shape: [1], data_offsets: [0, 4] });
  const body = text.trimEnd().slice(1, -1); // the members, without the outer braces
  switch (int(rand, 8)) {
    case 0: {
      // deep nesting in a value: a whole entry, a shape, a metadata value, a new key, an extra field
      const deep = nested(rand, pick(rand, [61, 62, 63, 64, 65, 100, 1000, 10_000, 100_000]));
      const where = int(rand, 5);
      if (where === 4) return text.replace('"dtype"', `"extra":${deep},"dtype"`);
      if (where === 0) return `{${JSON.stringify(name)}:${deep}${body === "" ? "" : `,${body}`}}`;
      if (where === 1) return text.replace(/"shape":\[[^\]]*\]/, `"shape":${deep}`);
      if (where === 2) return `{"__metadata__":{"k":${deep}}${body === "" ? "" : `,${body}`}}`;
      return `{${body === "" ? "" : `${body},`}"deep":${deep}}`;
    }
    case 1:
      // a tensor name twice: same entry, or a different one
      return `{${body},${JSON.stringify(name)}:${rand() < 0.5 ? entry : '{"dtype":"F32","shape":[0],"data_offsets":[0,0]}'}}`;
    case 2:
      // __metadata__ twice, or a key twice inside __metadata__
      return rand() < 0.5
        ? `{"__metadata__":{"a":"1"},${body},"__metadata__":{"a":"2"}}`
        : `{"__metadata__":{"k":"1","k":"2"},${body.replace(/"__metadata__":\{[^}]*\},?/, "")}}`;
    case 3:
      // a field twice inside an entry
      return text.replace(/"dtype":"([^"]*)"/, (_m, d) => `"dtype":"${pick(rand, DTYPES)}","dtype":"${d}"`);
    case 4: {
      // the same key spelled with an escape
      const escaped = [...name].map((ch, i) =>
        i === 0 ? `\\u${ch.charCodeAt(0).toString(16).padStart(4, "0")}` : ch,
      );
      return `{${body},"${escaped.join("")}":${entry}}`;
    }
    case 5:
      // a raw number where an offset or a dimension goes
      return rand() < 0.5
        ? text.replace(/"data_offsets":\[(\d+),/, `"data_offsets":[${pick(rand, RAW_NUMBERS)},`)
        : text.replace(/"shape":\[(\d+)/, `"shape":[${pick(rand, RAW_NUMBERS)}`);
    case 6: {
      // one character inserted, deleted or replaced
      const at = int(rand, text.length);
      const ch = pick(rand, ['"', "\\", "{", "}", "[", "]", ",", ":", " ", "0", "\u0000", "é", "\ud83d"]);
      const op = int(rand, 3);
      if (op === 0) return `${text.slice(0, at)}${ch}${text.slice(at)}`;
      if (op === 1) return `${text.slice(0, at)}${text.slice(at + 1)}`;
      return `${text.slice(0, at)}${ch}${text.slice(at + 1)}`;
    }
    default:
      // a byte-order mark, leading or trailing whitespace, a second JSON value
      return pick(rand, [`\ufeff${text}`, ` \n\t${text}`, `${text}\u0000`, `${text}{}`, `${text},`]);
  }
}

/**
 * One seeded mutation of a valid safetensors file. `family` names what was done (for reporting).
 * Families: `bitflip`, `truncate`, `length`, `tail`, `entries` (structured header edits),
 * `text` (deep nesting, duplicate keys, raw numbers, stray characters), `invalid-utf8`.
 */
export function mutateSafetensors(rand, source) {
  const bytes = new Uint8Array(source);
  const view = new DataView(bytes.buffer);
  const headerEnd = 8 + Number(view.getBigUint64(0, true));
  switch (int(rand, 8)) {
    case 0: {
      // bit flips, mostly in the length field and the header
      const flips = 1 + int(rand, 4);
      for (let i = 0; i < flips; i++) {
        const pos = rand() < 0.8 ? int(rand, headerEnd) : int(rand, bytes.length);
        bytes[pos] ^= 1 << int(rand, 8);
      }
      return { bytes, family: "bitflip" };
    }
    case 1:
      return { bytes: bytes.subarray(0, int(rand, bytes.length)), family: "truncate" };
    case 2: {
      const choices = [0n, 1n, 7n, 2n ** 63n, 2n ** 64n - 1n, 2n ** 53n, BigInt(bytes.length), 100_000_001n];
      const delta = BigInt(int(rand, 33) - 16);
      const current = view.getBigUint64(0, true);
      const next = rand() < 0.5 ? pick(rand, choices) : current + delta;
      view.setBigUint64(0, next < 0n ? 0n : next % 2n ** 64n, true);
      return { bytes, family: "length" };
    }
    case 3: {
      if (rand() < 0.5) {
        return { bytes: bytes.subarray(0, Math.max(0, bytes.length - 1 - int(rand, 8))), family: "tail" };
      }
      const out = new Uint8Array(bytes.length + 1 + int(rand, 8));
      out.set(bytes);
      return { bytes: out, family: "tail" };
    }
    case 4: {
      // invalid UTF-8 inside the header
      const { text, data } = splitFile(source);
      const json = new TextEncoder().encode(text);
      const bad = pick(rand, [
        [0xff],
        [0xc0, 0x80],
        [0xed, 0xa0, 0x80],
        [0xe2, 0x82],
        [0xf8, 0x88, 0x80, 0x80],
      ]);
      const at = 1 + int(rand, Math.max(1, json.length - 2));
      const out = new Uint8Array(json.length + bad.length);
      out.set(json.subarray(0, at));
      out.set(bad, at);
      out.set(json.subarray(at), at + bad.length);
      return { bytes: joinFile(out, data), family: "invalid-utf8" };
    }
    case 5:
    case 6: {
      const { header, data } = splitFile(source);
      editEntries(rand, header);
      const text = JSON.stringify(header);
      // sometimes keep the old length field, or pad with spaces, or drop the closing brace
      const r = rand();
      const out =
        r < 0.15
          ? joinFile(text, data, BigInt(headerEnd - 8))
          : r < 0.3
            ? joinFile(`${text}${" ".repeat(int(rand, 9))}`, data)
            : r < 0.35
              ? joinFile(text.slice(0, -1), data)
              : joinFile(text, data);
      return { bytes: out, family: "entries" };
    }
    default: {
      const { header, text, data } = splitFile(source);
      return { bytes: joinFile(editText(rand, header, text), data), family: "text" };
    }
  }
}

/** Bits per element of each dtype the format defines (written out again here, independently). */
const BITS = {
  BOOL: 8,
  F4: 4,
  F6_E2M3: 6,
  F6_E3M2: 6,
  U8: 8,
  I8: 8,
  F8_E5M2: 8,
  F8_E4M3: 8,
  F8_E8M0: 8,
  I16: 16,
  U16: 16,
  F16: 16,
  BF16: 16,
  I32: 32,
  U32: 32,
  F32: 32,
  C64: 64,
  F64: 64,
  I64: 64,
  U64: 64,
};

/**
 * What the format forbids in the JSON of an accepted (so syntactically valid) header, found by a
 * small recursive-descent walk written independently of the reader's scan: a key twice in one
 * object, or more than 64 nested arrays/objects. Null when neither.
 */
function jsonProblem(text) {
  let i = 0;
  const space = () => {
    while (i < text.length && " \t\n\r".includes(text[i])) i++;
  };
  const string = () => {
    const start = i++;
    while (text[i] !== '"') i += text[i] === "\\" ? 2 : 1;
    i++;
    return JSON.parse(text.slice(start, i));
  };
  const value = (depth) => {
    space();
    const c = text[i];
    if ((c === "{" || c === "[") && depth > 64) throw new Error("nested deeper than 64");
    if (c === "{") {
      i++;
      const seen = new Set();
      space();
      if (text[i] === "}") return void i++;
      for (;;) {
        space();
        const key = string();
        if (seen.has(key)) throw new Error(`key '${key}' twice in one object`);
        seen.add(key);
        space();
        i++; // ':'
        value(depth + 1);
        space();
        if (text[i++] === "}") return;
      }
    }
    if (c === "[") {
      i++;
      space();
      if (text[i] === "]") return void i++;
      for (;;) {
        value(depth + 1);
        space();
        if (text[i++] === "]") return;
      }
    }
    if (c === '"') return void string();
    while (i < text.length && !",]} \t\n\r".includes(text[i])) i++; // number, true, false, null
  };
  try {
    value(1);
    return null;
  } catch (error) {
    return error.message;
  }
}

/**
 * Checks a header a reader accepted against the raw bytes, independently of the reader: no key twice
 * and at most 64 levels in its JSON, positions from the length field, sizes from the dtype table above, tensors contiguous from the data offset
 * and ending at the end of the file, names the header's keys. When `tensors` (the decoded float32
 * tensors) are given, every F32 value must equal the bytes bit for bit. Returns null when all
 * holds, else what is wrong.
 */
export function checkAccepted(bytes, header, tensors) {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (bytes.length < 8) return "accepted a file shorter than 8 bytes";
  const n = view.getBigUint64(0, true);
  if (BigInt(header.dataOffset) !== 8n + n) return "data offset is not 8 + the header length";
  const text = new TextDecoder().decode(bytes.subarray(8, 8 + Number(n)));
  const problem = jsonProblem(text);
  if (problem !== null) return `header JSON: ${problem}`;
  const json = JSON.parse(text);
  const keys = Object.keys(json).filter((k) => k !== "__metadata__");
  if (keys.length !== header.tensors.length) return "tensor count differs from the header's keys";
  let cursor = header.dataOffset;
  for (const info of header.tensors) {
    const raw = json[info.name];
    if (raw === undefined || raw.dtype !== info.dtype) return `${info.name}: not the header's entry`;
    if (JSON.stringify(raw.shape) !== JSON.stringify(info.shape)) return `${info.name}: shape differs`;
    if (info.byteOffset !== cursor) return `${info.name} is not contiguous`;
    if (raw.data_offsets[0] + header.dataOffset !== info.byteOffset) return `${info.name}: offset differs`;
    const numel = info.shape.reduce((a, b) => a * b, 1);
    if (info.byteLength * 8 !== numel * BITS[info.dtype]) return `${info.name}: size does not fit the shape`;
    cursor += info.byteLength;
  }
  if (cursor !== bytes.length) return "data section does not end the file";
  if (tensors === undefined) return null;
  for (const info of header.tensors) {
    if (info.dtype !== "F32") continue;
    const t = tensors.get(info.name);
    if (t === undefined) return `${info.name}: not decoded`;
    if (t.shape.join() !== info.shape.join()) return `${info.name}: decoded shape differs`;
    for (let i = 0; i < t.data.length; i++) {
      const want = view.getFloat32(info.byteOffset + 4 * i, true);
      if (!(Object.is(t.data[i], want) || (Number.isNaN(want) && Number.isNaN(t.data[i])))) {
        return `${info.name}: decoded values differ from the bytes`;
      }
    }
  }
  return null;
}
