// Runs in headless Chromium (bundled by test/browser.test.ts from the built package): a fixture file
// read tensor by tensor from a File, rewritten to a WritableStream, and the one thing a browser
// cannot do (a path) failing with a typed error — no Node built-ins anywhere.
import {
  parseSafetensors,
  readSafetensorsSync,
  SafetensorsReader,
  SafetensorsWriter,
  serializeSafetensors,
} from "@lycoris-ts/safetensors";

export interface BrowserReport {
  names: string[];
  sums: number[];
  rewrittenEqual: boolean;
  fileAccess: string;
}

export async function run(bytes: Uint8Array): Promise<BrowserReport> {
  const reader = await SafetensorsReader.open(new File([bytes], "fixture.safetensors"));
  const names = reader.names;
  const sums: number[] = [];
  const chunks: Uint8Array[] = [];
  const floats = reader.header.tensors.filter((t) => ["F32", "F16", "BF16", "F64"].includes(t.dtype));
  const writer = await SafetensorsWriter.create(
    new WritableStream<Uint8Array>({ write: (c) => void chunks.push(c.slice()) }),
    floats.map((t) => ({ name: t.name, shape: t.shape })),
  );
  for (const info of [...floats].reverse()) {
    const t = await reader.read(info.name);
    sums.push(t.data.reduce((a, b) => a + b, 0));
    await writer.write(info.name, t);
  }
  await writer.close();
  await reader.close();
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  const expected = serializeSafetensors(parseSafetensors(bytes, { unsupported: "skip" }).tensors);
  const rewrittenEqual = out.length === expected.length && out.every((b, i) => b === expected[i]);
  let fileAccess = "works";
  try {
    readSafetensorsSync("/nonexistent.safetensors");
  } catch (e) {
    fileAccess = `${(e as Error).name}: ${(e as Error).message}`;
  }
  return { names, sums, rewrittenEqual, fileAccess };
}

(globalThis as { runSafetensors?: (data: number[]) => Promise<BrowserReport> }).runSafetensors = (data) =>
  run(Uint8Array.from(data));
