import { adapterConfigBehaviour, adapterConfigToJson, type LycorisConfig } from "@lycoris-ts/lycoris-config";
import { expectEqual } from "./compare";

/**
 * Throws a mismatch unless the adapter_config.json we would save for `config` has PEFT's keys and values
 * (bookkeeping fields aside, sets in any order).
 */
export function expectSameConfig(
  what: string,
  config: LycorisConfig,
  resolvedTargetModules: string | readonly string[] | null,
  peft: Record<string, unknown>,
): void {
  const ours = JSON.parse(adapterConfigToJson(config, { resolvedTargetModules })) as Record<string, unknown>;
  expectEqual(what, adapterConfigBehaviour(ours), adapterConfigBehaviour(peft));
}
