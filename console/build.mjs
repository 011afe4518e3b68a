// Bundles the console (and cytoscape, from node_modules) into dist/, which the API serves at
// /console/. No CDN: everything the page loads comes from this build.
import { build } from "esbuild";
import { copyFileSync, mkdirSync } from "node:fs";

const out = new URL("./dist/", import.meta.url).pathname;
mkdirSync(out, { recursive: true });
await build({
  entryPoints: ["src/main.js"],
  bundle: true,
  minify: true,
  sourcemap: true,
  format: "esm",
  target: ["chrome110", "firefox110", "safari16"],
  outfile: `${out}console.js`,
  logLevel: "warning",
});
for (const file of ["index.html", "console.css"]) copyFileSync(`src/${file}`, `${out}${file}`);
console.log(`console built into ${out}`);
