import type { ConvGrads, ConvOptions, PaddingMode, Tensor } from "@lycoris-ts/kernels";
import { formatShape, tensor } from "@lycoris-ts/kernels";
import { ConvLayer, type ConvModuleOptions } from "./conv";
import { ModelError } from "./model-error";

/**
 * A 3-D convolution, as torch `nn.Conv3d`: input `[N, C, D, H, W]`, weight
 * `[out, in/groups, kd, kh, kw]`. The kernels have no 3-D convolution, so this
 * layer computes directly (plain loops; fine for small volumes). Adapters do not
 * wrap it (PEFT's LoKr/LoHa reject Conv3d), so it is not a `ConvNd`.
 */
export class Conv3d extends ConvLayer {
  readonly kind = "conv3d";

  constructor(
    inChannels: number,
    outChannels: number,
    kernelSize: number | readonly number[],
    o: ConvModuleOptions = {},
  ) {
    super("Conv3d", 3, inChannels, outChannels, kernelSize, o);
  }

  protected override run(x: Tensor<Float32Array>, w: Tensor<Float32Array>, b: Tensor<Float32Array> | null) {
    const g = geometry(x, w, this.convOptions);
    const y = new Float64Array(g.outSize);
    visit(g, (yi, xi, wi) => {
      y[yi]! += x.data[xi]! * w.data[wi]!;
    });
    if (b !== null) {
      const inner = g.outSize / (g.n * g.o);
      for (let i = 0; i < y.length; i++) y[i]! += b.data[Math.floor(i / inner) % g.o]!;
    }
    return tensor(Float32Array.from(y), [g.n, g.o, ...g.out]);
  }

  protected override runBackward(
    x: Tensor<Float32Array>,
    w: Tensor<Float32Array>,
    dy: Tensor<Float32Array>,
  ): ConvGrads<Float32Array> {
    const g = geometry(x, w, this.convOptions);
    if (dy.data.length !== g.outSize) {
      const want = [g.n, g.o, ...g.out];
      throw new ModelError(
        "invalid_input",
        `Conv3d backward expects dy ${formatShape(want)}, got ${formatShape(dy.shape)}`,
        {
          field: "dy",
          expected: formatShape(want),
          received: formatShape(dy.shape),
        },
      );
    }
    const dx = new Float64Array(x.data.length);
    const dw = new Float64Array(w.data.length);
    visit(g, (yi, xi, wi) => {
      const d = dy.data[yi]!;
      dx[xi]! += d * w.data[wi]!;
      dw[wi]! += d * x.data[xi]!;
    });
    const db = new Float64Array(g.o);
    const inner = g.outSize / (g.n * g.o);
    for (let i = 0; i < dy.data.length; i++) db[Math.floor(i / inner) % g.o]! += dy.data[i]!;
    return {
      dx: tensor(Float32Array.from(dx), x.shape),
      dw: tensor(Float32Array.from(dw), w.shape),
      db: tensor(Float32Array.from(db), [g.o]),
    };
  }
}

interface Geometry {
  readonly n: number;
  readonly c: number;
  readonly o: number;
  readonly cg: number;
  readonly groups: number;
  readonly sp: readonly number[];
  readonly k: readonly number[];
  readonly stride: readonly number[];
  readonly dilation: readonly number[];
  readonly padBefore: readonly number[];
  readonly out: readonly number[];
  readonly outSize: number;
  readonly mode: PaddingMode;
}

function geometry(x: Tensor<Float32Array>, w: Tensor<Float32Array>, o: ConvOptions): Geometry {
  const sp = x.shape.slice(2);
  const k = w.shape.slice(2);
  const before: number[] = [];
  const after: number[] = [];
  for (let i = 0; i < 3; i++) {
    if (o.padding === "valid") {
      before.push(0);
      after.push(0);
    } else if (o.padding === "same") {
      const total = o.dilation[i]! * (k[i]! - 1);
      before.push(Math.floor(total / 2));
      after.push(total - Math.floor(total / 2));
    } else {
      before.push(o.padding[i]!);
      after.push(o.padding[i]!);
    }
  }
  const out = sp.map(
    (s, i) => Math.floor((s + before[i]! + after[i]! - o.dilation[i]! * (k[i]! - 1) - 1) / o.stride[i]!) + 1,
  );
  if (out.some((v) => v < 1)) {
    throw new ModelError("invalid_input", `Conv3d input ${formatShape(x.shape)} is smaller than the kernel`, {
      field: "input",
      expected: "spatial size >= dilated kernel after padding",
      received: formatShape(x.shape),
    });
  }
  const n = x.shape[0]!;
  const oc = w.shape[0]!;
  return {
    n,
    c: x.shape[1]!,
    o: oc,
    cg: w.shape[1]!,
    groups: o.groups,
    sp,
    k,
    stride: o.stride,
    dilation: o.dilation,
    padBefore: before,
    out,
    outSize: n * oc * out.reduce((a, b) => a * b, 1),
    mode: o.paddingMode,
  };
}

/** torch's padding rule for one coordinate (-1: a zero). */
function source(i: number, size: number, mode: PaddingMode): number {
  if (i >= 0 && i < size) return i;
  if (mode === "zeros") return -1;
  if (mode === "replicate") return i < 0 ? 0 : size - 1;
  if (mode === "circular") return ((i % size) + size) % size;
  return i < 0 ? -i : 2 * (size - 1) - i;
}

/** Calls `f(outputIndex, inputIndex, weightIndex)` for every product term of the convolution. */
function visit(g: Geometry, f: (yi: number, xi: number, wi: number) => void): void {
  const [D, H, W] = g.sp as [number, number, number];
  const [KD, KH, KW] = g.k as [number, number, number];
  const [OD, OH, OW] = g.out as [number, number, number];
  const og = g.o / g.groups;
  for (let b = 0; b < g.n; b++) {
    for (let oc = 0; oc < g.o; oc++) {
      const grp = Math.floor(oc / og);
      for (let od = 0; od < OD; od++) {
        for (let oh = 0; oh < OH; oh++) {
          for (let ow = 0; ow < OW; ow++) {
            const yi = (((b * g.o + oc) * OD + od) * OH + oh) * OW + ow;
            for (let ci = 0; ci < g.cg; ci++) {
              const xBase = (b * g.c + grp * g.cg + ci) * D;
              for (let a = 0; a < KD; a++) {
                const zd = source(od * g.stride[0]! - g.padBefore[0]! + a * g.dilation[0]!, D, g.mode);
                if (zd < 0) continue;
                for (let c = 0; c < KH; c++) {
                  const zh = source(oh * g.stride[1]! - g.padBefore[1]! + c * g.dilation[1]!, H, g.mode);
                  if (zh < 0) continue;
                  for (let e = 0; e < KW; e++) {
                    const zw = source(ow * g.stride[2]! - g.padBefore[2]! + e * g.dilation[2]!, W, g.mode);
                    if (zw < 0) continue;
                    f(yi, ((xBase + zd) * H + zh) * W + zw, (((oc * g.cg + ci) * KD + a) * KH + c) * KW + e);
                  }
                }
              }
            }
          }
        }
      }
    }
  }
}
