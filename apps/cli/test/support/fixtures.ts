import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

/** The PEFT conformance fixtures (see fixtures/peft/FORMAT.md). */
export const FIXTURES = fileURLToPath(new URL("../../../../fixtures/peft/", import.meta.url));

/** One fixture case directory. */
export interface FixtureCase {
  readonly name: string;
  readonly dir: string;
  readonly adapterDir: string;
  readonly base: string;
  readonly expectedTensors: string;
  readonly expected: ExpectedJson;
  /** `case.json`'s `active_adapters` (`null`: only "default"). */
  readonly activeAdapters: readonly string[] | null;
}

/** The parts of expected.json the CLI tests use. */
export interface ExpectedJson {
  readonly adapters: readonly string[];
  readonly active_adapters: readonly string[];
  readonly modules: Readonly<
    Record<
      string,
      {
        readonly kind: string;
        readonly weight_shape: readonly number[];
        readonly adapters: Readonly<
          Record<
            string,
            {
              readonly peft_type: string;
              readonly r: number;
              readonly alpha: number;
              readonly scaling: number;
              readonly params: Readonly<Record<string, readonly number[]>>;
              readonly num_params: number;
              readonly structure: Readonly<Record<string, string | boolean>>;
            }
          >
        >;
      }
    >
  >;
  readonly modules_to_save: readonly string[];
  readonly state_dict_keys: Readonly<Record<string, readonly string[]>>;
}

/** Every case with a saved adapter, sorted by name. */
export function fixtureCases(): FixtureCase[] {
  return readdirSync(FIXTURES, { withFileTypes: true })
    .filter((e) => e.isDirectory() && existsSync(join(FIXTURES, e.name, "adapter", "adapter_config.json")))
    .map((e) => e.name)
    .sort()
    .map((name) => {
      const dir = join(FIXTURES, name);
      const caseJson = JSON.parse(readFileSync(join(dir, "case.json"), "utf8")) as {
        active_adapters: string[] | null;
      };
      return {
        name,
        dir,
        adapterDir: join(dir, "adapter"),
        base: join(dir, "base.safetensors"),
        expectedTensors: join(dir, "expected.safetensors"),
        expected: JSON.parse(readFileSync(join(dir, "expected.json"), "utf8")) as ExpectedJson,
        activeAdapters: caseJson.active_adapters,
      };
    });
}

/** The directory of adapter `name` in a case's adapter directory. */
export function adapterDirOf(c: FixtureCase, name: string): string {
  return name === "default" ? c.adapterDir : join(c.adapterDir, name);
}
