import { type Tensor, tensor } from "@lycoris-ts/kernels";
import { checkGradShape, checkInput, checkInt } from "./layer-utils";
import { ModelError } from "./model-error";
import { Module } from "./module";

/** Window options shared by {@link MaxPool2d} and {@link AvgPool2d}. */
export interface Pool2dOptions {
  /** Step between windows (default: the kernel size). */
  readonly stride?: number | readonly [number, number];
  /** Implicit padding on each side (default 0; at most half the kernel). */
  readonly padding?: number | readonly [number, number];
}

interface Geometry {
  readonly n: number;
  readonly c: number;
  readonly h: number;
  readonly w: number;
  readonly oh: number;
  readonly ow: number;
  readonly unbatched: boolean;
}

/** Common window bookkeeping of the 2-D pooling layers (floor mode, no dilation). */
export abstract class Pool2dBase extends Module {
  readonly kernelSize: readonly [number, number];
  readonly stride: readonly [number, number];
  readonly padding: readonly [number, number];
  readonly #name: string;

  protected constructor(name: string, kernelSize: number | readonly [number, number], o: Pool2dOptions) {
    super();
    this.#name = name;
    this.kernelSize = pair(kernelSize);
    this.stride = pair(o.stride ?? this.kernelSize);
    this.padding = pair(o.padding ?? 0);
    for (let i = 0; i < 2; i++) {
      checkInt(name, "kernelSize", this.kernelSize[i]!, 1);
      checkInt(name, "stride", this.stride[i]!, 1);
      checkInt(name, "padding", this.padding[i]!, 0);
      if (this.padding[i]! * 2 > this.kernelSize[i]!) {
        throw new ModelError(
          "invalid_hyperparameter",
          `${name}: padding must be at most half the kernel size`,
          {
            field: "padding",
            expected: `<= ${Math.floor(this.kernelSize[i]! / 2)}`,
            received: String(this.padding[i]),
          },
        );
      }
    }
  }

  protected geometry(x: Tensor<Float32Array>): Geometry {
    checkInput(this.#name, x, [3, 4], -3, null);
    const unbatched = x.shape.length === 3;
    const [n, c, h, w] = unbatched ? [1, ...x.shape] : x.shape;
    const oh = Math.floor((h! + 2 * this.padding[0] - this.kernelSize[0]) / this.stride[0]) + 1;
    const ow = Math.floor((w! + 2 * this.padding[1] - this.kernelSize[1]) / this.stride[1]) + 1;
    if (oh < 1 || ow < 1) {
      throw new ModelError("invalid_input", `${this.#name}: input ${h}x${w} is smaller than the window`, {
        field: "input",
        expected: `at least ${this.kernelSize.join("x")} after padding`,
        received: `${h}x${w}`,
      });
    }
    return { n: n!, c: c!, h: h!, w: w!, oh, ow, unbatched };
  }

  protected outShape(g: Geometry): number[] {
    return g.unbatched ? [g.c, g.oh, g.ow] : [g.n, g.c, g.oh, g.ow];
  }
}

function pair(v: number | readonly number[]): readonly [number, number] {
  if (typeof v === "number") return [v, v];
  return [v[0]!, v[1] ?? v[0]!];
}

/** 2-D max pooling, as torch `nn.MaxPool2d` (floor mode); the gradient goes to each window's first maximum. */
export class MaxPool2d extends Pool2dBase {
  readonly kind = "maxpool2d";
  #argmax: Int32Array | null = null;

  constructor(kernelSize: number | readonly [number, number], o: Pool2dOptions = {}) {
    super("MaxPool2d", kernelSize, o);
  }

  override forward(x: Tensor<Float32Array>): Tensor<Float32Array> {
    const g = this.geometry(x);
    const out = new Float32Array(g.n * g.c * g.oh * g.ow);
    const arg = new Int32Array(out.length);
    const [kh, kw] = this.kernelSize;
    const [sh, sw] = this.stride;
    const [ph, pw] = this.padding;
    let o = 0;
    for (let p = 0; p < g.n * g.c; p++) {
      const base = p * g.h * g.w;
      for (let i = 0; i < g.oh; i++) {
        for (let j = 0; j < g.ow; j++) {
          let best = Number.NEGATIVE_INFINITY;
          let bestIdx = -1;
          for (let a = 0; a < kh; a++) {
            const r = i * sh - ph + a;
            if (r < 0 || r >= g.h) continue;
            for (let b = 0; b < kw; b++) {
              const col = j * sw - pw + b;
              if (col < 0 || col >= g.w) continue;
              const idx = base + r * g.w + col;
              const v = x.data[idx]!;
              if (v > best || Number.isNaN(v) || bestIdx < 0) {
                best = v;
                bestIdx = idx;
                if (Number.isNaN(v)) break;
              }
            }
          }
          out[o] = best;
          arg[o] = bestIdx;
          o++;
        }
      }
    }
    this.saveInput(x);
    this.#argmax = this.training || this.keepInputs ? arg : null;
    return tensor(out, this.outShape(g));
  }

  override backward(dy: Tensor<Float32Array>): Tensor<Float32Array> {
    const x = this.savedInput();
    const g = this.geometry(x);
    checkGradShape("MaxPool2d", dy, this.outShape(g));
    const arg = this.#argmax!;
    const dx = new Float32Array(x.data.length);
    for (let o = 0; o < arg.length; o++) dx[arg[o]!]! += dy.data[o]!;
    return tensor(dx, x.shape);
  }
}

/** Options of {@link AvgPool2d}. */
export interface AvgPool2dOptions extends Pool2dOptions {
  /** Count padded zeros in the average (default true, as torch). */
  readonly countIncludePad?: boolean;
}

/** 2-D average pooling, as torch `nn.AvgPool2d` (floor mode). */
export class AvgPool2d extends Pool2dBase {
  readonly kind = "avgpool2d";
  readonly countIncludePad: boolean;

  constructor(kernelSize: number | readonly [number, number], o: AvgPool2dOptions = {}) {
    super("AvgPool2d", kernelSize, o);
    this.countIncludePad = o.countIncludePad ?? true;
  }

  override forward(x: Tensor<Float32Array>): Tensor<Float32Array> {
    const g = this.geometry(x);
    const out = new Float32Array(g.n * g.c * g.oh * g.ow);
    this.#visit(g, (o, idx, inv) => {
      out[o]! += x.data[idx]! * inv;
    });
    this.saveInput(x);
    return tensor(out, this.outShape(g));
  }

  override backward(dy: Tensor<Float32Array>): Tensor<Float32Array> {
    const x = this.savedInput();
    const g = this.geometry(x);
    checkGradShape("AvgPool2d", dy, this.outShape(g));
    const dx = new Float32Array(x.data.length);
    this.#visit(g, (o, idx, inv) => {
      dx[idx]! += dy.data[o]! * inv;
    });
    return tensor(dx, x.shape);
  }

  /** Calls `f(outputIndex, inputIndex, 1/divisor)` for every in-bounds window element. */
  #visit(g: Geometry, f: (o: number, idx: number, inv: number) => void): void {
    const [kh, kw] = this.kernelSize;
    const [sh, sw] = this.stride;
    const [ph, pw] = this.padding;
    let o = 0;
    for (let p = 0; p < g.n * g.c; p++) {
      const base = p * g.h * g.w;
      for (let i = 0; i < g.oh; i++) {
        for (let j = 0; j < g.ow; j++) {
          const r0 = i * sh - ph;
          const c0 = j * sw - pw;
          const r1 = Math.min(r0 + kh, g.h + ph);
          const c1 = Math.min(c0 + kw, g.w + pw);
          const padded = (r1 - r0) * (c1 - c0);
          const rs = Math.max(r0, 0);
          const cs = Math.max(c0, 0);
          const re = Math.min(r1, g.h);
          const ce = Math.min(c1, g.w);
          const inv = 1 / (this.countIncludePad ? padded : (re - rs) * (ce - cs));
          for (let r = rs; r < re; r++) {
            for (let c = cs; c < ce; c++) f(o, base + r * g.w + c, inv);
          }
          o++;
        }
      }
    }
  }
}
