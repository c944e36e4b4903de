declare const __LYCORIS_CLI_VERSION__: string | undefined;

/** The CLI's version, injected from package.json at build time ("0.0.0-dev" when run unbundled). */
export function cliVersion(): string {
  return typeof __LYCORIS_CLI_VERSION__ === "string" ? __LYCORIS_CLI_VERSION__ : "0.0.0-dev";
}
