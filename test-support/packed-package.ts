// Shared by the variant packages' packed-tarball tests (packages/<variant>/test/packed-tarball.test.ts).
import { execFileSync } from "node:child_process";
import {
  cpSync,
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  realpathSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const root = fileURLToPath(new URL("../", import.meta.url));

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

interface Manifest {
  dependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
  peerDependenciesMeta?: Record<string, { optional?: boolean }>;
}

/** What `npm install` puts in node_modules for a package: dependencies, optional ones, required peers. */
function installedBy(pkgDir: string): { name: string; optional: boolean }[] {
  const m = JSON.parse(readFileSync(join(pkgDir, "package.json"), "utf8")) as Manifest;
  const peers = Object.keys(m.peerDependencies ?? {}).filter((n) => !m.peerDependenciesMeta?.[n]?.optional);
  return [
    ...Object.keys(m.dependencies ?? {}).map((name) => ({ name, optional: false })),
    ...peers.map((name) => ({ name, optional: false })),
    ...Object.keys(m.optionalDependencies ?? {}).map((name) => ({ name, optional: true })),
  ];
}

/** Copies the third-party closure of the unpacked libraries into `modules`, flat, as `npm install` would. */
function installDependencies(modules: string, libs: readonly string[]): void {
  const queue = libs.map((lib) => join(modules, "@lycoris-ts", lib));
  while (queue.length > 0) {
    for (const { name, optional } of installedBy(queue.shift()!)) {
      const dest = join(modules, name);
      if (existsSync(dest)) continue;
      const src = findDependency(name, libs);
      if (src === null) {
        if (optional) continue;
        throw new Error(`dependency ${name} is not in the workspace store`);
      }
      mkdirSync(dirname(dest), { recursive: true });
      cpSync(src, dest, { recursive: true, dereference: true });
      queue.push(dest);
    }
  }
}

/** Bytes of the regular files under `dir` (what `du --apparent-size -b` reports, without directories). */
function bytesUnder(dir: string): number {
  let total = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, entry.name);
    if (entry.isDirectory()) total += bytesUnder(p);
    else if (entry.isFile()) total += lstatSync(p).size;
  }
  return total;
}

/**
 * Packs the libraries with `pnpm pack` (workspace:* rewritten to versions, only `files` shipped), installs
 * the tarballs into a fresh project outside the workspace as `npm install` would (flat, with every
 * dependency and optional dependency, and no optional peer dependency; third-party packages are copied
 * from the workspace store: no network), and uses `@lycoris-ts/<name>` as a user would: ESM and CJS imports, the
 * README's opening example as written, and a bundle of the package without other variants' code.
 */
export function describePackedPackage(spec: PackedPackageSpec): void {
  const libs = ["errors", "lycoris-config", "kernels", "safetensors", "runtime", spec.name];
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
    installDependencies(modules, libs);
    writeFileSync(
      join(project, "package.json"),
      JSON.stringify({ name: "consumer", private: true, type: "module" }),
    );
  }, 120_000);

  afterAll(() => {
    if (project) rmSync(project, { recursive: true, force: true });
  });

  describe(`the packed ${pkg}, installed into a fresh project`, () => {
    it("takes under 10 MB of node_modules (gpu.js, with its native WebGPU/WebGL bindings, is an optional peer)", () => {
      const names = readdirSync(join(project, "node_modules")).flatMap((n) =>
        n.startsWith("@") ? readdirSync(join(project, "node_modules", n)).map((m) => `${n}/${m}`) : [n],
      );
      expect(names).not.toContain("gpu.js");
      expect(names).toContain("ml-matrix");
      const mb = bytesUnder(join(project, "node_modules")) / 2 ** 20;
      expect(mb).toBeGreaterThan(0.5); // the libraries and ml-matrix are there
      expect(mb).toBeLessThan(10);
    });

    it("says how to install gpu.js when LYCORIS_BACKEND=gpu.js asks for the GPU backend", () => {
      writeFileSync(
        join(project, "gpu.mjs"),
        'import { matmul, tensor } from "@lycoris-ts/kernels";\nmatmul(tensor(new Float32Array(4), [2, 2]), tensor(new Float32Array(4), [2, 2]));\n',
      );
      // without pnpm's NODE_PATH, which would find the workspace's gpu.js
      const env = { ...process.env, LYCORIS_BACKEND: "gpu.js", NODE_PATH: "" };
      let stderr = "";
      try {
        execFileSync(process.execPath, ["gpu.mjs"], { cwd: project, encoding: "utf8", env, stdio: "pipe" });
      } catch (err) {
        stderr = String((err as { stderr?: unknown }).stderr);
      }
      expect(stderr).toMatch(
        /KernelsError: LYCORIS_BACKEND: .*not installed: install it \(`npm install gpu\.js`\)/,
      );
    });

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
