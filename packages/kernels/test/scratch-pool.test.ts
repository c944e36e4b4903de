import { describe, expect, it } from "vitest";
import { KernelsError, ScratchPool } from "../src/index";

describe("ScratchPool", () => {
  it("hands out a slot's prefix, reuses it while it is long enough, grows it when not", () => {
    const pool = new ScratchPool().reserve(10);
    const a = pool.take(4);
    expect(a.length).toBe(4);
    a.fill(7);
    const b = pool.take(10);
    expect(b.buffer).toBe(a.buffer);
    expect(b[0]).toBe(7); // contents are left over, not cleared
    const c = pool.take(11);
    expect(c.buffer).not.toBe(a.buffer);
    expect(pool.capacity).toBe(11);
  });

  it("slots never share memory", () => {
    const pool = new ScratchPool().reserve(8, 2);
    expect(pool.take(8, 0).buffer).not.toBe(pool.take(8, 1).buffer);
    expect(pool.capacity).toBe(16);
    expect(pool.take(3, 3).length).toBe(3);
    expect(pool.capacity).toBe(19);
  });

  it("a bad size or slot is a KernelsError", () => {
    const pool = new ScratchPool();
    expect(() => pool.take(-1)).toThrow(KernelsError);
    expect(() => pool.take(2.5)).toThrow(/ScratchPool: size and slot must be non-negative integers/);
    expect(() => pool.take(2, -1)).toThrow(KernelsError);
  });
});
