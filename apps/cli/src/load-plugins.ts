import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import { isAbsolute, join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import type { AdapterRegistry, AdapterVariant } from "@lycoris-ts/runtime";
import { CliError } from "./cli-error";

/** Whether `v` has the required members of an `AdapterVariant`. */
function isAdapterVariant(v: unknown): v is AdapterVariant {
  if (typeof v !== "object" || v === null) return false;
  const o = v as Record<string, unknown>;
  return (
    typeof o.peftType === "string" &&
    typeof o.prefix === "string" &&
    Array.isArray(o.parameterNames) &&
    ["createConfig", "parameterLayout", "initParameters", "deltaWeight"].every(
      (k) => typeof o[k] === "function",
    )
  );
}

/** Every variant a module exports: variant objects, variants in exported arrays, and in a CommonJS `default` object. */
function variantsIn(exports: Readonly<Record<string, unknown>>): AdapterVariant[] {
  const found = new Set<AdapterVariant>();
  const cjs = exports.default;
  const values = [
    ...Object.values(exports),
    ...(typeof cjs === "object" && cjs !== null ? Object.values(cjs) : []),
  ];
  for (const value of values) {
    for (const v of Array.isArray(value) ? value : [value]) if (isAdapterVariant(v)) found.add(v);
  }
  return [...found];
}

/**
 * The URL to import for `spec`: a file path (relative to the working directory), or a package name
 * resolved from the working directory (then from the CLI's own location).
 */
function pluginUrl(spec: string): string {
  const looksLikePath = spec.startsWith(".") || isAbsolute(spec) || /\.[cm]?js$/.test(spec);
  if (looksLikePath || existsSync(spec)) return pathToFileURL(resolve(spec)).href;
  try {
    return pathToFileURL(createRequire(join(process.cwd(), "noop.js")).resolve(spec)).href;
  } catch {
    return spec;
  }
}

/**
 * Imports each `--plugin` module and registers every adapter variant it exports, so that
 * `inspect` / `validate` / `merge` / `convert` know its `peft_type` and tensors.
 *
 * @throws CliError `input` when a module cannot be loaded or exports no variant; AdapterError
 *   `duplicate_variant` when it exports a different variant for a registered `peft_type`.
 */
export async function loadPlugins(specs: readonly string[], registry: AdapterRegistry): Promise<void> {
  for (const spec of specs) {
    let exports: Record<string, unknown>;
    try {
      exports = (await import(pluginUrl(spec))) as Record<string, unknown>;
    } catch (error) {
      throw new CliError("input", `--plugin ${spec}: cannot load the module (${(error as Error).message})`, {
        cause: error,
      });
    }
    const variants = variantsIn(exports);
    if (variants.length === 0) {
      throw new CliError(
        "input",
        `--plugin ${spec}: the module exports no adapter variant (an object with peftType, prefix, parameterNames, createConfig, parameterLayout, initParameters, deltaWeight)`,
      );
    }
    for (const v of variants) registry.register(v);
  }
}
