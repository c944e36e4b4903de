import { defineConfig } from "vite";

// A static site: `vite build` writes dist/ (relative asset paths, so it runs from any folder or
// file server, offline once loaded). The engine runs in a module worker.
export default defineConfig({
  base: "./",
  build: { target: "es2022", outDir: "dist", emptyOutDir: true, chunkSizeWarningLimit: 4096 },
  worker: { format: "es" },
  preview: { host: "127.0.0.1" },
});
