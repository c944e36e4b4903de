import type { AdapterRegistry } from "@lycoris-ts/runtime";
import { LycorisFormatError } from "../lycoris-format-error";
import { kohyaTensorSuffix } from "./adapter-tensor-suffix";
import { type BaseCheckpoint, type BaseTensorShapes, readBaseCheckpoint } from "./base-checkpoint";
import type { KeyMapEntry } from "./key-map-types";
import { buildLoraKeyTable, type ComfyTarget, keyLayout } from "./lora-key-table";
import { lookup, mapAdapterKeys } from "./map-adapter-keys";

/**
 * The key layouts an adapter can be written in: `kohya` (`lora_unet_` / `lora_te_` / `lora_te1_` /
 * `lora_te2_` + the module path with `_`), `comfy` (`diffusion_model.<checkpoint path>`,
 * `text_encoders.clip_l.…`), `diffusers` (`unet.` / `transformer.` / `text_encoder.` /
 * `text_encoder_2.` + the diffusers module path, as the loaders read it).
 */
export type TargetLayout = "kohya" | "comfy" | "diffusers";

/** Every {@link TargetLayout}. */
export const TARGET_LAYOUTS: readonly TargetLayout[] = ["kohya", "comfy", "diffusers"];

/** Options of {@link relayoutAdapterKeys}. */
export interface RelayoutOptions {
  /** The layout to write. */
  readonly layout: TargetLayout;
  /** Registry holding the variants whose kohya tensors the file may hold (as for `mapAdapterKeys`). */
  readonly registry: AdapterRegistry;
  /**
   * Leave out (and report in `dropped`) the module keys and tensors that cannot be written in the
   * layout, instead of failing. Default `false`.
   */
  readonly drop?: boolean;
}

/** One module key renamed. */
export interface RelayoutModule {
  /** The module key in the input file. */
  readonly from: string;
  /** The module key in the chosen layout; it places onto the same checkpoint target. */
  readonly to: string;
}

/** Adapter tensors that cannot be written in the layout, and why. */
export interface RelayoutDrop {
  readonly moduleKey: string;
  readonly tensors: readonly string[];
  readonly reason: string;
}

/** The new name of every adapter tensor that can be written in a layout. */
export interface AdapterRelayout {
  readonly layout: TargetLayout;
  /** Old tensor name → new tensor name, in file order. */
  readonly renames: ReadonlyMap<string, string>;
  /** The module keys renamed, in file order. */
  readonly modules: readonly RelayoutModule[];
  /** What was left out (only with `drop`; otherwise the same list is the error). */
  readonly dropped: readonly RelayoutDrop[];
}

/** The module key prefixes of each layout, most preferred first (kohya's text-encoder prefix depends on the family). */
function layoutPrefixes(layout: TargetLayout, base: BaseCheckpoint): readonly string[] {
  if (layout === "comfy") return ["diffusion_model.", "text_encoders."];
  if (layout === "diffusers") return ["unet.", "transformer.", "text_encoder.", "text_encoder_2."];
  const twoEncoders = base.components.includes("clip_l") && base.components.includes("clip_g");
  return twoEncoders
    ? ["lora_unet_", "lora_te1_", "lora_te2_", "lora_te_"]
    : ["lora_unet_", "lora_te_", "lora_te1_", "lora_te2_"];
}

const targetId = (t: ComfyTarget): string =>
  `${t.key}|${t.offset === null ? "" : `${t.offset.dim}:${t.offset.start}:${t.offset.size}`}|${t.function ?? ""}`;

/** A target in words: `rows [0, 8) of <key> with swap_scale_shift`. */
function targetText(t: ComfyTarget): string {
  const rows = t.offset === null ? "" : `rows [${t.offset.start}, ${t.offset.start + t.offset.size}) of `;
  return `${rows}'${t.key}'${t.function === null ? "" : ` with ${t.function}`}`;
}

/**
 * Picks the key of `layout` for a target: the first prefix of the layout's order that has one; within
 * kohya's `lora_unet_`, the diffusers-path name (what sd-scripts writes for SD1.x / SDXL) over the
 * checkpoint-path name ComfyUI also accepts.
 */
function pick(
  candidates: readonly string[],
  prefixes: readonly string[],
  t: ComfyTarget,
): string | undefined {
  const native = `lora_unet_${t.key.slice("diffusion_model.".length, -".weight".length).replace(/\./g, "_")}`;
  for (const prefix of prefixes) {
    const own = candidates.filter((k) => keyLayout(k).prefix === prefix);
    if (own.length > 0) return own.find((k) => k !== native) ?? own[0];
  }
  return undefined;
}

/**
 * Renames an adapter's tensors into one producer layout, module key by module key, so that each
 * module places onto the same checkpoint target (tensor, rows, function) as before under
 * {@link mapAdapterKeys}' rules. LoRA up / down tensors get kohya's names (`.lora_up.weight`,
 * `.lora_down.weight`); every other tensor keeps its suffix, so every module kind the loaders read
 * (LoRA / LoCon, the variants, `diff`, norms, DoRA, ...) is written unchanged. Module keys that are
 * not placed, tensors the loaders do not read, targets the layout has no name for (a fused-row slice
 * in kohya / comfy, a whole fused Flux weight or a `swap_scale_shift` target in diffusers) and two
 * modules that would get one key cannot be written.
 *
 * @throws LycorisFormatError `not_convertible` listing every module key that cannot be written
 *   (unless `drop`); the errors of {@link mapAdapterKeys} for an unrecognised checkpoint.
 */
export function relayoutAdapterKeys(
  base: BaseTensorShapes,
  adapterTensorNames: Iterable<string>,
  options: RelayoutOptions,
): AdapterRelayout {
  const names = [...adapterTensorNames];
  const map = mapAdapterKeys(base, names, { registry: options.registry, closest: 1 });
  const checkpoint = readBaseCheckpoint(base);
  const table = buildLoraKeyTable(checkpoint);
  const byTarget = new Map<string, string[]>();
  for (const [k, t] of table) {
    const id = targetId(t);
    const list = byTarget.get(id) ?? [];
    list.push(k);
    byTarget.set(id, list);
  }
  const prefixes = layoutPrefixes(options.layout, checkpoint);
  const renames = new Map<string, string>();
  const modules: RelayoutModule[] = [];
  const dropped: RelayoutDrop[] = [];
  const owner = new Map<string, string>();
  const drop = (e: KeyMapEntry, tensors: readonly string[], reason: string): void => {
    dropped.push({ moduleKey: e.moduleKey, tensors, reason });
  };
  for (const e of map.entries) {
    if (e.status !== "placed" && e.status !== "not_applied") {
      drop(e, e.tensors, e.message ?? `'${e.moduleKey}' is not placed`);
      continue;
    }
    const t = lookup(table, e.moduleKey)!;
    const to = pick(byTarget.get(targetId(t)) ?? [], prefixes, t);
    if (to === undefined) {
      const others = TARGET_LAYOUTS.filter(
        (l) =>
          l !== options.layout && pick(byTarget.get(targetId(t)) ?? [], layoutPrefixes(l, checkpoint), t),
      );
      const hint =
        others.length > 0 ? ` (the ${others.join(" and ")} layout${others.length > 1 ? "s" : ""} can)` : "";
      drop(
        e,
        e.tensors,
        `'${e.moduleKey}' patches ${targetText(t)}, which the ${options.layout} layout has no key for${hint}`,
      );
      continue;
    }
    const previous = owner.get(to);
    if (previous !== undefined) {
      drop(
        e,
        e.tensors,
        `'${e.moduleKey}' and '${previous}' both patch ${targetText(t)}: one file key '${to}' cannot hold both`,
      );
      continue;
    }
    owner.set(to, e.moduleKey);
    if (e.unread.length > 0) {
      drop(e, e.unread, `'${e.moduleKey}': the loaders do not read ${e.unread.join(", ")}`);
    }
    for (const name of e.tensors) {
      if (e.unread.includes(name)) continue;
      renames.set(name, to + kohyaTensorSuffix(name.slice(e.moduleKey.length)));
    }
    modules.push({ from: e.moduleKey, to });
  }
  if (dropped.length > 0 && options.drop !== true) {
    const first = dropped[0]!;
    const more =
      dropped.length > 2
        ? `; and ${dropped.length - 1} more module keys`
        : dropped.length === 2
          ? "; and 1 more module key"
          : "";
    throw new LycorisFormatError(
      "not_convertible",
      first.moduleKey,
      `cannot write ${dropped.length} module key${dropped.length === 1 ? "" : "s"} in the ${options.layout} layout: ${first.reason}${more} (leave them out with drop / --drop)`,
    );
  }
  const ordered = new Map(names.filter((n) => renames.has(n)).map((n) => [n, renames.get(n)!] as const));
  return { layout: options.layout, renames: ordered, modules, dropped };
}
