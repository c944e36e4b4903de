import type { AdapterSource, BaseSource } from "../engine/protocol";
import { byId } from "./dom";

const CONFIG = "adapter_config.json";

/** A file with the path it had below the chosen or dropped folder (`style/adapter_config.json`). */
interface PathedFile {
  readonly path: string;
  readonly file: File;
}

/** The adapter the files make: a PEFT directory (it holds adapter_config.json) or one .safetensors file. */
export function adapterSource(files: readonly PathedFile[]): AdapterSource | string {
  if (files.length === 0) return "no file given";
  if (files.some((f) => f.path === CONFIG || f.path.endsWith(`/${CONFIG}`))) {
    return { kind: "directory", files: files.map((f) => [f.path, f.file] as const) };
  }
  const tensors = files.filter((f) => f.path.endsWith(".safetensors"));
  if (tensors.length === 1 && files.length === 1) return { kind: "file", file: tensors[0]!.file };
  return `expected a PEFT adapter folder (${CONFIG} + adapter_model.safetensors) or one .safetensors file; got ${files.map((f) => f.path).join(", ")}`;
}

/** Paths below the chosen folder: `webkitRelativePath` without its first segment, else the name. */
function pickedFiles(list: FileList | null): PathedFile[] {
  return [...(list ?? [])].map((file) => {
    const rel = file.webkitRelativePath;
    return { path: rel.includes("/") ? rel.slice(rel.indexOf("/") + 1) : file.name, file };
  });
}

async function entryFiles(entry: FileSystemEntry, prefix: string): Promise<PathedFile[]> {
  if (entry.isFile) {
    const file = await new Promise<File>((res, rej) => (entry as FileSystemFileEntry).file(res, rej));
    return [{ path: prefix + entry.name, file }];
  }
  const reader = (entry as FileSystemDirectoryEntry).createReader();
  const children: FileSystemEntry[] = [];
  for (;;) {
    const batch = await new Promise<FileSystemEntry[]>((res, rej) => reader.readEntries(res, rej));
    if (batch.length === 0) break;
    children.push(...batch);
  }
  const nested = await Promise.all(children.map((c) => entryFiles(c, `${prefix}${entry.name}/`)));
  return nested.flat();
}

/** Dropped files; a dropped folder is walked, its files' paths relative to it. */
async function droppedFiles(data: DataTransfer): Promise<PathedFile[]> {
  const entries = [...data.items].map((i) => i.webkitGetAsEntry()).filter((e) => e !== null);
  if (entries.length === 1 && entries[0]!.isDirectory) {
    const files = await entryFiles(entries[0]!, "");
    const root = `${entries[0]!.name}/`;
    return files.map((f) => ({ path: f.path.slice(root.length), file: f.file }));
  }
  if (entries.length > 0) return (await Promise.all(entries.map((e) => entryFiles(e, "")))).flat();
  return pickedFiles(data.files);
}

/** Wires a drop zone: drag highlighting, and the dropped files to `take`. */
function dropZone(id: string, take: (files: PathedFile[]) => void): void {
  const zone = byId(id);
  zone.addEventListener("dragover", (e) => {
    e.preventDefault();
    zone.classList.add("over");
  });
  zone.addEventListener("dragleave", () => zone.classList.remove("over"));
  zone.addEventListener("drop", async (e) => {
    e.preventDefault();
    zone.classList.remove("over");
    if (e.dataTransfer !== null) take(await droppedFiles(e.dataTransfer));
  });
}

/** What the open panel reports. */
export interface OpenHandlers {
  readonly adapter: (source: AdapterSource | string) => void;
  readonly base: (source: BaseSource) => void;
}

/**
 * An adapter's file picker, folder picker and drop zone (element ids): each choice goes to `take` as
 * an adapter source, or as the reason it is none.
 */
export function wireAdapterPickers(
  ids: { readonly files: string; readonly folder: string; readonly drop: string },
  take: (source: AdapterSource | string) => void,
): void {
  const files = byId<HTMLInputElement>(ids.files);
  const folder = byId<HTMLInputElement>(ids.folder);
  const takeFiles = (picked: PathedFile[]) => take(adapterSource(picked));
  files.addEventListener("change", () => takeFiles(pickedFiles(files.files)));
  folder.addEventListener("change", () => takeFiles(pickedFiles(folder.files)));
  dropZone(ids.drop, takeFiles);
}

/** The file pickers and drop zones. Nothing leaves the machine: files are read where they are. */
export function wireOpenPanel(on: OpenHandlers): void {
  const baseFiles = byId<HTMLInputElement>("base-files");
  const takeBase = (files: PathedFile[]) => on.base({ files: files.map((f) => f.file) });
  wireAdapterPickers({ files: "adapter-files", folder: "adapter-folder", drop: "adapter-drop" }, on.adapter);
  baseFiles.addEventListener("change", () => takeBase(pickedFiles(baseFiles.files)));
  dropZone("base-drop", takeBase);
}
