// Writes the web map's assets into the Python package (src/centinela/server/static/), so that a Python-only
// install serves the map with no npm step. Run after `npm ci --ignore-scripts`:
//     node build.mjs          write the assets
//     node build.mjs --check  exit 1 when the committed assets differ from what a build would write
// The app itself is plain JavaScript (web/src): it is copied as is. The vendored libraries lose their
// sourceMappingURL comment, since the .map files are not shipped.
import { createHash } from "node:crypto";
import { mkdirSync, readFileSync, readdirSync, writeFileSync, existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const out = join(here, "..", "src", "centinela", "server", "static");
const modules = join(here, "node_modules");
const check = process.argv.includes("--check");

const version = (pkg) => JSON.parse(readFileSync(join(modules, pkg, "package.json"), "utf8")).version;
const stripSourceMap = (buf) => Buffer.from(buf.toString("utf8").replace(/\n?\/[/*]# sourceMappingURL=[^\n]*\s*$/, "\n"));

// [source path, destination under static/, transform]
const files = [];
for (const name of readdirSync(join(here, "src"))) files.push([join(here, "src", name), name, null]);
for (const name of ["leaflet.js", "leaflet.css"]) {
  files.push([join(modules, "leaflet", "dist", name), join("vendor", "leaflet", name), stripSourceMap]);
}
for (const name of readdirSync(join(modules, "leaflet", "dist", "images"))) {
  files.push([join(modules, "leaflet", "dist", "images", name), join("vendor", "leaflet", "images", name), null]);
}
files.push([join(modules, "leaflet", "LICENSE"), join("vendor", "leaflet", "LICENSE"), null]);
for (const name of ["swagger-ui-bundle.js", "swagger-ui.css"]) {
  files.push([join(modules, "swagger-ui-dist", name), join("vendor", "swagger-ui", name), stripSourceMap]);
}
files.push([join(modules, "swagger-ui-dist", "LICENSE"), join("vendor", "swagger-ui", "LICENSE"), null]);

const outputs = files.map(([src, dst, transform]) => {
  const raw = readFileSync(src);
  return [dst, transform ? transform(raw) : raw];
});
outputs.push([join("vendor", "VERSIONS.txt"), Buffer.from(
  `Vendored by web/build.mjs from the npm registry; do not edit by hand.\n` +
  `leaflet ${version("leaflet")} (BSD-2-Clause)\n` +
  `swagger-ui-dist ${version("swagger-ui-dist")} (Apache-2.0)\n`)]);

const sha = (buf) => createHash("sha256").update(buf).digest("hex");
let stale = 0;
for (const [dst, content] of outputs) {
  const path = join(out, dst);
  if (check) {
    if (!existsSync(path) || sha(readFileSync(path)) !== sha(content)) {
      console.error(`stale: ${dst}`);
      stale++;
    }
    continue;
  }
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, content);
}
if (check) {
  if (stale) { console.error(`${stale} file(s) differ: run \`npm run build\` in web/`); process.exit(1); }
  console.log(`static assets up to date (${outputs.length} files)`);
} else {
  const total = outputs.reduce((sum, [, c]) => sum + c.length, 0);
  console.log(`wrote ${outputs.length} files, ${(total / 1024).toFixed(0)} KiB, into ${out}`);
}
