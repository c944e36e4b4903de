import type { OnProgress } from "@lycoris-ts/adapter-files";
import cliProgress from "cli-progress";

/** A progress bar fed by a library's progress callback. */
export interface ProgressBar {
  readonly onProgress: OnProgress;
  /** Ends the display (call on success and on failure). */
  stop(): void;
}

/**
 * A cli-progress bar on stderr, started by the first progress event (also when stderr is not a
 * terminal: then a line every few seconds and at the end), or nothing when `enabled` is false.
 */
export function progressBar(title: string, unit: string, enabled: boolean): ProgressBar {
  let bar: cliProgress.SingleBar | null = null;
  return {
    onProgress: (e) => {
      if (!enabled) return;
      if (bar === null) {
        bar = new cliProgress.SingleBar(
          {
            stream: process.stderr,
            noTTYOutput: true,
            notTTYSchedule: 2000,
            hideCursor: true,
            format: `${title} [{bar}] {percentage}% | {value}/{total} ${unit} | {label}`,
          },
          cliProgress.Presets.shades_classic,
        );
        bar.start(e.total, e.done, { label: e.item });
      } else bar.update(e.done, { label: e.item });
    },
    stop: () => {
      bar?.stop();
      bar = null;
    },
  };
}
