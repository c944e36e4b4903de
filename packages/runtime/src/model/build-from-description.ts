import { describeValue } from "@lycoris-ts/errors";
import { createRng, formatShape, type PaddingMode, sameShape, type Tensor } from "@lycoris-ts/kernels";
import type { ModuleDescription } from "@lycoris-ts/lycoris-config";
import { Dropout, Identity, ReLU } from "./activations";
import { Container, ModuleList, Sequential } from "./containers";
import { Conv1d, Conv2d } from "./conv";
import { Conv3d } from "./conv3d";
import { Embedding } from "./embedding";
import { Flatten } from "./flatten";
import { GPT2Conv1D } from "./gpt2-conv1d";
import { LayerNorm } from "./layer-norm";
import { Linear } from "./linear";
import { ModelError } from "./model-error";
import type { Module } from "./module";
import { AvgPool2d, MaxPool2d } from "./pooling";

/**
 * One module of a model description (lycoris-config's `ModuleDescription`): a dotted `name`, a
 * `kind` and its hyper-parameters, either camelCase (`inFeatures`, as `parseModelDescription`
 * yields) or snake_case (`in_features`, as in `model.json`).
 */
export type { ModuleDescription };

/** A model description: every named module in depth-first registration order, root excluded. */
export interface ModelDescriptionLike {
  readonly modules: readonly ModuleDescription[];
  /** When present, the built model's parameters must have exactly these names and shapes, in order. */
  readonly parameters?: readonly { readonly name: string; readonly shape: readonly number[] }[];
}

/** The module kinds {@link buildModelFromDescription} can build. */
export const BUILDABLE_MODULE_KINDS: readonly string[] = [
  "container",
  "module_list",
  "sequential",
  "linear",
  "conv1d",
  "conv2d",
  "conv3d",
  "gpt2_conv1d",
  "embedding",
  "layernorm",
  "relu",
  "identity",
  "flatten",
  "maxpool2d",
  "avgpool2d",
  "dropout",
];

/**
 * Builds the exact module tree of a description (the root is an unnamed
 * {@link Container}; a missing intermediate parent is created as a container)
 * and, when `stateDict` is given, loads it strictly (torch state-dict names such
 * as `model.layers.0.self_attn.q_proj.weight`). Throws {@link ModelError}:
 * `unknown_module_kind`, `invalid_description`, `missing_key`, `unexpected_key`,
 * `shape_mismatch`. Parameters not in the state dict start at torch's neutral
 * values (zeros; LayerNorm weight ones): call `initModuleParameters` for random ones.
 */
export function buildModelFromDescription(
  desc: ModelDescriptionLike,
  stateDict?: ReadonlyMap<string, Tensor<Float32Array>>,
): Module {
  const root = new Container();
  const declaredLength = new Map<string, number>();
  for (const d of desc.modules) {
    if (typeof d.name !== "string" || d.name === "" || d.name.split(".").some((p) => p === "")) {
      throw new ModelError("invalid_description", `module name '${String(d.name)}' is not a dotted path`, {
        field: String(d.name),
        expected: "a non-empty dotted path",
        received: describeValue(d.name),
      });
    }
    const dot = d.name.lastIndexOf(".");
    const parentPath = dot < 0 ? "" : d.name.slice(0, dot);
    const parent = ensurePath(root, parentPath);
    const leaf = d.name.slice(dot + 1);
    if (parent.children().has(leaf)) {
      throw new ModelError("invalid_description", `module '${d.name}' is described twice`, { field: d.name });
    }
    parent.registerModule(leaf, createModule(d));
    if (d.kind === "module_list") declaredLength.set(d.name, int(d, "length", 0));
  }
  for (const [path, length] of declaredLength) {
    const actual = root.getSubmodule(path).children().size;
    if (actual !== length) {
      throw new ModelError(
        "invalid_description",
        `module_list '${path}' declares length ${length}, has ${actual}`,
        {
          field: path,
          expected: String(length),
          received: String(actual),
        },
      );
    }
  }
  if (desc.parameters !== undefined) checkParameters(root, desc.parameters);
  if (stateDict !== undefined) root.loadStateDict(stateDict, { strict: true });
  return root;
}

function ensurePath(root: Module, path: string): Module {
  if (path === "") return root;
  let m = root;
  for (const part of path.split(".")) {
    let next = m.children().get(part);
    if (next === undefined) {
      next = new Container();
      m.registerModule(part, next);
    }
    m = next;
  }
  return m;
}

function checkParameters(
  root: Module,
  expected: readonly { name: string; shape: readonly number[] }[],
): void {
  const actual = [...root.stateDict()].map(([name, t]) => ({ name, shape: t.shape }));
  const n = Math.max(actual.length, expected.length);
  for (let i = 0; i < n; i++) {
    const a = actual[i];
    const e = expected[i];
    if (a === undefined || e === undefined || a.name !== e.name || !sameShape(a.shape, e.shape)) {
      const field = e?.name ?? a?.name ?? "";
      throw new ModelError(
        "invalid_description",
        `parameter #${i} of the built model is ${a ? `${a.name} ${formatShape(a.shape)}` : "absent"}, the description lists ${e ? `${e.name} ${formatShape(e.shape)}` : "nothing"}`,
        {
          field,
          expected: e ? `${e.name} ${formatShape(e.shape)}` : "no parameter",
          received: a ? `${a.name} ${formatShape(a.shape)}` : "no parameter",
        },
      );
    }
  }
}

function createModule(d: ModuleDescription): Module {
  switch (d.kind) {
    case "container":
      return new Container();
    case "module_list":
      return new ModuleList();
    case "sequential":
      return new Sequential();
    case "linear":
      return new Linear(int(d, "inFeatures"), int(d, "outFeatures"), bool(d, "bias", true));
    case "conv1d":
    case "conv2d":
    case "conv3d": {
      const o = {
        stride: ints(d, "stride", 1),
        padding: padding(d),
        dilation: ints(d, "dilation", 1),
        groups: int(d, "groups", 1),
        bias: bool(d, "bias", true),
        paddingMode: str(d, "paddingMode", "zeros") as PaddingMode,
      };
      const C = d.kind === "conv1d" ? Conv1d : d.kind === "conv2d" ? Conv2d : Conv3d;
      return wrap(d, () => new C(int(d, "inChannels"), int(d, "outChannels"), ints(d, "kernelSize"), o));
    }
    case "gpt2_conv1d":
      return new GPT2Conv1D(int(d, "nf"), int(d, "nx"));
    case "embedding":
      return new Embedding(int(d, "numEmbeddings"), int(d, "embeddingDim"));
    case "layernorm":
      return wrap(
        d,
        () =>
          new LayerNorm(ints(d, "normalizedShape"), {
            eps: num(d, "eps", 1e-5),
            elementwiseAffine: bool(d, "elementwiseAffine", true),
            bias: bool(d, "bias", true),
          }),
      );
    case "relu":
      return new ReLU();
    case "identity":
      return new Identity();
    case "flatten":
      return new Flatten(int(d, "startDim", 1, true), int(d, "endDim", -1, true));
    case "maxpool2d":
    case "avgpool2d": {
      const k = pairOf(d, "kernelSize");
      const o = { stride: pairOf(d, "stride", k), padding: pairOf(d, "padding", [0, 0]) };
      return wrap(d, () =>
        d.kind === "maxpool2d"
          ? new MaxPool2d(k, o)
          : new AvgPool2d(k, { ...o, countIncludePad: bool(d, "countIncludePad", true) }),
      );
    }
    case "dropout": {
      const p = num(d, "p", 0.5);
      return wrap(d, () => new Dropout(p, createRng(int(d, "seed", 0))));
    }
    default:
      throw new ModelError(
        "unknown_module_kind",
        `module '${d.name}' has kind '${d.kind}', which this runtime cannot build (known: ${BUILDABLE_MODULE_KINDS.join(", ")})`,
        { field: d.name, expected: BUILDABLE_MODULE_KINDS.join(" | "), received: String(d.kind) },
      );
  }
}

/** Re-labels hyper-parameter errors with the module's path. */
function wrap(d: ModuleDescription, f: () => Module): Module {
  try {
    return f();
  } catch (e) {
    if (e instanceof ModelError && e.kind === "invalid_hyperparameter") {
      throw new ModelError("invalid_description", `module '${d.name}': ${e.message}`, {
        field: `${d.name}.${e.field ?? ""}`,
        ...(e.expected !== null ? { expected: e.expected } : {}),
        ...(e.received !== null ? { received: e.received } : {}),
      });
    }
    throw e;
  }
}

function snake(key: string): string {
  return key.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
}

/** The value of `key` (camelCase) or its snake_case twin; `undefined` when neither is present. */
function raw(d: ModuleDescription, key: string): unknown {
  if (d[key] !== undefined) return d[key];
  return d[snake(key)];
}

function bad(d: ModuleDescription, key: string, expected: string, v: unknown): never {
  throw new ModelError(
    "invalid_description",
    `module '${d.name}' (${d.kind}): '${key}' must be ${expected}, got ${describeValue(v)}`,
    { field: `${d.name}.${key}`, expected, received: describeValue(v) },
  );
}

function int(d: ModuleDescription, key: string, dflt?: number, allowNegative = false): number {
  const v = raw(d, key);
  if (v === undefined && dflt !== undefined) return dflt;
  if (typeof v !== "number" || !Number.isInteger(v) || (!allowNegative && v < 0)) {
    return bad(d, key, allowNegative ? "an integer" : "a non-negative integer", v);
  }
  return v;
}

function num(d: ModuleDescription, key: string, dflt: number): number {
  const v = raw(d, key);
  if (v === undefined) return dflt;
  if (typeof v !== "number" || !Number.isFinite(v)) return bad(d, key, "a finite number", v);
  return v;
}

function bool(d: ModuleDescription, key: string, dflt: boolean): boolean {
  const v = raw(d, key);
  if (v === undefined) return dflt;
  if (typeof v !== "boolean") return bad(d, key, "a boolean", v);
  return v;
}

function str(d: ModuleDescription, key: string, dflt: string): string {
  const v = raw(d, key);
  if (v === undefined) return dflt;
  if (typeof v !== "string") return bad(d, key, "a string", v);
  return v;
}

function ints(d: ModuleDescription, key: string, dflt?: number): number | number[] {
  const v = raw(d, key);
  if (v === undefined && dflt !== undefined) return dflt;
  if (typeof v === "number" && Number.isInteger(v)) return v;
  if (Array.isArray(v) && v.length > 0 && v.every((e) => typeof e === "number" && Number.isInteger(e))) {
    return v as number[];
  }
  return bad(d, key, "an integer or a list of integers", v);
}

function pairOf(
  d: ModuleDescription,
  key: string,
  dflt?: readonly [number, number],
): readonly [number, number] {
  const v = raw(d, key) === undefined && dflt !== undefined ? dflt : ints(d, key);
  if (typeof v === "number") return [v, v];
  return [v[0]!, v[1] ?? v[0]!];
}

function padding(d: ModuleDescription): number | number[] | "same" | "valid" {
  const v = raw(d, "padding");
  if (v === "same" || v === "valid") return v;
  return ints(d, "padding", 0);
}
