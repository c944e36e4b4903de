/** Progress of a long operation, reported after each step. */
export interface ProgressEvent {
  /** What is running (`"merge"`). */
  readonly task: string;
  /** Steps done so far (0 when the work starts). */
  readonly done: number;
  /** Steps in all. */
  readonly total: number;
  /** What the last step processed (a tensor name), `""` at the start. */
  readonly item: string;
}

/** Receives {@link ProgressEvent}s; called synchronously between steps. */
export type OnProgress = (event: ProgressEvent) => void;
