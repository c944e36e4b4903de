import type { LoraLayerReport } from "@lycoris-ts/lora";
import type { LoraRank } from "@lycoris-ts/runtime";
import type { Converted } from "../engine/protocol";
import { byId, download, formatNumber, h } from "./dom";
import type { EngineClient } from "./engine-client";

/**
 * Conversion between PEFT and kohya / LyCORIS files (same ΔW), downloaded; and to LoRA. The direction follows the
 * opened adapter: PEFT → one kohya file; kohya → PEFT's two files (the base names the modules).
 */
export function wireConvertPanel(engine: EngineClient, naming: () => "peft" | "kohya" | null): void {
  const button = byId<HTMLButtonElement>("convert-run");
  const status = byId("convert-status");
  button.addEventListener("click", async () => {
    const from = naming();
    if (from === null) {
      status.textContent = "open an adapter first";
      return;
    }
    status.textContent = "converting…";
    try {
      const r = await engine.call<Converted>({
        type: "convert",
        to: from === "peft" ? "kohya" : "peft",
        prefix: byId<HTMLInputElement>("convert-prefix").value.trim(),
        moduleRoot: byId<HTMLInputElement>("convert-root").value.trim(),
      }).result;
      for (const f of r.files) download(f.name, f.blob);
      status.textContent = `converted: ${r.summary}; downloaded ${r.files.map((f) => f.name).join(" and ")}`;
    } catch (error) {
      status.textContent = `conversion failed: ${(error as Error).message}`;
    }
  });
  wireToLora(engine);
}

/** LoKr / LoHa → LoRA at a rank or an energy threshold per layer: download and a per-layer report. */
function wireToLora(engine: EngineClient): void {
  const status = byId("to-lora-status");
  byId<HTMLButtonElement>("to-lora-run").addEventListener("click", async () => {
    const value = Number(byId<HTMLInputElement>("to-lora-value").value);
    const rank: LoraRank =
      byId<HTMLSelectElement>("to-lora-mode").value === "rank" ? { rank: value } : { threshold: value };
    status.textContent = "converting…";
    try {
      const r = await engine.call<Converted>({
        type: "to-lora",
        rank,
        peftCompatible: byId<HTMLInputElement>("to-lora-peft").checked,
      }).result;
      for (const f of r.files) download(f.name, f.blob);
      status.textContent = `converted: ${r.summary}; downloaded ${r.files.map((f) => f.name).join(" and ")}`;
      byId("to-lora-report").replaceChildren(layerTable(r.layers ?? []));
    } catch (error) {
      status.textContent = `conversion failed: ${(error as Error).message}`;
      byId("to-lora-report").replaceChildren();
    }
  });
}

function layerTable(layers: readonly LoraLayerReport[]): HTMLTableElement {
  const head = ["module", "ΔW matrix", "rank", "r", "energy kept", "relative error"];
  return h(
    "table",
    { class: "data", id: "to-lora-layers" },
    h("caption", {}, "Per layer: the truncation rank, PEFT's r, the energy kept and ‖ΔW − B·A‖F / ‖ΔW‖F"),
    h("thead", {}, h("tr", {}, ...head.map((c) => h("th", { scope: "col" }, c)))),
    h(
      "tbody",
      {},
      ...layers.map((l) =>
        h(
          "tr",
          {},
          h("td", {}, l.module),
          h("td", {}, `${l.matrixShape[0]}×${l.matrixShape[1]}`),
          h("td", { class: "num" }, l.rank),
          h("td", { class: "num" }, l.r),
          h("td", { class: "num" }, formatNumber(l.energyKept)),
          h("td", { class: "num" }, formatNumber(l.relativeError)),
        ),
      ),
    ),
  );
}
