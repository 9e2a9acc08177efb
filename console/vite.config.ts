// The console is built into the Python package (served at /console/ by
// astroshield.console); the output is gitignored and rebuilt by `make console`.
import { defineConfig } from "vite";

export default defineConfig({
  base: "/console/",
  build: {
    outDir: "../src/astroshield/console/dist",
    emptyOutDir: true,
    // Every asset a file of its own: the page's CSP allows 'self', not data: scripts.
    assetsInlineLimit: 0,
    // No inline polyfill script: the CSP refuses inline scripts.
    modulePreload: { polyfill: false },
    target: "es2022",
  },
});
