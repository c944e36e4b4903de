import type { Converted } from "../engine/protocol";
import { byId, download } from "./dom";
import type { EngineClient } from "./engine-client";

/**
 * Conversion between PEFT and kohya / LyCORIS files (same ΔW), downloaded. The direction follows the
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
  // HOOK(to-lora): LoKr / LoHa → LoRA at a chosen rank or energy. The library's `convertToLora` is being
  // built on branch h/to-lora; once it is on main, add a "to-lora" request to engine/protocol.ts, call it
  // in EngineSession.convert, and enable #to-lora's fieldset (index.html) with its rank / energy inputs.
}
