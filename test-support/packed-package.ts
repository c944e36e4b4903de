// Shared by the variant packages' packed-tarball tests (packages/<variant>/test/packed-tarball.test.ts).
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

const root = fileURLToPath(new URL("../", import.meta.url));
const thirdParty = [
  "ml-matrix",
  "ml-xsadd",
  "@petamoriken/float16",
  "is-any-array",
  "ml-array-rescale",
  "ml-array-max",
  "ml-array-min",
];

/** What a variant package's packed-tarball test checks. */
export interface PackedPackageSpec {
  /** The package directory under `packages/` (`"lokr"`); it is imported as `@lycoris-ts/<name>`. */
  readonly name: string;
  /** The config class the package exports (`"LoKrConfig"`). */
  readonly configClass: string;
  /** Its options for one adapter on the `"0"` module of a Linear(16, 16) with a non-zero ΔW. */
  readonly configOptions: string;
  /** The expected trainable-parameters line of that model. */
  readonly line: string;
  /** A string the bundle of `endToEnd` must contain (the package's own code). */
  readonly bundleContains: string;
  /** Strings the bundle must not contain (other variants' code). */
  readonly bundleLacks: readonly string[];
}

function findDependency(name: string, libs: readonly string[]): string | null {
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

/**
 * Packs the libraries with `pnpm pack` (workspace:* rewritten to versions, only `files` shipped), installs
 * the tarballs into a fresh project outside the workspace (third-party dependencies linked from the
 * workspace store: no network), and uses `@lycoris-ts/<name>` as a user would: ESM and CJS imports, the
 * README's opening example as written, and a bundle of the package without other variants' code.
 */
export function describePackedPackage(spec: PackedPackageSpec): void {
  const libs = ["lycoris-config", "kernels", "runtime", spec.name];
  const pkg = `@lycoris-ts/${spec.name}`;
  let project = "";
  // One adapter on a seeded Linear(16, 16): PEFT's trainable-parameters line and max |merged − unmerged|.
  const script = (load: string) => `${load}
const { Sequential, Linear, ${spec.configClass}, getPeftModel, createRng, tensor } = ${spec.name};
const rng = createRng(1);
const q = new Linear(16, 16);
for (const p of q.parameters()) for (let i = 0; i < p.data.data.length; i++) p.data.data[i] = rng.normal();
const peft = getPeftModel(new Sequential(q), new ${spec.configClass}(${spec.configOptions}));
peft.eval();
const x = tensor(Float32Array.from({ length: 32 }, () => rng.normal()), [2, 16]);
const line = peft.printTrainableParameters(null);
const before = Float32Array.from(peft.forward(x).data);
const after = peft.mergeAndUnload().forward(x).data;
const diff = before.reduce((m, v, i) => Math.max(m, Math.abs(v - after[i])), 0);
console.log(JSON.stringify({ line, diff }));
`;

  beforeAll(() => {
    project = mkdtempSync(join(tmpdir(), "lycoris-packed-"));
    const packs = join(project, "packs");
    mkdirSync(packs);
    const modules = join(project, "node_modules");
    for (const lib of libs) {
      execFileSync("pnpm", ["pack", "--pack-destination", packs], {
        cwd: join(root, "packages", lib),
        stdio: "pipe",
      });
    }
    for (const tgz of readdirSync(packs)) {
      const name = tgz.replace(/^lycoris-ts-/, "").replace(/-\d+\.\d+\.\d+.*\.tgz$/, "");
      const dest = join(modules, "@lycoris-ts", name);
      mkdirSync(dest, { recursive: true });
      execFileSync("tar", ["-xzf", join(packs, tgz), "-C", dest, "--strip-components=1"]);
    }
    for (const dep of thirdParty) {
      const src = findDependency(dep, libs);
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

  describe(`the packed ${pkg}, installed into a fresh project`, () => {
    it("ships only dist/ with a package.json whose workspace ranges became versions", () => {
      const json = JSON.parse(readFileSync(join(project, "node_modules", pkg, "package.json"), "utf8"));
      expect(JSON.stringify(json.dependencies)).not.toContain("workspace:");
      expect(readdirSync(join(project, "node_modules", pkg)).sort()).toEqual([
        "README.md",
        "dist",
        "package.json",
      ]);
    });

    for (const [format, file, load] of [
      ["ESM", "use.mjs", `import * as ${spec.name} from "${pkg}";`],
      ["CJS", "use.cjs", `const ${spec.name} = require("${pkg}");`],
    ] as const) {
      it(`imports ${pkg} from ${format} and runs a tiny adapter end to end`, () => {
        writeFileSync(join(project, file), script(load));
        const out = execFileSync(process.execPath, [file], { cwd: project, encoding: "utf8" });
        const result = JSON.parse(out.trim().split("\n").pop()!);
        expect(result.line).toBe(spec.line);
        // Merged vs unmerged forward: float32 sums in another order.
        expect(result.diff).toBeLessThan(1e-5);
      });
    }

    it("runs the README's opening example as written", () => {
      const readme = readFileSync(join(root, "packages", spec.name, "README.md"), "utf8");
      const code = /```ts\n([\s\S]*?)```/.exec(readme)![1]!;
      writeFileSync(join(project, "readme.mjs"), code);
      const out = execFileSync(process.execPath, ["readme.mjs"], { cwd: project, encoding: "utf8" });
      expect(out).toMatch(/^trainable params: [\d,]+ \|\| all params: [\d,]+ \|\| trainable%: [\d.]+$/m);
      expect(existsSync(join(project, "out/adapter/adapter_config.json"))).toBe(true);
      expect(existsSync(join(project, "out/adapter/adapter_model.safetensors"))).toBe(true);
    });

    it("bundles an entry that imports only this variant, without other variants' code", async () => {
      writeFileSync(join(project, "entry.mjs"), script(`import * as ${spec.name} from "${pkg}";`));
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
      expect(code).toContain(spec.bundleContains);
      for (const marker of spec.bundleLacks) expect(code, `bundle contains ${marker}`).not.toContain(marker);
    });
  });
}
