import { LycorisError } from "@lycoris-ts/errors";
import { ADAPTER_CONFIG_NAME, ADAPTER_WEIGHTS_NAME, DEFAULT_ADAPTER_NAME } from "@lycoris-ts/runtime";
import { AdapterFilesError } from "./adapter-files-error";
import { type AdapterInput, type DirectoryFiles, type FileInput, inputName } from "./file-input";
import { errorCode, nodeFs, nodePath } from "./node-builtins";
import { openTensorFile, type TensorFile } from "./tensor-file";

/** Where one adapter's files are. */
export interface AdapterLocation {
  /** `"default"` for a PEFT directory's root, the sub-directory name otherwise; the file name for a bare file. */
  readonly name: string;
  /** `adapter_config.json`, or `null` for a bare safetensors file. */
  readonly config: FileInput | null;
  /** The adapter's safetensors file. */
  readonly weights: FileInput;
  /** The directory's path holding the adapter; `null` for a bare file or directory files without a path. */
  readonly dir: string | null;
}

/** What an adapter input turned out to be. */
export interface LocatedAdapters {
  readonly kind: "directory" | "file";
  readonly adapters: readonly AdapterLocation[];
}

/** Directory access the locator needs, over a path or over {@link DirectoryFiles}. */
interface DirectoryView {
  readonly label: string;
  file(relative: string): Promise<FileInput | null>;
  subdirectories(): Promise<string[]>;
  dir(relative: string): string | null;
}

async function statOrNull(path: string) {
  try {
    return await nodeFs().stat(path);
  } catch (error) {
    const code = errorCode(error);
    if (code === "ENOENT" || code === "ENOTDIR") return null;
    throw new AdapterFilesError("input", `${path}: cannot access (${code ?? String(error)})`, {
      path,
      cause: error,
    });
  }
}

function pathView(root: string): DirectoryView {
  const join = (relative: string) => (relative === "" ? root : nodePath().join(root, relative));
  return {
    label: root,
    file: async (relative) => ((await statOrNull(join(relative)))?.isFile() ? join(relative) : null),
    async subdirectories() {
      try {
        return (await nodeFs().readdir(root, { withFileTypes: true }))
          .filter((e) => e.isDirectory() || e.isSymbolicLink())
          .map((e) => e.name)
          .sort();
      } catch (error) {
        throw new AdapterFilesError("input", `${root}: cannot list (${errorCode(error) ?? String(error)})`, {
          path: root,
          cause: error,
        });
      }
    },
    dir: (relative) => join(relative),
  };
}

function filesView(files: DirectoryFiles): DirectoryView {
  return {
    label: inputName(files),
    file: async (relative) => files.get(relative) ?? null,
    subdirectories: async () =>
      [
        ...new Set([...files.keys()].filter((k) => k.includes("/")).map((k) => k.slice(0, k.indexOf("/")))),
      ].sort(),
    dir: () => null,
  };
}

async function adapterIn(view: DirectoryView, name: string, sub: string): Promise<AdapterLocation> {
  const prefix = sub === "" ? "" : `${sub}/`;
  const weights = await view.file(`${prefix}${ADAPTER_WEIGHTS_NAME}`);
  const where = sub === "" ? view.label : `${view.label}/${sub}`;
  if (weights === null) {
    const pickle = (await view.file(`${prefix}adapter_model.bin`)) !== null;
    throw new AdapterFilesError(
      "input",
      `${where}: missing ${ADAPTER_WEIGHTS_NAME}${pickle ? " (only adapter_model.bin found: the pickle format is not supported)" : ""}`,
      { path: where },
    );
  }
  return { name, config: (await view.file(`${prefix}${ADAPTER_CONFIG_NAME}`))!, weights, dir: view.dir(sub) };
}

async function locateInDirectory(view: DirectoryView): Promise<LocatedAdapters> {
  const found: AdapterLocation[] = [];
  if ((await view.file(ADAPTER_CONFIG_NAME)) !== null)
    found.push(await adapterIn(view, DEFAULT_ADAPTER_NAME, ""));
  for (const name of await view.subdirectories()) {
    if ((await view.file(`${name}/${ADAPTER_CONFIG_NAME}`)) === null) continue;
    if (name === DEFAULT_ADAPTER_NAME && found[0]?.name === DEFAULT_ADAPTER_NAME) {
      throw new AdapterFilesError(
        "input",
        `${view.label}: adapter "default" is stored both at the root and in default/`,
        {
          path: view.label,
        },
      );
    }
    found.push(await adapterIn(view, name, name));
  }
  if (found.length === 0) {
    const hint =
      (await view.file(ADAPTER_WEIGHTS_NAME)) !== null ? ` (${ADAPTER_WEIGHTS_NAME} without a config)` : "";
    throw new AdapterFilesError(
      "input",
      `${view.label}: not a PEFT adapter directory: no ${ADAPTER_CONFIG_NAME} in it or its sub-directories${hint}`,
      { path: view.label },
    );
  }
  return { kind: "directory", adapters: found };
}

const bareFile = (file: FileInput): LocatedAdapters => {
  const name = inputName(file);
  return {
    kind: "file",
    adapters: [{ name: name.slice(name.lastIndexOf("/") + 1), config: null, weights: file, dir: null }],
  };
};

/**
 * Finds the adapters of an input: a PEFT adapter directory (the adapter `"default"` at its root and
 * one adapter per sub-directory holding an `adapter_config.json`, sorted by name), given as a path or
 * as its files, or a single `.safetensors` file (path or Blob). Only names are looked at.
 *
 * @param opts.allowFile accept a single file (default true).
 * @throws AdapterFilesError `not_found` for a missing path, `input` for a directory without adapters,
 *   a missing weights file, or a file where a directory is required.
 */
export async function locateAdapters(
  input: AdapterInput,
  opts: { readonly allowFile?: boolean } = {},
): Promise<LocatedAdapters> {
  const file = async (f: FileInput): Promise<LocatedAdapters> => {
    if (opts.allowFile !== false) return bareFile(f);
    // A broken file says what is wrong with it (the reader's error) rather than only "not a directory".
    let reader: TensorFile;
    try {
      reader = await openTensorFile(f);
    } catch (error) {
      if (error instanceof AdapterFilesError || !(error instanceof LycorisError)) throw error;
      throw new AdapterFilesError(
        "input",
        `${inputName(f)}: expected a PEFT adapter directory, found a file that is not a valid safetensors file: ${error.message.replace(`${inputName(f)}: `, "")}`,
        { path: inputName(f), cause: error },
      );
    }
    await reader.close();
    throw new AdapterFilesError(
      "input",
      `${inputName(f)}: expected a PEFT adapter directory, found a file (readable, but its tensor names are not the keys of a kohya/LyCORIS file of a registered variant)`,
      { path: inputName(f) },
    );
  };
  if (input instanceof Blob) return file(input);
  if (typeof input !== "string") return locateInDirectory(filesView(input));
  const st = await statOrNull(input);
  if (st === null)
    throw new AdapterFilesError("not_found", `${input}: no such file or directory`, { path: input });
  if (st.isFile()) return file(input);
  if (!st.isDirectory())
    throw new AdapterFilesError("input", `${input}: not a file or directory`, { path: input });
  return locateInDirectory(pathView(input));
}

/**
 * Picks adapters by name (all of them when `names` is empty).
 *
 * @throws AdapterFilesError `input` naming the adapters that exist.
 */
export function selectAdapters(located: LocatedAdapters, names: readonly string[]): AdapterLocation[] {
  if (names.length === 0) return [...located.adapters];
  const byName = new Map(located.adapters.map((a) => [a.name, a]));
  return names.map((name) => {
    const hit = byName.get(name);
    if (hit === undefined) {
      throw new AdapterFilesError(
        "input",
        `no adapter named "${name}" (found: ${located.adapters.map((a) => a.name).join(", ")})`,
      );
    }
    return hit;
  });
}

/**
 * {@link DirectoryFiles} from the files of an `<input type="file" webkitdirectory>`: keys are each
 * file's `webkitRelativePath` without the chosen folder's own name.
 */
export function directoryFiles(files: Iterable<File>): DirectoryFiles {
  const out = new Map<string, Blob>();
  for (const f of files) {
    const rel = (f as File & { webkitRelativePath?: string }).webkitRelativePath || f.name;
    out.set(rel.includes("/") ? rel.slice(rel.indexOf("/") + 1) : rel, f);
  }
  return out;
}
