import { join } from "node:path";
import { createRng, normalTensor } from "@lycoris-ts/kernels";
import { factorization, lokrVariant } from "@lycoris-ts/lokr";
import { parseModelDescription } from "@lycoris-ts/lycoris-config";
import {
  type AdapterRegistry,
  buildModelFromDescription,
  LycorisLayer,
  PeftModel,
} from "@lycoris-ts/runtime";
import { exists, readJson } from "./fixture-files";
import type { CaseResult } from "./run-case";
import { configFromKwargs } from "./run-case";

interface ErrorCase {
  readonly name: string;
  readonly error_kind: string;
  readonly adapters: ReadonlyArray<{ name: string; peft_type: string; config: Record<string, unknown> }>;
  readonly model: Record<string, unknown> | null;
  /** `forward`: the adapted layer's forward raises; `merge`: `merge_and_unload()` raises (peft-lora). */
  readonly stage: "config" | "inject" | "add_adapter" | "forward" | "merge";
  readonly failing_adapter: string;
  readonly message: string;
  /** For stage `forward`: the layer and the shape of the random float input. */
  readonly forward?: { readonly module: string; readonly input_shape: readonly number[] };
}

/** The part of PEFT's message that does not depend on Python reprs (sets, class paths, module reprs). */
export function stableMessagePart(message: string): string {
  const moduleRepr = /\b[A-Z][A-Za-z0-9_]*\(/.exec(message)?.index ?? -1;
  const cut = [message.indexOf("{"), message.indexOf("<class"), moduleRepr].filter((i) => i >= 0);
  return (cut.length > 0 ? message.slice(0, Math.min(...cut)) : message).trim();
}

/** Runs what PEFT ran after creating the adapters, for the `forward` and `merge` stages. */
function runLaterStage(e: ErrorCase, peft: PeftModel): void {
  if (e.stage === "forward" && e.forward) {
    const x = normalTensor(e.forward.input_shape, createRng(7), 1);
    peft.model.getSubmodule(e.forward.module).forward(x);
  }
  if (e.stage === "merge") peft.mergeAndUnload();
}

/** Every `errors.json` case whose adapters are all registered: the same error kind at the same stage. */
export function runErrorCases(dir: string, registry: AdapterRegistry): CaseResult[] {
  const path = join(dir, "errors.json");
  if (!exists(path)) return [];
  const { errors } = readJson<{ errors: ErrorCase[] }>(path);
  return errors.map((e): CaseResult => {
    const name = `errors/${e.name}`;
    if (e.adapters.some((a) => registry.find(a.peft_type) === undefined)) {
      return { name, status: "skip", detail: "unregistered adapter type", worst: 0 };
    }
    let stage = "config";
    try {
      const configs = e.adapters.map((a) => ({
        name: a.name,
        config: configFromKwargs(registry, a.peft_type, a.config),
      }));
      if (e.model === null) throw new Error("no model given but every config was accepted");
      const description = parseModelDescription(e.model);
      const model = buildModelFromDescription(description);
      stage = "inject";
      const [first, ...rest] = configs;
      const peft = new PeftModel(model, first!.config, first!.name, {
        registry,
        description,
        onWarning: null,
      });
      stage = "add_adapter";
      for (const a of rest) peft.addAdapter(a.name, a.config);
      peft.eval();
      if (e.stage === "forward" || e.stage === "merge") {
        stage = e.stage;
        runLaterStage(e, peft);
      }
      return {
        name,
        status: "fail",
        detail: `no error raised; PEFT raised ${e.error_kind} at ${e.stage}`,
        worst: 0,
      };
    } catch (error) {
      const kind = (error as { kind?: string }).kind;
      const message = error instanceof Error ? error.message : String(error);
      if (stage !== e.stage) {
        return {
          name,
          status: "fail",
          detail: `raised at ${stage} (${kind}: ${message}); PEFT raised at ${e.stage}`,
          worst: 0,
        };
      }
      if (kind !== e.error_kind) {
        return {
          name,
          status: "fail",
          detail: `raised ${kind ?? "an untyped error"} (${message}); PEFT: ${e.error_kind}`,
          worst: 0,
        };
      }
      const stable = stableMessagePart(e.message);
      if (!message.includes(stable)) {
        return { name, status: "fail", detail: `message "${message}" lacks PEFT's "${stable}"`, worst: 0 };
      }
      return { name, status: "pass", detail: "", worst: 0 };
    }
  });
}

type InitDistribution =
  | { readonly kind: "zeros" }
  | { readonly kind: "uniform"; readonly bound: number; readonly fan_in: number }
  | { readonly kind: "normal"; readonly mean: number; readonly std: number };

/**
 * Whether `values` look drawn from `d`: inside a uniform's bound, and sample mean and standard deviation
 * within 5 standard errors of the distribution's (uniform: sd b/√3, relative error of the sample sd
 * ≈ 0.45/√n; normal: relative error ≈ 0.71/√n). Seeded draws, so the outcome is fixed.
 */
function distributionMismatch(values: Float32Array, d: InitDistribution): string | null {
  const n = values.length;
  if (d.kind === "zeros") return values.every((v) => v === 0) ? null : "not all zero";
  let sum = 0;
  let max = 0;
  for (const v of values) {
    sum += v;
    max = Math.max(max, Math.abs(v));
  }
  const mean = sum / n;
  let sq = 0;
  for (const v of values) sq += (v - mean) ** 2;
  const sd = Math.sqrt(sq / n);
  const [wantSd, relErr] = d.kind === "uniform" ? [d.bound / Math.sqrt(3), 0.45] : [d.std, 0.71];
  if (d.kind === "uniform" && max > d.bound * (1 + 1e-6)) return `max |value| ${max} beyond bound ${d.bound}`;
  if (Math.abs(mean - (d.kind === "normal" ? d.mean : 0)) > (5 * wantSd) / Math.sqrt(n)) {
    return `mean ${mean} too far from the distribution's`;
  }
  if (Math.abs(sd - wantSd) > (5 * relErr * wantSd) / Math.sqrt(n))
    return `std ${sd}, expected about ${wantSd}`;
  return null;
}

interface InitCase {
  readonly name: string;
  readonly adapters: ReadonlyArray<{ name: string; peft_type: string; config: Record<string, unknown> }>;
  readonly model: Record<string, unknown>;
  readonly modules: Record<
    string,
    {
      params: Record<
        string,
        {
          shape: number[];
          all_zero: boolean;
          /** LoKr / LoHa fixtures. */
          kaiming_uniform_bound?: number;
          fan_in?: number;
          /** peft-lora fixtures: the rule read from PEFT's code. */
          distribution?: InitDistribution;
        }
      >;
      zero_params: string[];
      delta_all_zero: boolean;
      forward_equals_base: boolean;
    }
  >;
}

/** Every `init.json` case: which parameters start at zero, the Kaiming bound of the others, ΔW = 0 or not. */
export function runInitCases(dir: string, registry: AdapterRegistry): CaseResult[] {
  const path = join(dir, "init.json");
  if (!exists(path)) return [];
  const { cases } = readJson<{ cases: InitCase[] }>(path);
  return cases.map((ic): CaseResult => {
    const name = `init/${ic.name}`;
    if (ic.adapters.some((a) => registry.find(a.peft_type) === undefined)) {
      return { name, status: "skip", detail: "unregistered adapter type", worst: 0 };
    }
    try {
      const description = parseModelDescription(ic.model);
      const model = buildModelFromDescription(description);
      const [first] = ic.adapters;
      const peft = new PeftModel(
        model,
        configFromKwargs(registry, first!.peft_type, first!.config),
        first!.name,
        {
          registry,
          description,
          seed: 1234,
          onWarning: null,
        },
      );
      for (const [mod, em] of Object.entries(ic.modules)) {
        const layer = peft.model.getSubmodule(mod);
        if (!(layer instanceof LycorisLayer)) throw new Error(`${mod}: not adapted`);
        const params = layer.parametersOf(first!.name);
        const zeros: string[] = [];
        for (const [pname, p] of params) {
          const ep = em.params[pname];
          if (ep === undefined) throw new Error(`${mod}.${pname}: PEFT creates no such parameter`);
          const allZero = p.data.data.every((v) => v === 0);
          if (allZero) zeros.push(pname);
          if (allZero !== ep.all_zero)
            throw new Error(`${mod}.${pname}: all_zero ${allZero}, PEFT ${ep.all_zero}`);
          const max = p.data.data.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
          if (ep.distribution !== undefined) {
            const bad = distributionMismatch(p.data.data, ep.distribution);
            if (bad !== null) throw new Error(`${mod}.${pname}: ${bad} (${JSON.stringify(ep.distribution)})`);
          }
          if (
            !ep.all_zero &&
            ep.kaiming_uniform_bound !== undefined &&
            max > ep.kaiming_uniform_bound * (1 + 1e-6)
          ) {
            throw new Error(
              `${mod}.${pname}: max |value| ${max} beyond PEFT's Kaiming bound ${ep.kaiming_uniform_bound}`,
            );
          }
        }
        if (JSON.stringify(zeros.sort()) !== JSON.stringify([...em.zero_params].sort())) {
          throw new Error(`${mod}: zero params ${zeros}, PEFT ${em.zero_params}`);
        }
        const delta = layer.getDeltaWeight(first!.name);
        const deltaZero = delta.data.every((v) => v === 0);
        if (deltaZero !== em.delta_all_zero)
          throw new Error(`${mod}: delta_all_zero ${deltaZero}, PEFT ${em.delta_all_zero}`);
      }
      return { name, status: "pass", detail: "", worst: 0 };
    } catch (error) {
      return {
        name,
        status: "fail",
        detail: error instanceof Error ? error.message : String(error),
        worst: 0,
      };
    }
  });
}

/** `factorization.json` against LoKr's `factorization` (when LoKr is registered). */
export function runFactorization(dir: string, registry: AdapterRegistry): CaseResult[] {
  const path = join(dir, "factorization.json");
  if (!exists(path) || registry.find(lokrVariant.peftType) === undefined) return [];
  const table = readJson<{ rows: [number, number, number, number][]; function?: string }>(path);
  if (table.function !== undefined && !/peft/i.test(table.function)) {
    // LyCORIS' own split (fixtures/lycoris): for writers that mimic LyCORIS; PEFT's differs by design.
    return [
      {
        name: "factorization",
        status: "skip",
        detail: `not PEFT's factorization: ${table.function.slice(0, 60)}`,
        worst: 0,
      },
    ];
  }
  const { rows } = table;
  const bad = rows.filter(([d, f, m, n]) => {
    const [gm, gn] = factorization(d, f);
    return gm !== m || gn !== n;
  });
  return [
    {
      name: "factorization",
      status: bad.length === 0 ? "pass" : "fail",
      detail:
        bad.length === 0
          ? ""
          : `${bad.length}/${rows.length} rows differ, first: ${JSON.stringify(bad[0])} got ${JSON.stringify(factorization(bad[0]![0], bad[0]![1]))}`,
      worst: 0,
    },
  ];
}
