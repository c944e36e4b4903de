import {
  type AdapterInput,
  closeAdapters,
  convertAdapterToLora,
  convertKohyaToPeft,
  convertPeftToKohya,
  type InspectReport,
  inspectAdapters,
  locateAdapters,
  type MergeIntoBaseSummary,
  type MergeWarning,
  mergeIntoBase,
  type OnProgress,
  type OpenedAdapter,
  openAdapters,
  selectAdapters,
} from "@lycoris-ts/adapter-files";
import { loraAdapterFiles } from "@lycoris-ts/lora";
import {
  ADAPTER_CONFIG_NAME,
  ADAPTER_WEIGHTS_NAME,
  type AdapterRegistry,
  type LoraRank,
} from "@lycoris-ts/runtime";
import { serializeSafetensors } from "@lycoris-ts/safetensors";
import { checkAgainstBase } from "./check-base";
import { collectingStream } from "./collect-stream";
import { frobeniusNorm, type ModuleRow, moduleRows, moduleSvd } from "./module-svd";
import { type PickedBase, pickBase } from "./pick-base";
import type {
  AdapterSource,
  BaseCheck,
  BaseSource,
  Converted,
  MergeInput,
  MergeResult,
  ModuleNorm,
  Opened,
  Spectrum,
} from "./protocol";
import { WebError } from "./web-error";

/** Largest merged model built in memory for a download (browsers without the File System Access API). */
export const DOWNLOAD_LIMIT_BYTES = 1.5 * 2 ** 30;
/** Norms are sent to the page in batches of this many modules. */
const NORM_BATCH = 64;

interface Loaded {
  readonly input: AdapterInput;
  readonly report: InspectReport;
  readonly base: PickedBase | null;
  readonly stem: string;
}

function adapterInput(source: AdapterSource): AdapterInput {
  return source.kind === "file" ? source.file : new Map(source.files);
}

/**
 * The engine's state in the worker: the opened adapter (as the file engine's input, re-read lazily by
 * each operation) and the base model; every operation is a call into @lycoris-ts/adapter-files.
 */
export class EngineSession {
  readonly #registry: AdapterRegistry;
  #loaded: Loaded | null = null;

  constructor(registry: AdapterRegistry) {
    this.#registry = registry;
  }

  #require(): Loaded {
    if (this.#loaded === null) throw new WebError("missing_input", "open an adapter first");
    return this.#loaded;
  }

  #requireBase(what: string): PickedBase {
    const base = this.#require().base;
    if (base === null) throw new WebError("missing_input", `${what} needs a base model: open one first`);
    return base;
  }

  /** Opens (inspects) an adapter and remembers the base. */
  async open(adapter: AdapterSource, baseSource: BaseSource | null): Promise<Opened> {
    const { base, note } = pickBase(baseSource);
    const input = adapterInput(adapter);
    const report = await inspectAdapters(input, this.#registry);
    const stem = adapter.kind === "file" ? adapter.file.name.replace(/\.safetensors$/, "") : "adapter";
    this.#loaded = { input, report, base, stem };
    return {
      report,
      label:
        adapter.kind === "file"
          ? adapter.file.name
          : `adapter folder (${adapter.files.map(([p]) => p).join(", ")})`,
      baseName: base?.name ?? null,
      baseNote: note,
      naming: report.format === "kohya-safetensors" ? "kohya" : "peft",
    };
  }

  /** Runs `f` on the opened adapters' rows, closing the files afterwards. */
  async #withRows<T>(
    f: (rows: ModuleRow[], adapters: OpenedAdapter[]) => Promise<T>,
    readWhole = false,
  ): Promise<T> {
    const { input, report } = this.#require();
    const located = await locateAdapters(input);
    const adapters = await openAdapters(
      selectAdapters(
        located,
        report.adapters.map((a) => a.name),
      ),
      this.#registry,
    );
    try {
      return await f(await moduleRows(report, adapters, readWhole), adapters);
    } finally {
      await closeAdapters(adapters);
    }
  }

  /** ‖ΔW‖_F of every module, in table order, sent in batches through `partial`. */
  async norms(partial: (batch: ModuleNorm[]) => void, signal: AbortSignal): Promise<number> {
    return this.#withRows(async (rows) => {
      let batch: ModuleNorm[] = [];
      for (const row of rows) {
        if (signal.aborted) break;
        const svd = await moduleSvd(row);
        const norm = typeof svd === "string" ? null : frobeniusNorm(svd.singularValues);
        batch.push({
          index: row.index,
          module: row.description.module,
          norm,
          reason: typeof svd === "string" ? svd : null,
        });
        if (batch.length >= NORM_BATCH) {
          partial(batch);
          batch = [];
        }
      }
      if (batch.length > 0) partial(batch);
      return rows.length;
    }, true);
  }

  /** The singular values of one module's ΔW. */
  async spectrum(index: number): Promise<Spectrum> {
    return this.#withRows(async (rows) => {
      const row = rows[index];
      if (row === undefined) throw new WebError("missing_input", `no module #${index} in this adapter`);
      const svd = await moduleSvd(row);
      if (typeof svd === "string") throw new WebError("unsupported", `${row.description.module}: ${svd}`);
      return {
        module: row.description.module,
        rows: svd.rows,
        cols: svd.cols,
        singularValues: [...svd.singularValues],
      };
    });
  }

  /** The adapter against the base model. */
  async check(): Promise<BaseCheck> {
    const base = this.#requireBase("the check");
    const { input, report } = this.#require();
    const tensors = await this.#withRows(async (_, adapters) => adapters.flatMap((a) => a.reader.names));
    return checkAgainstBase(input, report, base.input, this.#registry, tensors);
  }

  /** PEFT → one kohya / LyCORIS file, or kohya → a PEFT adapter's two files (needs the base). */
  async convert(to: "kohya" | "peft", prefix: string, moduleRoot: string): Promise<Converted> {
    const { input, base, stem } = this.#require();
    if (to === "kohya") {
      const out = collectingStream();
      const s = await convertPeftToKohya({
        adapter: input,
        out: out.stream,
        registry: this.#registry,
        ...(prefix === "" ? {} : { prefix }),
        ...(moduleRoot === "" ? {} : { moduleRoot }),
        ...(base === null ? {} : { base: base.input }),
      });
      return {
        files: [{ name: `${stem}-lycoris.safetensors`, blob: out.blob() }],
        summary: `${s.modules} ${s.algo} modules as a kohya/LyCORIS file${s.baked > 0 ? `, scale multiplied into ${s.scaleParameter} in ${s.baked}` : ""}`,
      };
    }
    const r = await convertKohyaToPeft({
      adapter: input as File,
      base: this.#requireBase("converting to PEFT").input,
      registry: this.#registry,
    });
    // the bytes runtime's writePeftAdapterDir writes: PEFT's metadata
    const weights = serializeSafetensors(r.weights, { metadata: { format: "pt" } });
    return {
      files: [
        { name: "adapter_config.json", blob: new Blob([r.configJson], { type: "application/json" }) },
        { name: "adapter_model.safetensors", blob: new Blob([weights as Uint8Array<ArrayBuffer>]) },
      ],
      summary: `${r.modules} ${r.peftType} modules as a PEFT adapter (r=${r.r}, alpha=${r.alpha}, ${r.patterns} patterns)`,
    };
  }

  /**
   * LoKr / LoHa → LoRA (PEFT's `convert_to_lora` through adapter-files' `convertAdapterToLora`): the two
   * files PEFT would save, and the per-layer report. The open base, if any, fixes conv kernels.
   */
  async toLora(rank: LoraRank, peftCompatible: boolean): Promise<Converted> {
    const { input, base } = this.#require();
    const c = await convertAdapterToLora(input, {
      rank,
      peftCompatible,
      registry: this.#registry,
      ...(base === null ? {} : { base: base.input }),
    });
    const files = loraAdapterFiles(c);
    const energy = c.layers.map((l) => l.energyKept);
    const kept =
      energy.length === 0
        ? ""
        : `, energy kept ${Math.min(...energy).toPrecision(4)}–${Math.max(...energy).toPrecision(4)}`;
    return {
      files: [
        {
          name: ADAPTER_CONFIG_NAME,
          blob: new Blob([files[ADAPTER_CONFIG_NAME]], { type: "application/json" }),
        },
        {
          name: ADAPTER_WEIGHTS_NAME,
          blob: new Blob([files[ADAPTER_WEIGHTS_NAME] as Uint8Array<ArrayBuffer>]),
        },
      ],
      summary: `${c.layers.length} layers as a PEFT LoRA adapter${kept}${c.warnings.length > 0 ? `. ${c.warnings.join(" ")}` : ""}`,
      layers: c.layers,
    };
  }

  /**
   * Merges the adapters, each at its strength and in order, into the base in one pass (adapter-files'
   * `mergeIntoBase`: PEFT folders and single files, ComfyUI's key map on SD1.x / SDXL / Flux), streamed
   * tensor by tensor as one `.safetensors` file (a sharded base too) to `out` (a file the user chose),
   * or, without one, built in memory for a download (refused above {@link DOWNLOAD_LIMIT_BYTES}). Keys not placed / not applied go to `onWarning` before
   * anything is written; `strict` refuses them.
   */
  async merge(inputs: readonly MergeInput[], o: MergeRun): Promise<MergeResult> {
    const base = this.#requireBase("a merge");
    if (inputs.length === 0) throw new WebError("missing_input", "no adapter to merge: add one");
    if (o.out === null && base.bytes > DOWNLOAD_LIMIT_BYTES) {
      throw new WebError(
        "unsupported",
        `the base is ${(base.bytes / 2 ** 30).toFixed(1)} GiB: too large to build in memory for a download; use a browser with the File System Access API (Chrome, Edge) to stream it to disk`,
      );
    }
    const memory = o.out === null ? collectingStream() : null;
    const s = await mergeIntoBase({
      base: base.input,
      singleFile: true,
      adapters: inputs.map((i) => ({ input: adapterInput(i.adapter), strength: i.strength })),
      out: o.out ?? memory!.stream,
      registry: this.#registry,
      strict: o.strict,
      onWarning: o.onWarning,
      onProgress: o.onProgress,
      signal: o.signal,
    });
    const name = `${base.stem}-merged.safetensors`;
    return {
      summary: mergeSummary(s),
      warnings: s.warnings.length,
      file: memory === null ? null : { name, blob: memory.blob() },
    };
  }
}

/** How a merge runs: where to, strict or not, and its callbacks. */
export interface MergeRun {
  /** The file the user chose, or `null` for a download built in memory. */
  readonly out: WritableStream<Uint8Array> | null;
  readonly strict: boolean;
  readonly onProgress: OnProgress;
  readonly onWarning: (warning: MergeWarning) => void;
  readonly signal: AbortSignal;
}

/** One line: each adapter at its strength, tensors patched, keys not applied. */
function mergeSummary(s: MergeIntoBaseSummary): string {
  const parts = s.adapters.map((a) => `${a.input} at strength ${a.strength} (${a.modules} modules)`);
  const skipped = s.warnings.length > 0 ? `; ${s.warnings.length} adapter keys not applied (below)` : "";
  return `${parts.join(" + ")} merged into ${s.patchedTensors} tensors (${s.tensors} tensors in all${skipped})`;
}
