import { parseCommandLine } from "./cli";
import { runExample } from "./run-example";
import { checkReload } from "./verify-reload";

async function main(): Promise<number> {
  const cmd = parseCommandLine(process.argv);
  if (cmd.mode === "verify") {
    const cmp = await checkReload(cmd.files);
    const identical = cmp.sameArgmax && cmp.maxAbsDiff === 0;
    console.log(JSON.stringify({ sameArgmax: cmp.sameArgmax, maxAbsDiff: cmp.maxAbsDiff, identical }));
    return identical ? 0 : 1;
  }
  const script = process.argv[1] ?? null;
  const result = await runExample({ ...cmd.options, verifyScript: script });
  return result.reload.ok && result.merge.ok ? 0 : 1;
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    console.error(error instanceof Error ? `error: ${error.message}` : error);
    process.exitCode = 1;
  },
);
