import { readdir, stat } from "node:fs/promises";
import { basename, join } from "node:path";
import { ADAPTER_CONFIG_NAME, ADAPTER_WEIGHTS_NAME, DEFAULT_ADAPTER_NAME } from "@lycoris-ts/runtime";
import { CliError } from "./cli-error";

/** Where one adapter's files are. */
export interface AdapterLocation {
  /** `"default"` for a PEFT directory's root, the sub-directory name otherwise; the file name for a bare file. */
  readonly name: string;
  /** `adapter_config.json`, or `null` for a bare safetensors file. */
  readonly configPath: string | null;
  /** The adapter's safetensors file. */
  readonly weightsPath: string;
  /** The directory holding the adapter, or `null` for a bare file. */
  readonly dir: string | null;
}

/** What a path given on the command line turned out to be. */
export interface LocatedAdapters {
  readonly kind: "directory" | "file";
  readonly adapters: readonly AdapterLocation[];
}

const codeOf = (error: unknown): string | undefined => {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === "string" ? code : undefined;
};

async function statOrNull(path: string) {
  try {
    return await stat(path);
  } catch (error) {
    if (codeOf(error) === "ENOENT" || codeOf(error) === "ENOTDIR") return null;
    throw new CliError("input", `${path}: cannot access (${codeOf(error) ?? String(error)})`, {
      cause: error,
    });
  }
}

async function isFile(path: string): Promise<boolean> {
  return (await statOrNull(path))?.isFile() ?? false;
}

async function adapterIn(name: string, dir: string): Promise<AdapterLocation> {
  const weightsPath = join(dir, ADAPTER_WEIGHTS_NAME);
  if (!(await isFile(weightsPath))) {
    const pickle = await isFile(join(dir, "adapter_model.bin"));
    throw new CliError(
      "input",
      `${dir}: missing ${ADAPTER_WEIGHTS_NAME}${pickle ? " (only adapter_model.bin found: the pickle format is not supported)" : ""}`,
    );
  }
  return { name, configPath: join(dir, ADAPTER_CONFIG_NAME), weightsPath, dir };
}

/**
 * Finds the adapters at `path`: a PEFT adapter directory (the adapter `"default"` at its root and
 * one adapter per sub-directory holding an `adapter_config.json`, sorted by name), or a single
 * `.safetensors` file. Only file names are looked at; nothing is read yet.
 *
 * @param opts.allowFile accept a bare safetensors file (default true).
 * @throws CliError `input` for a missing path, a directory without adapters, a missing weights file.
 */
export async function locateAdapters(
  path: string,
  opts: { readonly allowFile?: boolean } = {},
): Promise<LocatedAdapters> {
  const st = await statOrNull(path);
  if (st === null) throw new CliError("input", `${path}: no such file or directory`);
  if (st.isFile()) {
    if (opts.allowFile === false) {
      throw new CliError("input", `${path}: expected a PEFT adapter directory, found a file`);
    }
    return {
      kind: "file",
      adapters: [{ name: basename(path), configPath: null, weightsPath: path, dir: null }],
    };
  }
  if (!st.isDirectory()) throw new CliError("input", `${path}: not a file or directory`);

  const found: AdapterLocation[] = [];
  if (await isFile(join(path, ADAPTER_CONFIG_NAME))) found.push(await adapterIn(DEFAULT_ADAPTER_NAME, path));
  let entries: string[];
  try {
    entries = (await readdir(path, { withFileTypes: true }))
      .filter((e) => e.isDirectory() || e.isSymbolicLink())
      .map((e) => e.name)
      .sort();
  } catch (error) {
    throw new CliError("input", `${path}: cannot list (${codeOf(error) ?? String(error)})`, { cause: error });
  }
  for (const name of entries) {
    const sub = join(path, name);
    if (!(await isFile(join(sub, ADAPTER_CONFIG_NAME)))) continue;
    if (name === DEFAULT_ADAPTER_NAME && found[0]?.name === DEFAULT_ADAPTER_NAME) {
      throw new CliError("input", `${path}: adapter "default" is stored both at the root and in default/`);
    }
    found.push(await adapterIn(name, sub));
  }
  if (found.length === 0) {
    const hint = (await isFile(join(path, ADAPTER_WEIGHTS_NAME)))
      ? ` (${ADAPTER_WEIGHTS_NAME} without a config)`
      : "";
    throw new CliError(
      "input",
      `${path}: not a PEFT adapter directory: no ${ADAPTER_CONFIG_NAME} in it or its sub-directories${hint}`,
    );
  }
  return { kind: "directory", adapters: found };
}

/**
 * Picks adapters by name from `located` (all of them when `names` is empty).
 *
 * @throws CliError `input` naming the adapters that exist.
 */
export function selectAdapters(located: LocatedAdapters, names: readonly string[]): AdapterLocation[] {
  if (names.length === 0) return [...located.adapters];
  const byName = new Map(located.adapters.map((a) => [a.name, a]));
  return names.map((name) => {
    const hit = byName.get(name);
    if (hit === undefined) {
      throw new CliError(
        "input",
        `no adapter named "${name}" (found: ${located.adapters.map((a) => a.name).join(", ")})`,
      );
    }
    return hit;
  });
}
