/**
 * kohya / LyCORIS file prefixes and the sub-model each stands for (FORMAT: `lora_unet` → `unet`,
 * `lora_te` / `lora_te1` → `text_encoder`, `lora_te2` → `text_encoder_2`, `lycoris` → the module
 * given to the LyCORIS wrapper; `""` means "found from the keys").
 */
export const DEFAULT_LYCORIS_PREFIXES: Readonly<Record<string, string>> = Object.freeze({
  lora_unet: "unet",
  lora_te: "text_encoder",
  lora_te1: "text_encoder",
  lora_te2: "text_encoder_2",
  lycoris: "",
});

/** The prefix of a module key among `prefixes` (longest match first), or `null`. */
export function keyPrefix(moduleKey: string, prefixes: readonly string[]): string | null {
  let best: string | null = null;
  for (const p of prefixes) {
    if (moduleKey.startsWith(`${p}_`) && (best === null || p.length > best.length)) best = p;
  }
  return best;
}

function underRoot(name: string, root: string): string | null {
  if (root === "") return name;
  return name.startsWith(`${root}.`) ? name.slice(root.length + 1) : null;
}

/**
 * Chooses the sub-model root of every prefix that occurs in `moduleKeys`: the given root when
 * `given` names the prefix, else among the default root, the whole model (`""`) and every
 * top-level module, the one under which most of the prefix's keys name a module (ties keep the
 * earlier candidate). Prefixes that occur in no key are left out.
 */
export function resolveLycorisPrefixes(
  moduleKeys: Iterable<string>,
  moduleNames: readonly string[],
  given?: Readonly<Record<string, string>>,
): Record<string, string> {
  const known = [...new Set([...Object.keys(DEFAULT_LYCORIS_PREFIXES), ...Object.keys(given ?? {})])];
  const byPrefix = new Map<string, Set<string>>();
  for (const key of moduleKeys) {
    const p = keyPrefix(key, known);
    if (p === null) continue;
    const set = byPrefix.get(p) ?? new Set<string>();
    set.add(key);
    byPrefix.set(p, set);
  }
  const topLevel = [...new Set(moduleNames.map((n) => n.split(".")[0]!))];
  const out: Record<string, string> = {};
  for (const [prefix, keys] of byPrefix) {
    const fixed = given?.[prefix];
    if (fixed !== undefined) {
      out[prefix] = fixed;
      continue;
    }
    const preferred = DEFAULT_LYCORIS_PREFIXES[prefix];
    const candidates = [...new Set([...(preferred === undefined ? [] : [preferred]), "", ...topLevel])];
    let best = candidates[0]!;
    let bestHits = -1;
    for (const root of candidates) {
      let hits = 0;
      for (const name of moduleNames) {
        const rel = underRoot(name, root);
        if (rel !== null && rel !== "" && keys.has(`${prefix}_${rel.replace(/\./g, "_")}`)) hits++;
      }
      if (hits > bestHits) {
        best = root;
        bestHits = hits;
      }
    }
    out[prefix] = best;
  }
  return out;
}
