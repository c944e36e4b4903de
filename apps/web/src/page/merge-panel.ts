import type { MergeInput } from "../engine/protocol";
import { byId, download, formatNumber } from "./dom";
import { EngineCallError, type EngineClient } from "./engine-client";
import { canStreamToDisk, chooseSaveStream } from "./save-target";

/**
 * The merge: strengths per adapter (one today; the worker's request already takes a list, so several
 * adapters are a change in the engine's merge call once the library merges several), a progress
 * bar, cancel. Streams to disk where the browser can, else downloads a result built in memory.
 */
export function wireMergePanel(engine: EngineClient, baseName: () => string | null): void {
  const button = byId<HTMLButtonElement>("merge-run");
  const cancel = byId<HTMLButtonElement>("merge-cancel");
  const bar = byId<HTMLProgressElement>("merge-progress");
  const status = byId("merge-status");
  const strength = byId<HTMLInputElement>("merge-strength");
  byId("merge-target").textContent = canStreamToDisk()
    ? "The merged model is streamed to the file you choose (File System Access API): any size."
    : "This browser cannot stream to disk: the merged model is built in memory and downloaded (models up to 1.5 GiB).";
  button.addEventListener("click", async () => {
    const base = baseName();
    if (base === null) {
      status.textContent = "open a base model first";
      return;
    }
    const inputs: MergeInput[] = [{ strength: Number(strength.value) }];
    const out = canStreamToDisk()
      ? await chooseSaveStream(base.replace(/\.safetensors$/, "-merged.safetensors"))
      : null;
    if (canStreamToDisk() && out === null) return;
    button.disabled = true;
    cancel.disabled = false;
    bar.value = 0;
    bar.max = 1;
    status.textContent = "merging…";
    status.dataset.state = "running";
    const call = engine.call<{ summary: string; file: { name: string; blob: Blob } | null }>(
      { type: "merge", adapters: inputs, out },
      {
        onProgress: (done, total, item) => {
          bar.max = Math.max(1, total);
          bar.value = done;
          status.textContent = `merging: ${done} of ${total} tensors${item === "" ? "" : ` (${item})`}`;
        },
      },
      out === null ? [] : [out],
    );
    const onCancel = () => engine.abort(call.id);
    cancel.addEventListener("click", onCancel, { once: true });
    try {
      const r = await call.result;
      if (r.file !== null) download(r.file.name, r.file.blob);
      bar.value = bar.max;
      status.textContent = `done: ${r.summary}${r.file === null ? "" : `; downloaded ${r.file.name} (${formatNumber(r.file.blob.size)} bytes)`}`;
      status.dataset.state = "done";
    } catch (error) {
      const aborted = error instanceof EngineCallError && error.kind === "aborted";
      status.textContent = aborted
        ? "cancelled: nothing was written"
        : `merge failed: ${(error as Error).message}`;
      status.dataset.state = aborted ? "cancelled" : "failed";
    } finally {
      cancel.removeEventListener("click", onCancel);
      button.disabled = false;
      cancel.disabled = true;
    }
  });
}
