import { formatShape as shapeText } from "@lycoris-ts/kernels";
import type { ParameterProblem, ParameterShapes, ParameterStructure } from "./parameter-structure";

/** Checks a `describeParameters` hook makes on one module's shapes; the first failed check ends it. */
export interface ParameterShapeCheck {
  /** Whether the module has parameter `name`. */
  has(name: string): boolean;
  /** The shape of `name`, which must be present (`why`: the reason it is needed) with one of `ranks` dims. */
  need(name: string, ranks: readonly number[], why: string): readonly number[];
  /** The shape of `name` when present (checked to have one of `ranks` dims), else `undefined`. */
  optional(name: string, ranks: readonly number[]): readonly number[] | undefined;
  /** Requires `a[axisA] === b[axisB]`; `what` names the relation (`W1 = lokr_w1_a @ lokr_w1_b`). */
  fit(what: string, a: readonly [name: string, axis: number], b: readonly [name: string, axis: number]): void;
}

class Failed {
  constructor(readonly problem: ParameterProblem) {}
}

function shapeCheck(shapes: ParameterShapes): ParameterShapeCheck {
  const fail = (kind: ParameterProblem["kind"], message: string): never => {
    throw new Failed({ ok: false, kind, message });
  };
  const ranked = (name: string, s: readonly number[], ranks: readonly number[]) => {
    if (!ranks.includes(s.length)) {
      fail("shape_mismatch", `${name} has shape ${shapeText(s)}, expected a ${ranks.join("- or ")}-D tensor`);
    }
    return s;
  };
  const check: ParameterShapeCheck = {
    has: (name) => shapes.has(name),
    need(name, ranks, why) {
      const s = shapes.get(name);
      return s === undefined
        ? fail("missing_parameter", `missing tensor '${name}' (${why})`)
        : ranked(name, s, ranks);
    },
    optional(name, ranks) {
      const s = shapes.get(name);
      return s === undefined ? undefined : ranked(name, s, ranks);
    },
    fit(what, [an, ai], [bn, bi]) {
      const a = shapes.get(an) ?? [];
      const b = shapes.get(bn) ?? [];
      if (a[ai] !== b[bi]) {
        fail(
          "shape_mismatch",
          `${what}: ${an} ${shapeText(a)} and ${bn} ${shapeText(b)} do not fit (dim ${ai} vs dim ${bi})`,
        );
      }
    },
  };
  return check;
}

/**
 * Runs a `describeParameters` body with a {@link ParameterShapeCheck}: its result, or the problem the
 * first failed check reported (a missing tensor, factors that do not fit each other).
 */
export function describeParameterShapes(
  shapes: ParameterShapes,
  read: (check: ParameterShapeCheck) => Omit<ParameterStructure, "ok">,
): ParameterStructure | ParameterProblem {
  try {
    return { ok: true, ...read(shapeCheck(shapes)) };
  } catch (error) {
    if (error instanceof Failed) return error.problem;
    throw error;
  }
}
