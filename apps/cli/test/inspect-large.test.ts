import { closeSync, mkdtempSync, openSync, rmSync, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { jsonPieces, terminated, writeChunks } from "../src/render/write-chunks";
import { lines, runCli } from "./support/run-cli";

const tmp = mkdtempSync(join(tmpdir(), "lycoris-cli-large-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** A kohya LoKr file with `n` modules of 1×1 factors, written piece by piece (the header is ~37 MB for 200,000). */
function kohyaFile(n: number): string {
  const parts: string[] = [];
  let offset = 0;
  for (let i = 0; i < n; i++) {
    for (const p of ["lokr_w1", "lokr_w2"]) {
      const entry = { dtype: "F32", shape: [1, 1], data_offsets: [offset, offset + 4] };
      parts.push(`${JSON.stringify(`lora_unet_m${i}.${p}`)}:${JSON.stringify(entry)}`);
      offset += 4;
    }
  }
  let header = `{${parts.join(",")}}`;
  header += " ".repeat((8 - (header.length % 8)) % 8);
  const path = join(tmp, `kohya-${n}.safetensors`);
  const fd = openSync(path, "w");
  const length = Buffer.alloc(8);
  length.writeBigUInt64LE(BigInt(header.length));
  writeSync(fd, length);
  writeSync(fd, Buffer.from(header, "latin1"));
  writeSync(fd, Buffer.alloc(offset));
  closeSync(fd);
  return path;
}

describe("inspect handles any header the reader accepts (issue 10 item 4)", () => {
  it("a header with 200,000 modules: the text report lists them all (no spread of the module rows)", () => {
    const run = runCli(["inspect", kohyaFile(200_000)], { timeoutMs: 600_000 });
    expect(run.stderr).toBe("");
    expect(run.code).toBe(0);
    const out = lines(run.stdout);
    expect(out.at(-1)).toBe("total: 1 adapter, 200000 modules, 400000 tensors, 400,000 parameters, 1.5 MiB");
    expect(out.filter((l) => /^ {2}(lora_unet_)?m\d+ /.test(l))).toHaveLength(200_000);
  }, 600_000);

  it("the JSON report is written in bounded chunks and equals JSON.stringify(report, null, 2)", () => {
    const report = {
      path: "x",
      format: "kohya-safetensors",
      adapters: [
        {
          name: "a",
          config: { r: 4, nested: { deep: [1, [2, { three: 3 }]] }, empty: {}, none: [] },
          modules: Array.from({ length: 3000 }, (_, i) => ({
            module: `m${i}`,
            params: [{ name: "w", shape: [i, 1] }],
          })),
          skipped: undefined,
        },
      ],
      totals: { modules: 3000, bytes: 12.5, none: null },
    };
    const chunks: string[] = [];
    writeChunks((t) => chunks.push(t), terminated(jsonPieces(report), true));
    expect(chunks.join("")).toBe(`${JSON.stringify(report, null, 2)}\n`);
    expect(chunks.length).toBeGreaterThan(1);
    // a chunk is flushed once it reaches 64 KiB, so it is at most 64 KiB plus one piece (one module here)
    for (const c of chunks) expect(c.length).toBeLessThan(65_536 + 1_000);
  });
});
