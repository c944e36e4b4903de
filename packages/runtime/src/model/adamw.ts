import { ModelError } from "./model-error";
import type { Parameter } from "./parameter";

/** Hyper-parameters of {@link AdamW}; defaults are torch's. */
export interface AdamWOptions {
  /** Learning rate (default 1e-3). */
  readonly lr?: number;
  /** Decay rates of the first and second moment (default [0.9, 0.999]). */
  readonly betas?: readonly [number, number];
  /** Added to the denominator (default 1e-8). */
  readonly eps?: number;
  /** Decoupled weight decay (default 1e-2). */
  readonly weightDecay?: number;
}

interface AdamState {
  step: number;
  readonly m: Float32Array;
  readonly v: Float32Array;
}

/**
 * The AdamW optimiser with torch's semantics: decoupled weight decay
 * (`p ← p·(1 − lr·wd)`), bias-corrected moments, `eps` added after the square
 * root of the corrected second moment. Parameters without a gradient, or with
 * `requiresGrad` false, are skipped (their step count does not advance).
 */
export class AdamW {
  /** Learning rate; may be changed between steps (schedules). */
  lr: number;
  readonly betas: readonly [number, number];
  readonly eps: number;
  readonly weightDecay: number;
  readonly params: readonly Parameter[];
  readonly #state = new Map<Parameter, AdamState>();

  constructor(params: Iterable<Parameter>, o: AdamWOptions = {}) {
    this.params = [...new Set(params)];
    this.lr = o.lr ?? 1e-3;
    this.betas = o.betas ?? [0.9, 0.999];
    this.eps = o.eps ?? 1e-8;
    this.weightDecay = o.weightDecay ?? 1e-2;
    const checks: [string, number, boolean][] = [
      ["lr", this.lr, this.lr >= 0],
      ["betas[0]", this.betas[0], this.betas[0] >= 0 && this.betas[0] < 1],
      ["betas[1]", this.betas[1], this.betas[1] >= 0 && this.betas[1] < 1],
      ["eps", this.eps, this.eps >= 0],
      ["weightDecay", this.weightDecay, this.weightDecay >= 0],
    ];
    for (const [name, v, ok] of checks) {
      if (!ok) {
        throw new ModelError("invalid_hyperparameter", `AdamW: invalid ${name} ${v}`, {
          field: name,
          expected: name.startsWith("betas") ? "in [0, 1)" : ">= 0",
          received: String(v),
        });
      }
    }
  }

  /** Applies one update to every parameter that has a gradient. */
  step(): void {
    const [b1, b2] = this.betas;
    for (const p of this.params) {
      const g = p.grad?.data;
      if (g === undefined || !p.requiresGrad) continue;
      const w = p.data.data;
      let st = this.#state.get(p);
      if (st === undefined) {
        st = { step: 0, m: new Float32Array(w.length), v: new Float32Array(w.length) };
        this.#state.set(p, st);
      }
      st.step += 1;
      const decay = 1 - this.lr * this.weightDecay;
      const bc1 = 1 - b1 ** st.step;
      const sqrtBc2 = Math.sqrt(1 - b2 ** st.step);
      const stepSize = this.lr / bc1;
      const { m, v } = st;
      for (let i = 0; i < w.length; i++) {
        const gi = g[i]!;
        m[i] = b1 * m[i]! + (1 - b1) * gi;
        v[i] = b2 * v[i]! + (1 - b2) * gi * gi;
        const denom = Math.sqrt(v[i]!) / sqrtBc2 + this.eps;
        const decayed = Math.fround(w[i]! * decay);
        w[i] = decayed - (stepSize * m[i]!) / denom;
      }
    }
  }

  /** Clears the gradients of the optimised parameters. */
  zeroGrad(): void {
    for (const p of this.params) p.grad = null;
  }
}
