// one-off scaffolding helper (kept for adding packages later): node scripts/new-lib.mjs <dir> <name> <description>
import { existsSync, mkdirSync, writeFileSync } from "node:fs";

const [dir, name, description] = process.argv.slice(2);
mkdirSync(`${dir}/src`, { recursive: true });
mkdirSync(`${dir}/test`, { recursive: true });
const pkg = {
  name,
  version: "0.0.0",
  description,
  license: "MIT",
  type: "module",
  sideEffects: false,
  main: "./dist/index.cjs",
  module: "./dist/index.js",
  types: "./dist/index.d.ts",
  exports: {
    ".": {
      import: { types: "./dist/index.d.ts", default: "./dist/index.js" },
      require: { types: "./dist/index.d.cts", default: "./dist/index.cjs" },
    },
    "./package.json": "./package.json",
  },
  files: ["dist"],
  repository: { type: "git", url: "git+https://example.invalid/lycoris-ts.git", directory: dir },
  engines: { node: ">=20.19" },
  scripts: {
    build: "tsup",
    typecheck: "tsc --noEmit -p tsconfig.json",
    test: "vitest run",
    "check-package": "publint --strict && attw --pack . --profile node16",
  },
  dependencies: {},
  devDependencies: {},
};
writeFileSync(`${dir}/package.json`, `${JSON.stringify(pkg, null, 2)}\n`);
writeFileSync(
  `${dir}/tsconfig.json`,
  `${JSON.stringify({ extends: "../../tsconfig.base.json", include: ["src", "test", "bench", "*.config.ts"] }, null, 2)}\n`,
);
writeFileSync(
  `${dir}/tsup.config.ts`,
  `import { defineConfig } from "tsup";

export default defineConfig({
  entry: ["src/index.ts"],
  format: ["esm", "cjs"],
  dts: true,
  sourcemap: true,
  clean: true,
  target: "node20",
});
`,
);
writeFileSync(
  `${dir}/vitest.config.ts`,
  `import { sharedTestConfig } from "../../vitest.shared";

export default sharedTestConfig;
`,
);
if (!existsSync(`${dir}/src/index.ts`)) writeFileSync(`${dir}/src/index.ts`, "export {};\n");
