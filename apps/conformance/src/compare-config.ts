import { adapterConfigToJson, type LycorisConfig } from "@lycoris-ts/lycoris-config";
import { expectEqual } from "./compare";

/** Fields of adapter_config.json that are bookkeeping, not behaviour (FORMAT.md). */
const BOOKKEEPING = ["peft_version", "auto_mapping", "base_model_name_or_path", "revision"];
/** Fields PEFT stores as sets (order unspecified). */
const SET_FIELDS = ["target_modules", "exclude_modules"];

/** The behaviour-relevant fields of an adapter_config.json, with set-valued fields sorted. */
export function configBehaviour(json: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(json).sort()) {
    if (BOOKKEEPING.includes(key)) continue;
    const v = json[key];
    out[key] = SET_FIELDS.includes(key) && Array.isArray(v) ? [...v].sort() : v;
  }
  return out;
}

/**
 * Throws a mismatch unless the adapter_config.json we would save for `config` has PEFT's keys and values
 * (bookkeeping fields aside).
 */
export function expectSameConfig(
  what: string,
  config: LycorisConfig,
  resolvedTargetModules: string | readonly string[] | null,
  peft: Record<string, unknown>,
): void {
  const ours = JSON.parse(adapterConfigToJson(config, { resolvedTargetModules })) as Record<string, unknown>;
  expectEqual(what, configBehaviour(ours), configBehaviour(peft));
}
