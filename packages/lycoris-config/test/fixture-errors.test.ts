import { describe, expect, it } from "vitest";
import { LycorisConfigError, parseModelDescription, selectTargetModules } from "../src/index";
import { configFromKwargs, type FixtureAdapter, normalizePythonMessage, readJson } from "./fixture-helpers";

interface ErrorCase {
  readonly name: string;
  readonly error_kind: string;
  readonly adapters: readonly FixtureAdapter[];
  readonly model: unknown;
  readonly stage: "config" | "inject" | "add_adapter";
  readonly failing_adapter: string;
  readonly message: string;
}

/** Raised by the adapter runtime (adding a second adapter to a model), not by config or selection. */
const RUNTIME_KINDS = ["mixed_peft_types", "duplicate_adapter_name"];

const { errors } = readJson<{ errors: readonly ErrorCase[] }>("errors.json");

function catchError(run: () => unknown): LycorisConfigError {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(LycorisConfigError);
    return error as LycorisConfigError;
  }
  throw new Error("expected a LycorisConfigError, but nothing was thrown");
}

/** Builds every adapter up to the failing one and selects its targets, as PEFT's get_peft_model/add_adapter. */
function runUntilFailure(entry: ErrorCase): void {
  const model = entry.model === null ? null : parseModelDescription(entry.model);
  for (const adapter of entry.adapters) {
    const config = configFromKwargs(adapter.peft_type, adapter.config);
    if (entry.stage === "config") continue;
    if (model) selectTargetModules(config, model);
    if (adapter.name === entry.failing_adapter) return;
  }
}

describe.each(errors.filter((e) => !RUNTIME_KINDS.includes(e.error_kind)).map((e) => [e.name, e] as const))(
  "PEFT error %s",
  (_, entry) => {
    it(`raises ${entry.error_kind} with PEFT's message (set element order normalised)`, () => {
      const error = catchError(() => runUntilFailure(entry));
      expect(error.kind).toBe(entry.error_kind);
      expect(normalizePythonMessage(error.message)).toBe(normalizePythonMessage(entry.message));
      expect(error.field).not.toBe("");
      expect(error.expected).not.toBe("");
    });
  },
);

describe.each(errors.filter((e) => RUNTIME_KINDS.includes(e.error_kind)).map((e) => [e.name, e] as const))(
  "PEFT runtime error %s (raised by the runtime package)",
  (_, entry) => {
    it("has configs and selections that are valid one by one", () => {
      const model = parseModelDescription(entry.model);
      for (const adapter of entry.adapters) {
        const config = configFromKwargs(adapter.peft_type, adapter.config);
        expect(selectTargetModules(config, model).targets.length).toBeGreaterThan(0);
      }
    });
  },
);
