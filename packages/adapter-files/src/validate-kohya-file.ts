import {
  checkLycorisModuleFits,
  type LycorisAdapter,
  LycorisFormatError,
  type LycorisModule,
} from "@lycoris-ts/lycoris-format";
import type { AdapterRegistry } from "@lycoris-ts/runtime";
import { type BaseInput, type FileInput, inputName } from "./file-input";
import { readKohyaFile } from "./kohya-file";
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

/** A problem line for every factor (and `dora_scale`, `alpha`) holding NaN / Inf. */
function nonFiniteChecks(m: LycorisModule): ValidationCheck[] {
  const checks: ValidationCheck[] = [];
  const tensors = Object.entries(m.params);
  if (m.doraScale !== null) tensors.push(["dora_scale", m.doraScale]);
  for (const [param, { data }] of tensors) {
    const bad = data.findIndex((v) => !Number.isFinite(v));
    if (bad < 0) continue;
    const message = `non-finite value ${data[bad]} at element ${bad} of ${data.length} (NaN/Inf)`;
    checks.push({ level: "error", subject: `${m.fileKey}.${param}`, message });
  }
  if (m.alpha !== null && !Number.isFinite(m.alpha)) {
    checks.push({ level: "error", subject: `${m.fileKey}.alpha`, message: `non-finite alpha ${m.alpha}` });
  }
  return checks;
}

/** Checks of every module against its base weight, and of its values. */
function moduleChecks(adapter: LycorisAdapter, base: TensorFile): ValidationCheck[] {
  const checks: ValidationCheck[] = [];
  const algos = [...new Set(adapter.modules.map((m) => m.algo))].join(" + ");
  const roots = Object.entries(adapter.prefixes).map(([p, r]) => `${p} → ${r === "" ? "(root)" : r}`);
  checks.push({
    level: "ok",
    subject: "tensor names",
    message: `${adapter.modules.length} ${algos} modules resolved (${roots.join(", ")})`,
  });
  for (const m of adapter.modules) {
    const info = base.info(`${m.moduleName}.weight`);
    const message =
      info === undefined
        ? `${base.path} has no tensor '${m.moduleName}.weight'`
        : checkLycorisModuleFits(m, info.shape)?.message;
    if (message !== undefined) checks.push({ level: "error", subject: m.moduleName, message });
    checks.push(...nonFiniteChecks(m));
  }
  if (checks.length === 1) {
    checks.push({
      level: "ok",
      subject: "base",
      message: `all ${adapter.modules.length} modules fit their base weights`,
    });
  }
  return checks;
}

/**
 * Validates a kohya / LyCORIS-format file against a base model: every tensor name is a factor of a
 * registered variant (its `kohya.tensorNames`), `alpha` or `dora_scale` of a key that names a module
 * of the base, every module has the tensors its structure needs, and its factors (and `dora_scale`)
 * fit the base weight, and every value is finite. Problems are reported as checks, not thrown.
 *
 * @throws AdapterFilesError / SafetensorsError when the files cannot be read at all.
 */
export async function validateKohyaFile(
  input: FileInput,
  o: ValidateKohyaFileOptions,
): Promise<ValidateReport> {
  const base = await openBaseModel(o.base);
  let adapter: LycorisAdapter | null = null;
  let checks: ValidationCheck[];
  try {
    adapter = await readKohyaFile(input, base, o.registry, o.prefixes);
    checks = moduleChecks(adapter, base);
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
        peftType: adapter === null ? "?" : [...new Set(adapter.modules.map((m) => m.algo))].join("+"),
        modules: adapter?.modules.length ?? 0,
        checks,
      },
    ],
    errors,
    warnings: checks.filter((c) => c.level === "warning").length,
    ok: errors === 0,
  };
}
