import { checkLycorisModuleFits, type LycorisAdapter, LycorisFormatError } from "@lycoris-ts/lycoris-format";
import type { AdapterRegistry } from "@lycoris-ts/runtime";
import { SafetensorsReader } from "@lycoris-ts/safetensors";
import { CliError } from "./cli-error";
import { readLycorisFile } from "./lycoris-file";
import type { ValidateReport, ValidationCheck } from "./validate-adapters";

/** Options of {@link validateLycoris}. */
export interface ValidateLycorisOptions {
  /** The base model file whose module names the keys are resolved against (required). */
  readonly base?: string;
  readonly prefixes?: Readonly<Record<string, string>>;
  readonly registry: AdapterRegistry;
}

/**
 * Validates a kohya / LyCORIS-format file against a base model: every tensor name is a LoKr /
 * LoHa factor, `alpha` or `dora_scale` of a key that names a module of the base, every module has
 * the tensors its structure needs, and its factors (and `dora_scale`) fit the base weight.
 *
 * @throws CliError `usage` without `base`.
 */
export async function validateLycoris(path: string, o: ValidateLycorisOptions): Promise<ValidateReport> {
  if (o.base === undefined) {
    throw new CliError(
      "usage",
      `${path} is a kohya/LyCORIS file: its keys name modules of a model, so validate it with --base <model.safetensors>`,
    );
  }
  const checks: ValidationCheck[] = [];
  const base = await SafetensorsReader.open(o.base);
  let adapter: LycorisAdapter | null = null;
  try {
    try {
      adapter = await readLycorisFile(path, base, o.registry, o.prefixes);
    } catch (error) {
      if (!(error instanceof LycorisFormatError)) throw error;
      checks.push({
        level: "error",
        subject: error.module === "" ? "tensor names" : error.module,
        message: error.message,
      });
    }
    if (adapter !== null) {
      const algos = [...new Set(adapter.modules.map((m) => m.algo))].join(" + ");
      const roots = Object.entries(adapter.prefixes).map(([p, r]) => `${p} → ${r === "" ? "(root)" : r}`);
      checks.push({
        level: "ok",
        subject: "tensor names",
        message: `${adapter.modules.length} ${algos} modules resolved (${roots.join(", ")})`,
      });
      let fits = 0;
      for (const m of adapter.modules) {
        const info = base.info(`${m.moduleName}.weight`);
        if (info === undefined) {
          checks.push({
            level: "error",
            subject: m.moduleName,
            message: `${o.base} has no tensor '${m.moduleName}.weight'`,
          });
          continue;
        }
        const misfit = checkLycorisModuleFits(m, info.shape);
        if (misfit !== null) checks.push({ level: "error", subject: m.moduleName, message: misfit.message });
        else fits++;
      }
      if (fits === adapter.modules.length) {
        checks.push({ level: "ok", subject: "base", message: `all ${fits} modules fit their base weights` });
      }
    }
  } finally {
    await base.close();
  }
  const errors = checks.filter((c) => c.level === "error").length;
  const warnings = checks.filter((c) => c.level === "warning").length;
  return {
    path,
    base: o.base,
    adapters: [
      {
        name: "lycoris",
        peftType: adapter === null ? "?" : [...new Set(adapter.modules.map((m) => m.algo))].join("+"),
        modules: adapter?.modules.length ?? 0,
        checks,
      },
    ],
    errors,
    warnings,
    ok: errors === 0,
  };
}
