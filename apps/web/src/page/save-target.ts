/** The File System Access API's save picker (Chromium); absent elsewhere. */
type SavePicker = (options: {
  suggestedName: string;
  types?: { description: string; accept: Record<string, string[]> }[];
}) => Promise<{ createWritable(): Promise<WritableStream<Uint8Array>> }>;

/** Whether this browser can stream a file to disk (`showSaveFilePicker`). */
export function canStreamToDisk(): boolean {
  return typeof (globalThis as { showSaveFilePicker?: unknown }).showSaveFilePicker === "function";
}

/**
 * Asks where to save and returns a stream for the engine worker: a WritableStream made here that
 * forwards each chunk to the chosen file's writable (the engine writes tensor by tensor, so a model
 * of any size is never held in memory), or `null` when the user cancels the picker.
 */
export async function chooseSaveStream(suggestedName: string): Promise<WritableStream<Uint8Array> | null> {
  const picker = (globalThis as unknown as { showSaveFilePicker: SavePicker }).showSaveFilePicker;
  let handle: Awaited<ReturnType<SavePicker>>;
  try {
    handle = await picker({
      suggestedName,
      types: [{ description: "safetensors", accept: { "application/octet-stream": [".safetensors"] } }],
    });
  } catch (error) {
    if ((error as { name?: string }).name === "AbortError") return null;
    throw error;
  }
  const file = await handle.createWritable();
  const writer = file.getWriter();
  // a fresh stream (transferable to the worker) whose sink is the file's writer
  return new WritableStream<Uint8Array>({
    write: (chunk) => writer.write(chunk),
    close: () => writer.close(),
    abort: (reason) => writer.abort(reason),
  });
}
