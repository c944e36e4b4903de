import { LycorisError } from "@lycoris-ts/errors";
import type { EngineRequest, EngineResponse } from "../engine/protocol";

/** Distributes `Omit` over a union (TypeScript's own `Omit` merges the members). */
type WithoutId<T> = T extends unknown ? Omit<T, "id"> : never;

/** Callbacks of a running request. */
export interface CallHandlers {
  readonly onProgress?: (done: number, total: number, item: string) => void;
  readonly onPartial?: (value: unknown) => void;
}

/** An engine error as the page shows it: the library error's class and kind, and its message. */
export class EngineCallError extends LycorisError {
  override readonly name = "EngineCallError";
  /** The class of the error in the worker (`AdapterFilesError`, `SafetensorsError`, …); `kind` is its kind. */
  readonly errorClass: string;

  constructor(errorClass: string, kind: string, message: string) {
    super(kind, message);
    this.errorClass = errorClass;
  }
}

/** The page's side of the engine worker: one promise per request, progress through callbacks. */
export class EngineClient {
  readonly #worker: Worker;
  readonly #pending = new Map<
    number,
    { resolve: (v: unknown) => void; reject: (e: Error) => void; handlers: CallHandlers }
  >();
  #next = 1;

  constructor(worker: Worker) {
    this.#worker = worker;
    worker.onmessage = (event: MessageEvent<EngineResponse>) => this.#receive(event.data);
    worker.onerror = (event) => {
      for (const p of this.#pending.values())
        p.reject(new EngineCallError("Worker", "worker", event.message));
      this.#pending.clear();
    };
  }

  #receive(message: EngineResponse): void {
    const p = this.#pending.get(message.id);
    if (p === undefined) return;
    switch (message.type) {
      case "progress":
        p.handlers.onProgress?.(message.done, message.total, message.item);
        return;
      case "partial":
        p.handlers.onPartial?.(message.value);
        return;
      case "result":
        this.#pending.delete(message.id);
        p.resolve(message.value);
        return;
      case "error":
        this.#pending.delete(message.id);
        p.reject(new EngineCallError(message.errorClass, message.kind, message.message));
        return;
    }
  }

  /** Sends a request; `transfer` moves streams to the worker. Returns the id (for {@link abort}) and the result. */
  call<T>(
    request: WithoutId<EngineRequest>,
    handlers: CallHandlers = {},
    transfer: Transferable[] = [],
  ): { id: number; result: Promise<T> } {
    const id = this.#next++;
    const result = new Promise<T>((resolve, reject) => {
      this.#pending.set(id, { resolve: resolve as (v: unknown) => void, reject, handlers });
    });
    this.#worker.postMessage({ ...request, id }, transfer);
    return { id, result };
  }

  /** Asks the worker to stop request `target` (merges stop between tensors, leaving nothing). */
  abort(target: number): void {
    this.call({ type: "abort", target });
  }
}
