import type {
  AdapterModuleDescription,
  AdapterModuleTensors,
  InspectReport,
  OpenedAdapter,
} from "@lycoris-ts/adapter-files";
import { type FloatArray, type LazySvd, reshape, type Tensor } from "@lycoris-ts/kernels";
import { kohyaToPeftParam } from "@lycoris-ts/lycoris-format";
import { layerDeltaSvd } from "@lycoris-ts/runtime";
import { parseSafetensors } from "@lycoris-ts/safetensors";

/** Reads one tensor of an adapter's weights file (decoded to float32). */
export type ReadTensor = (name: string) => Promise<Tensor<Float32Array>>;

/** One row of the module table with what its ΔW needs: the open adapter, the module's tensors, a reader. */
export interface ModuleRow {
  readonly index: number;
  readonly adapter: OpenedAdapter;
  readonly tensors: AdapterModuleTensors;
  readonly description: AdapterModuleDescription;
  readonly read: ReadTensor;
}

/** Weights files up to this size are read whole, once (one read instead of one per tensor). */
const READ_WHOLE_BYTES = 256 * 2 ** 20;

/**
 * A tensor reader for an adapter: small weights files (adapters usually are) parsed from one read of
 * the whole file, since each separate read of a File costs the browser a round trip; larger ones
 * tensor by tensor.
 */
async function tensorReader(adapter: OpenedAdapter, whole: boolean): Promise<ReadTensor> {
  const file = adapter.location.weights;
  if (!whole || typeof file === "string" || file.size > READ_WHOLE_BYTES)
    return (name) => adapter.reader.read(name);
  const { tensors } = parseSafetensors(new Uint8Array(await file.arrayBuffer()));
  return async (name) => tensors.get(name) ?? adapter.reader.read(name);
}

/**
 * The table's rows (the inspect report's modules, adapter by adapter) matched with their tensors;
 * `readWhole`: every module's tensors will be read (small weights files are then read in one go).
 */
export async function moduleRows(
  report: InspectReport,
  adapters: readonly OpenedAdapter[],
  readWhole: boolean,
): Promise<ModuleRow[]> {
  const rows: ModuleRow[] = [];
  for (const [a, described] of report.adapters.entries()) {
    const adapter = adapters[a]!;
    const read = await tensorReader(adapter, readWhole);
    const byName = new Map(adapter.groups.modules.map((m) => [m.module, m] as const));
    for (const description of described.modules) {
      const tensors = byName.get(description.module);
      if (tensors !== undefined) rows.push({ index: rows.length, adapter, tensors, description, read });
    }
  }
  return rows;
}

/**
 * The SVD of one module's ΔW (scaling included) through its variant's `deltaWeightSvd` (runtime's
 * `layerDeltaSvd`: structured where the variant has the hook, never materialising ΔW there), for the
 * layer its factors imply. kohya files are read as the loaders read them: factors renamed to the
 * variant's PEFT names, rank 1 and scale 1 where every factor is full.
 *
 * @returns the SVD, or a reason it cannot be computed without a base model.
 */
export async function moduleSvd(row: ModuleRow): Promise<LazySvd | string> {
  const { tensors, description: d, adapter } = row;
  const variant = tensors.variant;
  if (variant === null) return "no registered adapter type holds these tensors";
  const kohya = adapter.groups.naming === "kohya" ? variant.kohya : undefined;
  const params: Record<string, Tensor<FloatArray>> = {};
  const shapes = new Map<string, readonly number[]>();
  for (const [name, info] of tensors.params) {
    const peft =
      kohya === undefined ? { name, shape: info.shape } : kohyaToPeftParam(kohya, name, info.shape);
    params[peft.name] = reshape(await row.read(info.name), peft.shape);
    shapes.set(peft.name, peft.shape);
  }
  const layer = variant.layerCandidates?.(shapes)[0];
  if (layer === undefined) return "the layer shape is not determined by the factors alone";
  const r = d.r ?? 1;
  const config = adapter.configFile?.config ?? variant.createConfig({});
  const ctx = { config, r, alpha: d.alpha ?? r, layer };
  return layerDeltaSvd(variant, params, ctx, d.scaling ?? 1);
}

/** ‖ΔW‖_F = sqrt(Σ σᵢ²) from the singular values (float64). */
export function frobeniusNorm(singularValues: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < singularValues.length; i++) s += singularValues[i]! * singularValues[i]!;
  return Math.sqrt(s);
}
