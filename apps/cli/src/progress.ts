import cliProgress from "cli-progress";

/** Progress over a known number of steps. */
export interface Progress {
  /** One step done; `label` names what was just processed. */
  tick(label: string): void;
  /** Ends the display (call on success and on failure). */
  stop(): void;
}

const SILENT: Progress = { tick: () => undefined, stop: () => undefined };

/**
 * A cli-progress bar on stderr (also when stderr is not a terminal: then a line every few
 * seconds and at the end), or a silent no-op when `enabled` is false.
 */
export function createProgress(title: string, total: number, unit: string, enabled: boolean): Progress {
  if (!enabled) return SILENT;
  const bar = new cliProgress.SingleBar(
    {
      stream: process.stderr,
      noTTYOutput: true,
      notTTYSchedule: 2000,
      hideCursor: true,
      format: `${title} [{bar}] {percentage}% | {value}/{total} ${unit} | {label}`,
    },
    cliProgress.Presets.shades_classic,
  );
  bar.start(total, 0, { label: "" });
  let stopped = false;
  return {
    tick: (label) => bar.increment(1, { label }),
    stop: () => {
      if (stopped) return;
      stopped = true;
      bar.stop();
    },
  };
}
