import uPlot from "uplot";
import "uplot/dist/uPlot.min.css";
import type { Spectrum } from "../engine/protocol";
import { byId, formatNumber } from "./dom";
import { energyCurve, rankForEnergy } from "./energy";
import type { TableRow } from "./module-rows";

const ENERGY_MARKS = [0.9, 0.99, 0.999] as const;
/** Tick steps of the index axes (modules, singular values are counted, never fractional). */
const INTEGER_STEPS = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000];

function chartWidth(el: HTMLElement): number {
  return Math.max(320, el.clientWidth || 800);
}

/**
 * The charts: ‖ΔW‖_F of every module along the model's depth (file order), and the selected module's
 * singular values with the cumulative energy, from which a LoRA rank can be read.
 */
export class LookPanel {
  readonly #depthEl = byId("depth-chart");
  readonly #spectrumEl = byId("spectrum-chart");
  readonly #select = byId<HTMLSelectElement>("spectrum-module");
  readonly #summary = byId("spectrum-summary");
  #depth: uPlot | null = null;
  #spectrum: uPlot | null = null;
  #rows: TableRow[] = [];

  constructor(onPick: (index: number) => void) {
    this.#select.addEventListener("change", () => onPick(Number(this.#select.value)));
  }

  /** A new adapter: its modules in the picker, an empty depth chart. */
  setRows(rows: TableRow[]): void {
    this.#rows = rows;
    this.#select.replaceChildren(...rows.map((r) => new Option(`${r.index}: ${r.module}`, String(r.index))));
    this.#spectrum?.destroy();
    this.#spectrum = null;
    this.#summary.textContent = "";
    this.updateNorms();
  }

  /** Redraws the depth chart with the norms computed so far. */
  updateNorms(): void {
    const x = this.#rows.map((r) => r.index);
    const y = this.#rows.map((r) => r.norm);
    this.#depthEl.dataset.norms = String(y.filter((v) => v !== null).length);
    const data: uPlot.AlignedData = [x, y];
    if (this.#depth === null) {
      this.#depth = new uPlot(
        {
          width: chartWidth(this.#depthEl),
          height: 260,
          scales: { x: { time: false } },
          axes: [
            { label: "module (file order ≈ depth)", incrs: INTEGER_STEPS },
            { label: "‖ΔW‖F", size: 70 },
          ],
          series: [
            { label: "module", value: (_, v) => (v === null ? "–" : `${v}: ${this.#rows[v]?.module ?? ""}`) },
            { label: "‖ΔW‖F", stroke: "#1f6feb", width: 2, points: { show: this.#rows.length <= 200 } },
          ],
          cursor: { drag: { x: true, y: false } },
        },
        data,
        this.#depthEl,
      );
    } else {
      this.#depth.setData(data);
    }
  }

  /** Draws a module's spectrum and energy curve. */
  showSpectrum(s: Spectrum, row: TableRow): void {
    this.#select.value = String(row.index);
    const nonzero = s.singularValues.filter((v) => v > 0);
    const curve = energyCurve(nonzero);
    const x = nonzero.map((_, i) => i + 1);
    this.#spectrum?.destroy();
    this.#spectrum = new uPlot(
      {
        width: chartWidth(this.#spectrumEl),
        height: 260,
        scales: { x: { time: false }, sv: { distr: 3 }, energy: { range: [0, 1] } },
        axes: [
          { label: "index of the singular value", incrs: INTEGER_STEPS },
          { scale: "sv", label: "σ (log)", size: 70 },
          { scale: "energy", side: 1, label: "energy kept", grid: { show: false } },
        ],
        series: [
          { label: "k" },
          { label: "σ", scale: "sv", stroke: "#1f6feb", width: 2 },
          { label: "energy", scale: "energy", stroke: "#d29922", width: 2 },
        ],
      },
      [x, nonzero, curve],
      this.#spectrumEl,
    );
    const marks = ENERGY_MARKS.map((f) => `${f * 100}% energy: rank ${rankForEnergy(curve, f)}`).join(" · ");
    this.#summary.textContent = `${s.module}: ΔW is ${s.rows}×${s.cols}, rank ${nonzero.length}, ‖ΔW‖F ${formatNumber(Math.sqrt(nonzero.reduce((a, v) => a + v * v, 0)))}. ${marks}`;
  }
}
