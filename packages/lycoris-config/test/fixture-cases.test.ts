import { describe, expect, it } from "vitest";
import {
  adapterConfigToJson,
  isModuleToSave,
  type LycorisConfig,
  matchesNameOrSuffix,
  parseAdapterConfigJson,
  parseModelDescription,
  resolveRankAndAlpha,
  selectTargetModules,
  type TargetSelection,
} from "../src/index";
import {
  configFromKwargs,
  type FixtureAdapter,
  FixtureVariantConfig,
  readJson,
  readText,
} from "./fixture-helpers";

interface IndexJson {
  readonly cases: readonly { readonly name: string }[];
}
interface CaseJson {
  readonly adapters: readonly FixtureAdapter[];
}
interface ExpectedAdapter {
  readonly r: number;
  readonly alpha: number;
  readonly scaling: number;
}
interface ExpectedJson {
  readonly adapters: readonly string[];
  readonly targeted_modules: readonly string[];
  readonly modules: Readonly<
    Record<string, { readonly adapters: Readonly<Record<string, ExpectedAdapter>> }>
  >;
  readonly modules_to_save: readonly string[];
  readonly adapter_files: Readonly<Record<string, { readonly config: string }>>;
}

interface BuiltAdapter {
  readonly name: string;
  readonly config: FixtureVariantConfig;
  readonly selection: TargetSelection;
}

/** Bookkeeping fields FORMAT.md puts outside the behaviour under test. */
const BOOKKEEPING = ["peft_version", "auto_mapping", "base_model_name_or_path", "revision"];

const index = readJson<IndexJson>("index.json");

describe.each(index.cases.map((c) => c.name))("PEFT case %s", (caseName) => {
  const testCase = readJson<CaseJson>(`${caseName}/case.json`);
  const model = parseModelDescription(readJson(`${caseName}/model.json`));
  const expected = readJson<ExpectedJson>(`${caseName}/expected.json`);
  const names = model.modules.map((m) => m.name);

  // built lazily, so that a selection error fails the tests of this case instead of the whole file
  let built: BuiltAdapter[] | undefined;
  const getAdapters = () => {
    built ??= testCase.adapters.map((a) => {
      const config = configFromKwargs(a.peft_type, a.config);
      return { name: a.name, config, selection: selectTargetModules(config, model) };
    });
    return built;
  };

  it("selects PEFT's targeted_modules (union over adapters, PEFT's order)", () => {
    const adapters = getAdapters();
    const union: string[] = [];
    for (const { selection } of adapters) {
      for (const t of selection.targets) if (!union.includes(t)) union.push(t);
    }
    expect(union).toEqual(expected.targeted_modules);
  });

  it("gives every adapted module PEFT's r, alpha and scaling (exact: same integers, same float64 division)", () => {
    const adapters = getAdapters();
    for (const [moduleName, module] of Object.entries(expected.modules)) {
      for (const [adapterName, want] of Object.entries(module.adapters)) {
        const adapter = adapters.find((a) => a.name === adapterName);
        expect(adapter?.selection.targets).toContain(moduleName);
        const got = resolveRankAndAlpha(adapter?.config as LycorisConfig, moduleName);
        expect({ r: got.r, alpha: got.alpha, scaling: got.alpha / got.r }).toEqual({
          r: want.r,
          alpha: want.alpha,
          scaling: want.scaling,
        });
      }
    }
    // and no adapter adapts a module PEFT left alone
    for (const { name, selection } of adapters) {
      for (const t of selection.targets) expect(expected.modules[t]?.adapters[name]).toBeDefined();
    }
  });

  it("wraps PEFT's modules_to_save", () => {
    const adapters = getAdapters();
    const wrapped: string[] = [];
    for (const n of names) {
      if (wrapped.some((w) => n.startsWith(`${w}.`))) continue;
      if (adapters.some((a) => isModuleToSave(a.config, n))) wrapped.push(n);
    }
    expect(wrapped).toEqual(expected.modules_to_save);
  });

  describe.each(testCase.adapters.map((a) => a.name))("adapter %s: adapter_config.json", (adapterName) => {
    const getAdapter = () => getAdapters().find((a) => a.name === adapterName) as BuiltAdapter;
    const path = expected.adapter_files[adapterName]?.config as string;
    const peftText = readText(`${caseName}/${path}`);
    const peft = JSON.parse(peftText) as Record<string, unknown>;

    const selects = (list: unknown) =>
      typeof list === "string" || list === null
        ? list
        : names.filter((n) => matchesNameOrSuffix(n, list as string[]));

    it("equals PEFT's in every behavioural field (target/exclude lists as sets)", () => {
      const adapter = getAdapter();
      const ours = JSON.parse(
        adapterConfigToJson(adapter.config, {
          resolvedTargetModules: adapter.selection.resolvedTargetModules,
        }),
      ) as Record<string, unknown>;
      const keys = [...new Set([...Object.keys(peft), ...Object.keys(ours)])].filter(
        (k) => !BOOKKEEPING.includes(k),
      );
      for (const key of keys) {
        const a = ours[key];
        const b = peft[key];
        if ((key === "target_modules" || key === "exclude_modules") && Array.isArray(a) && Array.isArray(b)) {
          expect([...a].sort(), key).toEqual([...b].sort());
          expect(selects(a), `${key} selects the same modules`).toEqual(selects(b));
        } else {
          expect(a, key).toEqual(b);
        }
      }
    });

    it("is byte-identical once bookkeeping values and set order are aligned", () => {
      const adapter = getAdapter();
      const { options } = parseAdapterConfigJson(peftText);
      const bookkeeping = Object.fromEntries(
        ["peftVersion", "autoMapping", "baseModelNameOrPath", "revision"].map((k) => [k, options[k]]),
      );
      const kwargs = testCase.adapters.find((a) => a.name === adapterName) as FixtureAdapter;
      const { options: caseOptions } = parseAdapterConfigJson({
        ...kwargs.config,
        peft_type: kwargs.peft_type,
      });
      const aligned = new FixtureVariantConfig(kwargs.peft_type, { ...caseOptions, ...bookkeeping });
      const resolved = adapter.selection.resolvedTargetModules;
      const peftTargets = peft.target_modules;
      const targets =
        Array.isArray(resolved) &&
        Array.isArray(peftTargets) &&
        [...resolved].sort().join() === [...peftTargets].sort().join()
          ? peftTargets
          : resolved;
      // exclude_modules order comes from the config; PEFT writes its set in hash order
      const text = adapterConfigToJson(aligned, { resolvedTargetModules: targets as string[] });
      const peftExclude = peft.exclude_modules;
      const alignedText = Array.isArray(peftExclude)
        ? text.replace(
            /"exclude_modules": \[[^\]]*\]/,
            `"exclude_modules": ${JSON.stringify(peftExclude, null, 2).replace(/\n/g, "\n  ")}`,
          )
        : text;
      expect(alignedText).toBe(peftText);
    });

    it("round-trips PEFT's file: parse → config → write gives the same text", () => {
      const { peftType, options } = parseAdapterConfigJson(peftText);
      const config = new FixtureVariantConfig(peftType, options);
      expect(adapterConfigToJson(config)).toBe(peftText);
    });
  });
});
