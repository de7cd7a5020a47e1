// Bundle the pages' script (with viem) and stylesheet into build/web under content-hashed names,
// and write build/web/manifest.json (logical name -> file) for cyphera.web.assets.
import { build } from "esbuild";
import { rmSync, mkdirSync, writeFileSync } from "node:fs";
import { basename } from "node:path";

const outdir = "build/web";
rmSync(outdir, { recursive: true, force: true });
mkdirSync(outdir, { recursive: true });
const result = await build({
  entryPoints: [
    "src/cyphera/web/ts/checkout.ts",
    "src/cyphera/web/ts/portal.ts",
    "src/cyphera/web/ts/dashboard.ts",
    "src/cyphera/web/static/checkout.css",
    "src/cyphera/web/static/portal.css",
    "src/cyphera/web/static/dashboard.css",
  ],
  bundle: true,
  minify: true,
  format: "esm",
  target: "es2022",
  entryNames: "[name]-[hash]",
  outdir,
  metafile: true,
  logLevel: "warning",
  legalComments: "none",
});
const manifest = {};
for (const [file, output] of Object.entries(result.metafile.outputs)) {
  if (!output.entryPoint) continue;
  const name = basename(output.entryPoint).replace(/\.ts$/, ".js");
  manifest[name] = basename(file);
}
writeFileSync(`${outdir}/manifest.json`, JSON.stringify(manifest, null, 2) + "\n");
console.log(`web assets: ${Object.values(manifest).join(", ")}`);
