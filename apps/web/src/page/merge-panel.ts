import type { AdapterSource, MergeInput, MergeResult, MergeWarning } from "../engine/protocol";
import { byId, dataTable, download, formatNumber, h } from "./dom";
import { EngineCallError, type EngineClient } from "./engine-client";
import { wireAdapterPickers } from "./open-panel";
import { canStreamToDisk, chooseSaveStream } from "./save-target";

/** What the merge needs from the open panel: the opened adapter and the base's name. */
export interface MergeSources {
  readonly opened: () => AdapterSource | null;
  readonly baseName: () => string | null;
}

/** An adapter added in the merge panel, with its row's strength input. */
interface AddedAdapter {
  readonly source: AdapterSource;
  readonly strength: HTMLInputElement;
  readonly row: HTMLTableRowElement;
}

/** A source as the list names it: the file's name, or the folder's files. */
function sourceLabel(source: AdapterSource): string {
  return source.kind === "file"
    ? source.file.name
    : `adapter folder (${source.files.map(([p]) => p).join(", ")})`;
}

/** The warnings of a merge: adapter keys not placed or not applied, what is lost, the closest base names. */
function renderWarnings(warnings: readonly MergeWarning[]): void {
  const out = byId("merge-warnings");
  if (warnings.length === 0) {
    out.replaceChildren();
    return;
  }
  out.replaceChildren(
    dataTable(
      `Adapter keys not placed or not applied (${warnings.length})`,
      ["adapter", "key", "status", "not applied", "why", "closest base names"],
      warnings.map((w) => [
        w.adapter,
        w.moduleKey,
        w.status,
        w.tensors.join(", "),
        w.message,
        w.closest.map((c) => c.key).join(", ") || "–",
      ]),
      "merge-warning-list",
    ),
  );
}

/**
 * The merge: the opened adapter and any added ones, each with its strength, merged into the base in
 * one pass (in list order); strict mode; the keys not applied; a progress bar and cancel. Streams to
 * disk where the browser can, else downloads a result built in memory.
 */
export function wireMergePanel(engine: EngineClient, sources: MergeSources): void {
  const button = byId<HTMLButtonElement>("merge-run");
  const cancel = byId<HTMLButtonElement>("merge-cancel");
  const bar = byId<HTMLProgressElement>("merge-progress");
  const status = byId("merge-status");
  const strength = byId<HTMLInputElement>("merge-strength");
  const strict = byId<HTMLInputElement>("merge-strict");
  const list = byId<HTMLTableElement>("merge-list").tBodies[0]!;
  const added: AddedAdapter[] = [];
  let nextId = 1;
  byId("merge-target").textContent = `${
    canStreamToDisk()
      ? "The merged model is streamed to the file you choose (File System Access API): any size."
      : "This browser cannot stream to disk: the merged model is built in memory and downloaded (models up to 1.5 GiB)."
  } It is one .safetensors file, also for a sharded base.`;

  wireAdapterPickers(
    { files: "merge-add-files", folder: "merge-add-folder", drop: "merge-add-drop" },
    (s) => {
      if (typeof s === "string") {
        byId("merge-add-status").textContent = s;
        return;
      }
      const id = `merge-strength-${nextId++}`;
      const label = sourceLabel(s);
      const input = h("input", { id, type: "number", step: "0.05", value: "1", class: "merge-strength" });
      const remove = h("button", { type: "button", class: "merge-remove" }, "Remove");
      const row = h(
        "tr",
        { "data-adapter": "added" },
        h("td", {}, label),
        h("td", {}, h("label", { for: id, class: "visually-hidden" }, `Strength of ${label}`), input),
        h("td", {}, remove),
      );
      const entry: AddedAdapter = { source: s, strength: input, row };
      remove.setAttribute("aria-label", `Remove ${label}`);
      remove.addEventListener("click", () => {
        added.splice(added.indexOf(entry), 1);
        row.remove();
      });
      added.push(entry);
      list.append(row);
      byId("merge-add-status").textContent = `added ${label}: ${added.length + 1} adapters`;
    },
  );

  button.addEventListener("click", async () => {
    const base = sources.baseName();
    const opened = sources.opened();
    if (base === null || opened === null) {
      status.textContent = "open an adapter and a base model first";
      return;
    }
    const inputs: MergeInput[] = [
      { adapter: opened, strength: Number(strength.value) },
      ...added.map((a) => ({ adapter: a.source, strength: Number(a.strength.value) })),
    ];
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
    const warnings: MergeWarning[] = [];
    renderWarnings(warnings);
    const call = engine.call<MergeResult>(
      { type: "merge", adapters: inputs, strict: strict.checked, out },
      {
        onProgress: (done, total, item) => {
          bar.max = Math.max(1, total);
          bar.value = done;
          status.textContent = `merging: ${done} of ${total} tensors${item === "" ? "" : ` (${item})`}`;
        },
        onPartial: (w) => {
          warnings.push(w as MergeWarning);
          renderWarnings(warnings);
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
