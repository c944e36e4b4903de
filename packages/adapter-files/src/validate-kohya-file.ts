import { checkLoaderPatchFits, LycorisFormatError } from "@lycoris-ts/lycoris-format";
import type { AdapterRegistry } from "@lycoris-ts/runtime";
import { type BaseInput, type FileInput, inputName } from "./file-input";
import {
  type KohyaFilePatches,
  patchKindName,
  prefixedTargets,
  readKohyaFilePatches,
} from "./generic-base-patches";
import { openBaseModel } from "./open-base-model";
import type { TensorFile } from "./tensor-file";
import type { ValidateReport, ValidationCheck } from "./validate-adapters";

/** Options of {@link validateKohyaFile}. */
export interface ValidateKohyaFileOptions {
  /** The base model file whose module names the keys are resolved against. */
  readonly base: BaseInput;
  /** File prefix → sub-model root (defaults: lycoris-format's table, else found from the keys). */
  readonly prefixes?: Readonly<Record<string, string>>;
  readonly registry: AdapterRegistry;
}

/** A problem line for every tensor of a module (factors, `alpha`, `dora_scale`, diffs) holding NaN / Inf. */
function nonFiniteChecks(names: readonly string[], read: KohyaFilePatches): ValidationCheck[] {
  const checks: ValidationCheck[] = [];
  for (const name of names) {
    const data = read.tensors.get(name)!.data;
    const bad = data.findIndex((v) => !Number.isFinite(v));
    if (bad < 0) continue;
    const message = `non-finite value ${data[bad]} at element ${bad} of ${data.length} (NaN/Inf)`;
    checks.push({ level: "error", subject: name, message });
  }
  return checks;
}

/** The modules' kinds, as summaries name them, joined by `joiner`. */
function kindList(read: KohyaFilePatches, registry: AdapterRegistry, joiner: string): string {
  return [...new Set(read.modules.map((m) => patchKindName(m.patch, registry)))].join(joiner);
}

/** Checks of every module against its base tensors, and of its values. */
function moduleChecks(
  read: KohyaFilePatches,
  base: TensorFile,
  registry: AdapterRegistry,
): ValidationCheck[] {
  const checks: ValidationCheck[] = [];
  const roots = Object.entries(read.prefixes).map(([p, r]) => `${p} → ${r === "" ? "(root)" : r}`);
  const how = roots.length > 0 ? roots.join(", ") : "module paths";
  checks.push({
    level: "ok",
    subject: "tensor names",
    message: `${read.modules.length} ${kindList(read, registry, " + ")} modules resolved (${how})`,
  });
  for (const m of read.modules) {
    for (const [tensor, target] of prefixedTargets(m)) {
      const info = base.info(tensor);
      const message =
        info === undefined
          ? `${base.path} has no tensor '${tensor}'`
          : checkLoaderPatchFits(m.patch, target, info.shape)?.message;
      if (message !== undefined) checks.push({ level: "error", subject: m.moduleName, message });
    }
    checks.push(...nonFiniteChecks(m.tensors, read));
  }
  if (checks.length === 1) {
    checks.push({
      level: "ok",
      subject: "base",
      message: `all ${read.modules.length} modules fit their base weights`,
    });
  }
  return checks;
}

/**
 * Validates a single-file adapter (kohya / LyCORIS and the other layouts) against a generic base
 * model: every tensor is one the loaders read (every LoRA form, the registered variants, `.diff`,
 * `w_norm`, `diff_b` / `b_norm`, `alpha`, `dora_scale`) of a key that names a module of the base,
 * every module has the tensors its kind needs, its patch (and `dora_scale`) fits the base weight and
 * bias, and every value is finite. Problems are reported as checks, not thrown.
 *
 * @throws AdapterFilesError / SafetensorsError when the files cannot be read at all.
 */
export async function validateKohyaFile(
  input: FileInput,
  o: ValidateKohyaFileOptions,
): Promise<ValidateReport> {
  const base = await openBaseModel(o.base);
  let read: KohyaFilePatches | null = null;
  let checks: ValidationCheck[];
  try {
    read = await readKohyaFilePatches(input, base, o.registry, o.prefixes);
    checks = moduleChecks(read, base, o.registry);
  } catch (error) {
    if (!(error instanceof LycorisFormatError)) throw error;
    checks = [
      {
        level: "error",
        subject: error.module === "" ? "tensor names" : error.module,
        message: error.message,
      },
    ];
  } finally {
    await base.close();
  }
  const errors = checks.filter((c) => c.level === "error").length;
  return {
    path: inputName(input),
    base: inputName(o.base),
    adapters: [
      {
        name: "lycoris",
        peftType: read === null ? "?" : kindList(read, o.registry, "+"),
        modules: read?.modules.length ?? 0,
        checks,
      },
    ],
    errors,
    warnings: checks.filter((c) => c.level === "warning").length,
    ok: errors === 0,
  };
}
