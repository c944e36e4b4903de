// Loads gpu.js (Node: its WebAssembly mode) before each test file, so every op suite that iterates
// backendsUnderTest() also runs on the gpu.js backend. A 64-texel tile limit exercises output tiling.
import { initGpuJs } from "../src/index";

await initGpuJs({ maxTextureSize: 64 });
