/// <reference lib="webworker" />
// The engine worker: every read, check, conversion and merge runs here, so the page never blocks.
import { LycorisError } from "@lycoris-ts/errors";
import { createRegistry } from "./create-registry";
import { EngineSession } from "./engine-session";
import type { EngineRequest, EngineResponse } from "./protocol";
import { selectBackend } from "./select-backend";

declare const self: DedicatedWorkerGlobalScope;

const session = new EngineSession(createRegistry());
const running = new Map<number, AbortController>();

function post(message: EngineResponse, transfer: Transferable[] = []): void {
  self.postMessage(message, transfer);
}

async function handle(request: EngineRequest, signal: AbortSignal): Promise<unknown> {
  const { id } = request;
  switch (request.type) {
    case "environment":
      return selectBackend();
    case "open":
      return session.open(request.adapter, request.base);
    case "norms":
      return session.norms((batch) => post({ id, type: "partial", value: batch }), signal);
    case "spectrum":
      return session.spectrum(request.module);
    case "check":
      return session.check();
    case "convert":
      return session.convert(request.to, request.prefix, request.moduleRoot);
    case "to-lora":
      return session.toLora(request.rank, request.peftCompatible);
    case "merge":
      return session.merge(request.adapters, {
        out: request.out,
        strict: request.strict,
        onProgress: (e) => post({ id, type: "progress", done: e.done, total: e.total, item: e.item }),
        onWarning: (w) => post({ id, type: "partial", value: w }),
        signal,
      });
    case "abort":
      running.get(request.target)?.abort();
      return null;
  }
}

self.onmessage = async (event: MessageEvent<EngineRequest>) => {
  const request = event.data;
  const controller = new AbortController();
  running.set(request.id, controller);
  try {
    post({ id: request.id, type: "result", value: await handle(request, controller.signal) });
  } catch (error) {
    post({
      id: request.id,
      type: "error",
      message: error instanceof Error ? error.message : String(error),
      errorClass: error instanceof Error ? error.name : "Error",
      kind: error instanceof LycorisError ? error.kind : "unexpected",
    });
  } finally {
    running.delete(request.id);
  }
};
