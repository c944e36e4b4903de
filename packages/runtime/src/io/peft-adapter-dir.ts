import type { Tensor } from "@lycoris-ts/kernels";
import {
  readSafetensors,
  SafetensorsError,
  serializeSafetensors,
  writeFileAtomic,
} from "@lycoris-ts/safetensors";
import { AdapterFileError } from "./adapter-file-error";
import { nodeFsPromises, nodePath } from "./node-builtins";

/** PEFT's file names inside an adapter directory. */
export const ADAPTER_CONFIG_NAME = "adapter_config.json";
/** PEFT's weights file name (safetensors format). */
export const ADAPTER_WEIGHTS_NAME = "adapter_model.safetensors";
/** The name PEFT gives the adapter saved at the directory root. */
export const DEFAULT_ADAPTER_NAME = "default";

/** One adapter as stored in a PEFT adapter directory. */
export interface PeftAdapterFiles {
  /** `"default"` for the directory itself, else the sub-directory's name. */
  readonly name: string;
  /** Parsed `adapter_config.json`, keys snake_case as in the file. */
  readonly config: Record<string, unknown>;
  /** `adapter_model.safetensors`, keys as in the file (`base_model.model.<module>.<param>`). */
  readonly weights: Map<string, Tensor<Float32Array>>;
  /** The weights file's `__metadata__` (PEFT writes `{"format": "pt"}`), or `null`. */
  readonly metadata: Record<string, string> | null;
  /** The directory holding this adapter's two files. */
  readonly dir: string;
}

/** An adapter to write with {@link writePeftAdapterDir}. */
export interface PeftAdapterToWrite {
  /** `"default"` is written at the directory root, any other name in `<dir>/<name>/`. */
  readonly name: string;
  /** The exact text of `adapter_config.json` (PEFT: keys sorted, 2-space indent). */
  readonly configJson: string;
  /** Tensors under PEFT's key names. */
  readonly weights: ReadonlyMap<string, Tensor<Float32Array>>;
}

const codeOf = (error: unknown): string | undefined => {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === "string" ? code : undefined;
};

async function isFile(path: string): Promise<boolean> {
  try {
    return (await nodeFsPromises().stat(path)).isFile();
  } catch {
    return false;
  }
}

async function readConfig(path: string): Promise<Record<string, unknown>> {
  let text: string;
  try {
    text = await nodeFsPromises().readFile(path, "utf8");
  } catch (cause) {
    throw new AdapterFileError("io", path, `cannot read (${codeOf(cause) ?? String(cause)})`, { cause });
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (cause) {
    const detail = cause instanceof Error ? cause.message : String(cause);
    throw new AdapterFileError("invalid_json", path, `invalid JSON: ${detail}`, { cause });
  }
  if (typeof json !== "object" || json === null || Array.isArray(json)) {
    throw new AdapterFileError(
      "invalid_config",
      path,
      `expected a JSON object, found ${Array.isArray(json) ? "an array" : json === null ? "null" : typeof json}`,
    );
  }
  return json as Record<string, unknown>;
}

async function readAdapter(name: string, dir: string): Promise<PeftAdapterFiles> {
  const configPath = nodePath().join(dir, ADAPTER_CONFIG_NAME);
  const weightsPath = nodePath().join(dir, ADAPTER_WEIGHTS_NAME);
  const config = await readConfig(configPath);
  if (!(await isFile(weightsPath))) {
    const pickle = await isFile(nodePath().join(dir, "adapter_model.bin"));
    throw new AdapterFileError(
      "missing_weights",
      dir,
      pickle
        ? `missing ${ADAPTER_WEIGHTS_NAME} (only adapter_model.bin found: the pickle format is not supported)`
        : `missing ${ADAPTER_WEIGHTS_NAME}`,
    );
  }
  try {
    const contents = await readSafetensors(weightsPath);
    return { name, config, weights: contents.tensors, metadata: contents.metadata, dir };
  } catch (cause) {
    if (cause instanceof SafetensorsError) {
      const message = cause.message.startsWith(`${weightsPath}: `)
        ? cause.message.slice(weightsPath.length + 2)
        : cause.message;
      throw new AdapterFileError(cause.kind === "io" ? "io" : "invalid_weights", weightsPath, message, {
        cause,
      });
    }
    throw cause;
  }
}

/**
 * Reads a PEFT adapter directory as `save_pretrained` writes it: the adapter `"default"` from
 * `dir` itself (`adapter_config.json` + `adapter_model.safetensors`), and every sub-directory
 * holding an `adapter_config.json` as a further adapter named after the sub-directory (sorted by
 * name, after `"default"`).
 *
 * @param opts.adapterNames read only these adapters (each must exist).
 * @throws AdapterFileError `missing_dir`, `not_a_directory`, `not_adapter_dir` (no
 *   adapter_config.json anywhere), `missing_weights`, `invalid_json`, `invalid_config`,
 *   `invalid_weights` (cause: the `SafetensorsError`), `missing_adapter`, `io`.
 */
export async function readPeftAdapterDir(
  dir: string,
  opts: { readonly adapterNames?: readonly string[] } = {},
): Promise<PeftAdapterFiles[]> {
  try {
    if (!(await nodeFsPromises().stat(dir)).isDirectory()) {
      throw new AdapterFileError(
        "not_a_directory",
        dir,
        "not a directory (expected a PEFT adapter directory)",
      );
    }
  } catch (cause) {
    if (cause instanceof AdapterFileError) throw cause;
    if (codeOf(cause) === "ENOENT") {
      throw new AdapterFileError("missing_dir", dir, "no such directory", { cause });
    }
    throw new AdapterFileError("io", dir, `cannot access (${codeOf(cause) ?? String(cause)})`, { cause });
  }

  const found: Array<{ name: string; dir: string }> = [];
  if (await isFile(nodePath().join(dir, ADAPTER_CONFIG_NAME)))
    found.push({ name: DEFAULT_ADAPTER_NAME, dir });
  let entries: string[];
  try {
    entries = (await nodeFsPromises().readdir(dir, { withFileTypes: true }))
      .filter((e) => e.isDirectory() || e.isSymbolicLink())
      .map((e) => e.name)
      .sort();
  } catch (cause) {
    throw new AdapterFileError("io", dir, `cannot list (${codeOf(cause) ?? String(cause)})`, { cause });
  }
  for (const name of entries) {
    const sub = nodePath().join(dir, name);
    if (await isFile(nodePath().join(sub, ADAPTER_CONFIG_NAME))) {
      if (name === DEFAULT_ADAPTER_NAME && found.length > 0 && found[0]!.name === DEFAULT_ADAPTER_NAME) {
        throw new AdapterFileError(
          "invalid_name",
          sub,
          `adapter "default" is stored both in ${dir} and in its sub-directory "default"`,
        );
      }
      found.push({ name, dir: sub });
    }
  }
  if (found.length === 0) {
    throw new AdapterFileError(
      "not_adapter_dir",
      dir,
      `not a PEFT adapter directory: missing ${ADAPTER_CONFIG_NAME}`,
    );
  }

  let selected = found;
  if (opts.adapterNames !== undefined) {
    const byName = new Map(found.map((f) => [f.name, f]));
    selected = opts.adapterNames.map((name) => {
      const hit = byName.get(name);
      if (hit === undefined) {
        throw new AdapterFileError(
          "missing_adapter",
          dir,
          `no adapter "${name}" (found: ${found.map((f) => f.name).join(", ")})`,
        );
      }
      return hit;
    });
  }
  const out: PeftAdapterFiles[] = [];
  for (const { name, dir: adapterDir } of selected) out.push(await readAdapter(name, adapterDir));
  return out;
}

function checkAdapterName(dir: string, name: string): void {
  if (
    name.length === 0 ||
    name === "." ||
    name === ".." ||
    /[/\\\0]/.test(name) ||
    name === ADAPTER_CONFIG_NAME ||
    name === ADAPTER_WEIGHTS_NAME
  ) {
    throw new AdapterFileError(
      "invalid_name",
      dir,
      `adapter name ${JSON.stringify(name)} cannot be a directory name`,
    );
  }
}

/**
 * Writes adapters as PEFT's `save_pretrained` does: `"default"` at `dir`, any other adapter in
 * `<dir>/<name>/`; each as `adapter_config.json` (the given text, verbatim) and
 * `adapter_model.safetensors` (float32, keys sorted, metadata `{"format": "pt"}`). Everything is
 * validated and serialised before the first file is written; each file is written atomically.
 *
 * @throws AdapterFileError `invalid_name` (empty, duplicate or path-like names), `invalid_json` /
 *   `invalid_config` (configJson is not a JSON object), `invalid_weights`, `io`.
 */
export async function writePeftAdapterDir(
  dir: string,
  adapters: ReadonlyArray<PeftAdapterToWrite>,
): Promise<void> {
  const seen = new Set<string>();
  const prepared: Array<{ dir: string; configJson: string; weights: Uint8Array }> = [];
  for (const adapter of adapters) {
    checkAdapterName(dir, adapter.name);
    if (seen.has(adapter.name)) {
      throw new AdapterFileError("invalid_name", dir, `adapter "${adapter.name}" given twice`);
    }
    seen.add(adapter.name);
    const target = adapter.name === DEFAULT_ADAPTER_NAME ? dir : nodePath().join(dir, adapter.name);
    let parsed: unknown;
    try {
      parsed = JSON.parse(adapter.configJson);
    } catch (cause) {
      const detail = cause instanceof Error ? cause.message : String(cause);
      throw new AdapterFileError(
        "invalid_json",
        nodePath().join(target, ADAPTER_CONFIG_NAME),
        `invalid JSON: ${detail}`,
        {
          cause,
        },
      );
    }
    if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
      throw new AdapterFileError(
        "invalid_config",
        nodePath().join(target, ADAPTER_CONFIG_NAME),
        "expected a JSON object",
      );
    }
    let weights: Uint8Array;
    try {
      weights = serializeSafetensors(adapter.weights, { metadata: { format: "pt" } });
    } catch (cause) {
      if (!(cause instanceof SafetensorsError)) throw cause;
      throw new AdapterFileError(
        "invalid_weights",
        nodePath().join(target, ADAPTER_WEIGHTS_NAME),
        cause.message,
        {
          cause,
        },
      );
    }
    prepared.push({ dir: target, configJson: adapter.configJson, weights });
  }
  for (const p of prepared) {
    const configPath = nodePath().join(p.dir, ADAPTER_CONFIG_NAME);
    try {
      await nodeFsPromises().mkdir(p.dir, { recursive: true });
      await writeFileAtomic(nodePath().join(p.dir, ADAPTER_WEIGHTS_NAME), p.weights);
      await writeFileAtomic(configPath, p.configJson);
    } catch (cause) {
      throw new AdapterFileError(
        "io",
        p.dir,
        `cannot write adapter files (${codeOf(cause) ?? String(cause)})`,
        {
          cause,
        },
      );
    }
  }
}
