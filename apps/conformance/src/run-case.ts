import { join } from "node:path";
import type { Tensor } from "@lycoris-ts/kernels";
import {
  type AdapterRegistry,
  adapterStateDict,
  LycorisLayer,
  loadAdapterStateDict,
} from "@lycoris-ts/runtime";
import { expectClose, expectEqual, Mismatch } from "./compare";
import { expectSameConfig } from "./compare-config";
import { expectWarnings } from "./compare-warnings";
import {
  adapterDir,
  type CaseJson,
  type ExpectedJson,
  exists,
  readInputs,
  readJson,
  readTensors,
} from "./fixture-files";
import { buildPeftCaseModel, configFromKwargs } from "./peft-case-model";

/** The outcome of one conformance case. */
export interface CaseResult {
  readonly name: string;
  readonly status: "pass" | "fail" | "skip";
  /** First mismatch (fail) or why it was skipped. */
  readonly detail: string;
  /** Worst relative error over every tensor compared. */
  readonly worst: number;
}

export { configFromKwargs } from "./peft-case-model";

/**
 * Runs one case directory (FORMAT.md layout): builds the model and adapters,
 * loads PEFT's saved weights, and compares everything in `expected.json` and
 * `expected.safetensors`. Cases with an unregistered adapter type are skipped.
 */
export function runCase(caseDir: string, registry: AdapterRegistry): CaseResult {
  const c = readJson<CaseJson>(join(caseDir, "case.json"));
  const missing = c.adapters.map((a) => a.peft_type).filter((t) => registry.find(t) === undefined);
  if (missing.length > 0) {
    return {
      name: c.name,
      status: "skip",
      detail: `no registered variant for ${[...new Set(missing)].join(", ")}`,
      worst: 0,
    };
  }
  let worst = 0;
  const close = (what: string, ours: Tensor<Float32Array>, peft: Tensor<Float32Array> | undefined) => {
    worst = Math.max(worst, expectClose(what, ours, peft));
  };
  try {
    const exp = readJson<ExpectedJson>(join(caseDir, "expected.json"));
    const inputs = readInputs(join(caseDir, "inputs.safetensors"));
    const expected = readTensors(join(caseDir, "expected.safetensors"));
    const { peft, base } = buildPeftCaseModel(caseDir, registry);
    const createWarnings = [...peft.warnings];

    expectEqual("adapters", [...peft.peftConfig.keys()], exp.adapters);
    expectEqual("targeted_modules", peft.targetedModules, exp.targeted_modules);

    // structure per module and adapter
    for (const [mod, em] of Object.entries(exp.modules)) {
      const layer = peft.model.getSubmodule(mod);
      if (!(layer instanceof LycorisLayer)) throw new Mismatch(`${mod}: not adapted`);
      expectEqual(`${mod}.weight_shape`, layer.geometry.weightShape, em.weight_shape);
      expectEqual(`${mod}.adapters`, layer.adapterNames.sort(), Object.keys(em.adapters).sort());
      for (const [name, ea] of Object.entries(em.adapters)) {
        const a = layer.adapter(name)!;
        expectEqual(`${mod}/${name}.peft_type`, a.variant.peftType, ea.peft_type);
        expectEqual(`${mod}/${name}.r`, a.ctx.r, ea.r);
        expectEqual(`${mod}/${name}.alpha`, a.ctx.alpha, ea.alpha);
        if (Math.abs(a.scaling - ea.scaling) > 1e-12 * Math.max(1, Math.abs(ea.scaling))) {
          throw new Mismatch(`${mod}/${name}.scaling: ours ${a.scaling}, PEFT ${ea.scaling}`);
        }
        const layout = a.variant.parameterLayout(a.ctx);
        expectEqual(
          `${mod}/${name}.params`,
          Object.fromEntries(layout.params.map(([n, s]) => [n, [...s]])),
          ea.params,
        );
        expectEqual(
          `${mod}/${name}.param order`,
          layout.params.map(([n]) => n),
          Object.keys(ea.params),
        );
        const n = layout.params.reduce((acc, [, s]) => acc + s.reduce((x, y) => x * y, 1), 0);
        expectEqual(`${mod}/${name}.num_params`, n, ea.num_params);
        const st = layout.structure ?? {};
        for (const [k, v] of Object.entries(ea.structure ?? {}))
          expectEqual(`${mod}/${name}.structure.${k}`, st[k], v);
        for (const k of ["fan_in_fan_out", "use_rslora"] as const) {
          if (ea[k] !== undefined) expectEqual(`${mod}/${name}.${k}`, st[k], ea[k]);
        }
        if (ea.factorization) {
          expectEqual(`${mod}/${name}.factorization`, { out: st.out, in: st.in }, ea.factorization);
        }
      }
    }

    // parameter counts, before the active set changes
    const counts = peft.getNbTrainableParameters();
    expectEqual("trainable_params", counts.trainable, exp.trainable_params);
    expectEqual("all_params", counts.all, exp.all_params);
    expectEqual("trainable_params_line", peft.printTrainableParameters(null), exp.trainable_params_line);
    expectEqual(
      "modules_to_save",
      [...new Set(c.adapters.flatMap((a) => peft.modulesToSaveOf(a.name)))],
      exp.modules_to_save,
    );

    // load PEFT's saved weights; our saved keys must be PEFT's
    for (const a of c.adapters) {
      const dir = adapterDir(caseDir, a.name);
      const weights = readTensors(join(dir, "adapter_model.safetensors"));
      loadAdapterStateDict(peft, a.name, weights);
      const keys = [...adapterStateDict(peft, a.name).keys()];
      const peftKeys = exp.state_dict_keys[a.name] ?? [];
      expectEqual(`state_dict_keys.${a.name}`, keys, peftKeys);
      expectEqual(`adapter file keys.${a.name}`, [...keys].sort(), [...weights.keys()].sort());
      if (!exists(join(dir, "adapter_config.json")))
        throw new Mismatch(`${dir}: adapter_config.json missing`);
      const peftConfig = readJson(join(dir, "adapter_config.json"));
      expectSameConfig(
        `adapter_config.json of ${a.name}`,
        peft.peftConfig.get(a.name)!,
        peft.resolvedTargetModulesOf(a.name),
        peftConfig,
      );
      // PEFT's saved config loads here.
      configFromKwargs(registry, a.peft_type, peftConfig);
    }

    const saveWarnings = peft.warnings.slice(createWarnings.length);
    const expectedWarnings = (phase: string) =>
      (exp.warnings ?? []).filter((w) => w.phase === phase).map((w) => w.message);
    expectWarnings("warnings (create)", createWarnings, expectedWarnings("create"));
    // PEFT warns once per save; we saved once per adapter above.
    expectWarnings("warnings (save)", [...new Set(saveWarnings)], [...new Set(expectedWarnings("save"))]);

    const active = c.active_adapters ?? [c.adapters[0]!.name];
    expectEqual("active_adapters", active, exp.active_adapters);
    peft.setAdapter(active);

    const layers = [...peft.adapterLayers()];
    for (const [mod, layer] of layers) {
      const x = inputs.get(mod);
      if (x === undefined) throw new Mismatch(`inputs.safetensors has no input for ${mod}`);
      for (const name of layer.adapterNames) {
        const deltaError = exp.modules[mod]?.adapters[name]?.delta_error;
        if (deltaError) expectThrows(`delta/${name}/${mod}`, () => layer.getDeltaWeight(name), deltaError);
        else close(`delta/${name}/${mod}`, layer.getDeltaWeight(name), expected.get(`delta/${name}/${mod}`));
        close(
          `adapter_out/${name}/${mod}`,
          layer.adapterOutput(name, x),
          expected.get(`adapter_out/${name}/${mod}`),
        );
      }
      close(`base_forward/${mod}`, layer.baseLayer.forward(x), expected.get(`base_forward/${mod}`));
      close(`forward/${mod}`, layer.forward(x), expected.get(`forward/${mod}`));
    }

    if (exp.merge_error) {
      expectThrows("merge", () => peft.mergeAndUnload(), exp.merge_error);
      return { name: c.name, status: "pass", detail: "", worst };
    }
    peft.merge();
    for (const [mod, layer] of layers) {
      close(`merged/${mod}.weight`, layer.baseLayer.weight.data, expected.get(`merged/${mod}.weight`));
      close(`merged_forward/${mod}`, layer.forward(inputs.get(mod)!), expected.get(`merged_forward/${mod}`));
    }
    peft.unmerge();
    for (const [mod, layer] of layers) {
      close(`unmerged/${mod}.weight`, layer.baseLayer.weight.data, expected.get(`unmerged/${mod}.weight`));
    }

    const merged = peft.mergeAndUnload();
    for (const s of exp.modules_to_save) {
      for (const [k, t] of merged.getSubmodule(s).stateDict())
        close(`merged/${s}.${k}`, t, expected.get(`merged/${s}.${k}`));
    }
    const mergedKeys = [...merged.stateDict().keys()];
    if (exp.merged_state_dict_keys_equal_base !== null) {
      expectEqual("merged state dict keys", [...mergedKeys].sort(), [...base.keys()].sort());
    }
    return { name: c.name, status: "pass", detail: "", worst };
  } catch (error) {
    const message = error instanceof Error ? `${error.constructor.name}: ${error.message}` : String(error);
    return {
      name: c.name,
      status: "fail",
      detail: message,
      worst: error instanceof Mismatch ? error.worst : worst,
    };
  }
}

/**
 * Where PEFT raised (a grouped conv's ΔW or merge), ours must raise a typed error. PEFT's message is
 * compared only for PEFT's own errors (not torch's internal ones, `RuntimeError`).
 */
function expectThrows(what: string, f: () => unknown, peft: { exception: string; message: string }): void {
  try {
    f();
  } catch (error) {
    const kind = (error as { kind?: unknown }).kind;
    if (typeof kind !== "string") throw new Mismatch(`${what}: raised an untyped error (${String(error)})`);
    const message = error instanceof Error ? error.message : "";
    if (peft.exception !== "RuntimeError" && !message.includes(peft.message)) {
      throw new Mismatch(`${what}: message "${message}" lacks PEFT's "${peft.message}"`);
    }
    return;
  }
  throw new Mismatch(`${what}: no error raised; PEFT raised ${peft.exception}: ${peft.message}`);
}
