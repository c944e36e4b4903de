import { execFileSync } from "node:child_process";
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  realpathSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

/**
 * Packs every library with `pnpm pack` (workspace:* rewritten to versions, only `files` shipped),
 * installs the tarballs into a fresh project outside the workspace (third-party dependencies are
 * linked from the workspace store: no network), and uses `@lycoris-ts/lokr` as a user would.
 */
const root = fileURLToPath(new URL("../../../", import.meta.url));
const libs = ["errors", "lycoris-config", "kernels", "runtime", "lokr"];
const thirdParty = [
  "ml-matrix",
  "ml-xsadd",
  "@petamoriken/float16",
  "is-any-array",
  "ml-array-rescale",
  "ml-array-max",
  "ml-array-min",
];
let project = "";

function findDependency(name: string): string | null {
  for (const lib of libs) {
    const p = join(root, "packages", lib, "node_modules", name);
    if (existsSync(p)) return realpathSync(p);
  }
  const store = join(root, "node_modules", ".pnpm");
  for (const entry of readdirSync(store)) {
    const p = join(store, entry, "node_modules", name);
    if (entry.startsWith(`${name.replace("/", "+")}@`) && existsSync(p)) return realpathSync(p);
  }
  return null;
}

beforeAll(() => {
  project = mkdtempSync(join(tmpdir(), "lycoris-packed-"));
  const packs = join(project, "packs");
  mkdirSync(packs);
  const modules = join(project, "node_modules");
  for (const lib of libs) {
    const pkgDir = join(root, "packages", lib);
    execFileSync("pnpm", ["pack", "--pack-destination", packs], { cwd: pkgDir, stdio: "pipe" });
  }
  for (const tgz of readdirSync(packs)) {
    const name = tgz.replace(/^lycoris-ts-/, "").replace(/-\d+\.\d+\.\d+.*\.tgz$/, "");
    const dest = join(modules, "@lycoris-ts", name);
    mkdirSync(dest, { recursive: true });
    execFileSync("tar", ["-xzf", join(packs, tgz), "-C", dest, "--strip-components=1"]);
  }
  for (const dep of thirdParty) {
    const src = findDependency(dep);
    if (src === null) continue;
    const dest = join(modules, dep);
    mkdirSync(dirname(dest), { recursive: true });
    symlinkSync(src, dest, "dir");
  }
  writeFileSync(
    join(project, "package.json"),
    JSON.stringify({ name: "consumer", private: true, type: "module" }),
  );
}, 120_000);

afterAll(() => {
  if (project) rmSync(project, { recursive: true, force: true });
});

const endToEnd = (load: string) => `
${load}
const { Sequential, Linear, LoKrConfig, getPeftModel, createRng, tensor } = lokr;
const rng = createRng(1);
const q = new Linear(16, 16);
for (const p of q.parameters()) for (let i = 0; i < p.data.data.length; i++) p.data.data[i] = rng.normal();
const model = new Sequential(q);
const peft = getPeftModel(model, new LoKrConfig({ r: 2, alpha: 4, targetModules: ["0"], initWeights: false }));
peft.eval();
const x = tensor(Float32Array.from({ length: 32 }, () => rng.normal()), [2, 16]);
const line = peft.printTrainableParameters(null);
const before = Float32Array.from(peft.forward(x).data);
const merged = peft.mergeAndUnload();
const after = merged.forward(x).data;
const diff = before.reduce((m, v, i) => Math.max(m, Math.abs(v - after[i])), 0);
console.log(JSON.stringify({ line, diff }));
`;

describe("the packed packages, installed into a fresh project", () => {
  it("ships only dist/ with a package.json whose workspace ranges became versions", () => {
    const pkg = JSON.parse(readFileSync(join(project, "node_modules/@lycoris-ts/lokr/package.json"), "utf8"));
    expect(JSON.stringify(pkg.dependencies)).not.toContain("workspace:");
    expect(readdirSync(join(project, "node_modules/@lycoris-ts/lokr")).sort()).toEqual([
      "README.md",
      "dist",
      "package.json",
    ]);
  });

  for (const [format, file, load] of [
    ["ESM", "use.mjs", 'import * as lokr from "@lycoris-ts/lokr";'],
    ["CJS", "use.cjs", 'const lokr = require("@lycoris-ts/lokr");'],
  ] as const) {
    it(`imports @lycoris-ts/lokr from ${format} and runs a tiny adapter end to end`, () => {
      writeFileSync(join(project, file), endToEnd(load));
      const out = execFileSync(process.execPath, [file], { cwd: project, encoding: "utf8" });
      const result = JSON.parse(out.trim().split("\n").pop()!);
      expect(result.line).toBe("trainable params: 32 || all params: 304 || trainable%: 10.5263");
      expect(result.diff).toBeLessThan(1e-5);
    });
  }

  it("runs the README's opening example as written", () => {
    const readme = readFileSync(join(root, "packages/lokr/README.md"), "utf8");
    const code = /```ts\n([\s\S]*?)```/.exec(readme)![1]!;
    writeFileSync(join(project, "readme.mjs"), code);
    const out = execFileSync(process.execPath, ["readme.mjs"], { cwd: project, encoding: "utf8" });
    expect(out).toMatch(/^trainable params: [\d,]+ \|\| all params: [\d,]+ \|\| trainable%: [\d.]+$/m);
    expect(existsSync(join(project, "out/adapter/adapter_config.json"))).toBe(true);
    expect(existsSync(join(project, "out/adapter/adapter_model.safetensors"))).toBe(true);
  });

  it("bundles an entry that imports only LoKr without any LoHa code", async () => {
    writeFileSync(join(project, "entry.mjs"), endToEnd('import * as lokr from "@lycoris-ts/lokr";'));
    const result = await build({
      entryPoints: [join(project, "entry.mjs")],
      bundle: true,
      write: false,
      platform: "node",
      format: "esm",
      absWorkingDir: project,
      external: ["gpu.js"],
      logLevel: "silent",
    });
    const code = result.outputFiles[0]!.text;
    expect(code).toContain("lokr_w1");
    for (const lohaMarker of ["hada_w1_a", "@lycoris-ts/loha", "LoHaConfig", "lohaVariant"]) {
      expect(code, `bundle contains ${lohaMarker}`).not.toContain(lohaMarker);
    }
  });
});
