import { readFileSync } from "node:fs";
import { defineConfig } from "tsup";

const pkg = JSON.parse(readFileSync(new URL("./package.json", import.meta.url), "utf8")) as {
  version: string;
};

export default defineConfig({
  entry: ["src/main.ts"],
  format: ["esm"],
  sourcemap: true,
  clean: true,
  target: "node20",
  banner: { js: "#!/usr/bin/env node" },
  // The workspace libraries are bundled (from their built dist) so that the installed CLI is one
  // self-contained file that starts fast and does not change when a sibling package is rebuilt;
  // gpu.js stays an optional runtime import of the kernels package.
  noExternal: [/^@lycoris-ts\//],
  external: ["gpu.js"],
  define: { __LYCORIS_CLI_VERSION__: JSON.stringify(pkg.version) },
});
