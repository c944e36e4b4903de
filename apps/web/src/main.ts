// The page: wires the panels to the engine worker. All reading and computing happens in the worker.
import type {
  AdapterSource,
  BaseCheck,
  BaseSource,
  Environment,
  ModuleNorm,
  Opened,
  Spectrum,
} from "./engine/protocol";
import { renderCheck } from "./page/check-panel";
import { wireConvertPanel } from "./page/convert-panel";
import { byId, formatBytes, formatNumber } from "./page/dom";
import { EngineClient } from "./page/engine-client";
import { LookPanel } from "./page/look-panel";
import { wireMergePanel } from "./page/merge-panel";
import { type TableRow, tableRows } from "./page/module-rows";
import { ModuleTable } from "./page/module-table";
import { wireOpenPanel } from "./page/open-panel";
import { wireTabs } from "./page/tabs";
import "./style.css";

function start(): void {
  const engine = new EngineClient(
    new Worker(new URL("./engine/engine-worker.ts", import.meta.url), { type: "module" }),
  );
  const state: {
    adapter: AdapterSource | null;
    base: BaseSource | null;
    opened: Opened | null;
    rows: TableRow[];
    normsCall: number | null;
  } = { adapter: null, base: null, opened: null, rows: [], normsCall: null };
  const status = byId("open-status");
  const show = (text: string) => {
    status.textContent = text;
  };

  const showSpectrum = async (index: number) => {
    const row = state.rows[index];
    if (row === undefined) return;
    byId("spectrum-summary").textContent = `computing the spectrum of ${row.module}…`;
    try {
      look.showSpectrum(await engine.call<Spectrum>({ type: "spectrum", module: index }).result, row);
    } catch (error) {
      byId("spectrum-summary").textContent = `no spectrum: ${(error as Error).message}`;
    }
  };
  const table = new ModuleTable((row) => {
    tabs.select("look");
    void showSpectrum(row.index);
  });
  const look = new LookPanel((index) => void showSpectrum(index));
  const tabs = wireTabs();

  const computeNorms = () => {
    if (state.normsCall !== null) engine.abort(state.normsCall);
    const call = engine.call<number>(
      { type: "norms" },
      {
        onPartial: (batch) => {
          for (const n of batch as ModuleNorm[]) {
            const row = state.rows[n.index];
            if (row !== undefined) row.norm = n.norm;
          }
          table.update();
          look.updateNorms();
        },
      },
    );
    state.normsCall = call.id;
    call.result.catch((error: Error) => show(`‖ΔW‖ not computed: ${error.message}`));
  };

  const check = async () => {
    byId("check-result").textContent = "checking…";
    try {
      renderCheck(await engine.call<BaseCheck>({ type: "check" }).result);
    } catch (error) {
      byId("check-result").textContent = `check failed: ${(error as Error).message}`;
    }
  };

  const open = async () => {
    if (state.adapter === null) {
      if (state.base !== null)
        show(`base: ${state.base.files.map((f) => f.name).join(", ")}; now open an adapter`);
      return;
    }
    show("reading…");
    try {
      const opened = await engine.call<Opened>({ type: "open", adapter: state.adapter, base: state.base })
        .result;
      state.opened = opened;
      state.rows = tableRows(opened.report);
      renderSummary(opened);
      byId("merge-opened").textContent = `${opened.label} (opened above)`;
      table.setRows(state.rows);
      look.setRows(state.rows);
      computeNorms();
      byId<HTMLButtonElement>("check-run").disabled = opened.baseName === null;
      if (opened.baseName !== null) await check();
      else byId("check-result").textContent = "Open a base model to check the adapter against it.";
    } catch (error) {
      show(`cannot open: ${(error as Error).message}`);
    }
  };

  wireOpenPanel({
    adapter: (source) => {
      if (typeof source === "string") {
        show(source);
        return;
      }
      state.adapter = source;
      void open();
    },
    base: (source) => {
      state.base = source;
      void open();
    },
  });
  byId("check-run").addEventListener("click", () => void check());
  wireConvertPanel(engine, () => state.opened?.naming ?? null);
  wireMergePanel(engine, {
    opened: () => (state.opened === null ? null : state.adapter),
    baseName: () => state.opened?.baseName ?? null,
  });

  engine
    .call<Environment>({ type: "environment" })
    .result.then((env) => {
      byId("environment").textContent =
        `Kernels: ${env.wasmSimd ? "WebAssembly SIMD" : "JavaScript (no WASM SIMD)"} · GPU: ${env.gpu}`;
    })
    .catch(() => undefined);
}

function renderSummary(o: Opened): void {
  const r = o.report;
  const types = [...new Set(r.adapters.map((a) => a.peftType ?? "?"))].join(", ");
  const note = o.baseNote === null ? "" : o.baseName === null ? ` · ${o.baseNote}` : ` (${o.baseNote})`;
  const base = `${o.baseName === null ? "" : ` · base: ${o.baseName}`}${note}`;
  byId("open-status").textContent = `${o.label}: ${r.format}, ${types}${base}`;
  const t = r.totals;
  byId("totals").replaceChildren(
    ...[
      ["format", r.format],
      ["type", types],
      ["adapters", formatNumber(t.adapters)],
      ["modules", formatNumber(t.modules)],
      ["tensors", formatNumber(t.tensors)],
      ["parameters", formatNumber(t.parameters)],
      ["size", formatBytes(t.bytes)],
    ].flatMap(([k, v]) => {
      const dt = document.createElement("dt");
      dt.textContent = k!;
      const dd = document.createElement("dd");
      dd.textContent = v!;
      dd.dataset.total = k!;
      return [dt, dd];
    }),
  );
}

start();
