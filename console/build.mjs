// Builds the console into ../service/console/dist, which the gateway embeds
// (go:embed) and serves under /ui/:
//
//   index.html                  the page (never cached), naming the assets
//   assets/app-HASH.js          the application, one minified ES module
//   assets/app-HASH.css         its styles (uPlot's included)
//   assets/icon-HASH.svg        the favicon
//
// Every file also as .gz and .br (precompressed at the highest levels).
// Names carry a hash of the content, so assets are cached for a year and a
// new build is picked up through index.html alone. The page has no inline
// script or style, so the gateway's Content-Security-Policy allows only
// files from its own origin.
//
//   node build.mjs            build into ../service/console/dist
//   node build.mjs --check    build in memory and fail when dist differs
//                             (the committed build is stale), and check
//                             that every .gz and .br file decodes to its file
//   node build.mjs --tests    bundle test/*.test.ts into .test-out/ for node --test
//   node build.mjs --out DIR  build into DIR
import { createHash } from "node:crypto";
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync, existsSync, statSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { brotliCompressSync, brotliDecompressSync, constants, gunzipSync, gzipSync } from "node:zlib";
import * as esbuild from "esbuild";

const here = dirname(fileURLToPath(import.meta.url));
const args = process.argv.slice(2);
const outIdx = args.indexOf("--out");
const outDir = outIdx >= 0 ? resolve(args[outIdx + 1]) : resolve(here, "../service/console/dist");

// One copy of the protobuf runtime: the generated code in clients/ts/src/gen
// would otherwise resolve it from clients/ts/node_modules. Every import of
// it resolves as if made from this directory.
const oneProtobuf = {
  name: "one-protobuf",
  setup(build) {
    build.onResolve({ filter: /^@bufbuild\/protobuf(\/|$)/ }, (args) => {
      if (args.pluginData === "one-protobuf") return undefined;
      return build.resolve(args.path, { kind: args.kind, resolveDir: here, pluginData: "one-protobuf" });
    });
  },
};

const common = {
  absWorkingDir: here,
  bundle: true,
  format: "esm",
  target: ["es2022", "chrome110", "firefox110", "safari16"],
  jsx: "automatic",
  jsxImportSource: "preact",
  plugins: [oneProtobuf],
  legalComments: "none",
  logLevel: "warning",
  charset: "utf8",
};

if (args.includes("--tests")) {
  const tests = readdirSync(join(here, "test")).filter((f) => f.endsWith(".test.ts") || f.endsWith(".test.tsx"));
  rmSync(join(here, ".test-out"), { recursive: true, force: true });
  await esbuild.build({
    ...common,
    entryPoints: tests.map((f) => join("test", f)),
    outdir: join(here, ".test-out"),
    outExtension: { ".js": ".mjs" },
    platform: "node",
    target: "node20",
    external: ["node:*"],
  });
  process.exit(0);
}

const built = await esbuild.build({
  ...common,
  entryPoints: { app: "src/main.tsx" },
  outdir: "out",
  write: false,
  minify: true,
  metafile: true,
  loader: { ".css": "css" },
});

/** @type {Map<string, Buffer>} path below dist → content */
const files = new Map();
const hashName = (base, ext, content) =>
  `assets/${base}-${createHash("sha256").update(content).digest("base64url").slice(0, 12)}.${ext}`;

let js, css;
for (const f of built.outputFiles) {
  const content = Buffer.from(f.contents);
  if (f.path.endsWith(".js")) js = hashName("app", "js", content), files.set(js, content);
  else if (f.path.endsWith(".css")) css = hashName("app", "css", content), files.set(css, content);
}
if (!js || !css) throw new Error("esbuild produced no script or no stylesheet");
const iconContent = readFileSync(join(here, "src/icon.svg"));
const icon = hashName("icon", "svg", iconContent);
files.set(icon, iconContent);

const html = readFileSync(join(here, "src/index.html"), "utf8")
  .replaceAll("%APP_JS%", "/ui/" + js)
  .replaceAll("%APP_CSS%", "/ui/" + css)
  .replaceAll("%ICON%", "/ui/" + icon);
if (/<script(?![^>]*\bsrc=)|<style|\sstyle=|\son[a-z]+=/i.test(html)) throw new Error("index.html must not hold inline script or style");
files.set("index.html", Buffer.from(html));

const gz = (b) => gzipSync(b, { level: 9, mtime: 0 });
const br = (b) =>
  brotliCompressSync(b, {
    params: { [constants.BROTLI_PARAM_QUALITY]: 11, [constants.BROTLI_PARAM_SIZE_HINT]: b.length, [constants.BROTLI_PARAM_MODE]: constants.BROTLI_MODE_TEXT },
  });

if (args.includes("--check")) {
  const problems = [];
  const want = new Set(files.keys());
  const walk = (d) => readdirSync(d).flatMap((n) => (statSync(join(d, n)).isDirectory() ? walk(join(d, n)) : [join(d, n)]));
  const have = existsSync(outDir) ? walk(outDir).map((p) => relative(outDir, p)).filter((p) => p !== ".gitkeep") : [];
  for (const p of have) {
    const base = p.replace(/\.(gz|br)$/, "");
    if (!want.has(base)) { problems.push(`${p}: not part of the build`); continue; }
    if (p === base) continue;
    const decoded = p.endsWith(".gz") ? gunzipSync(readFileSync(join(outDir, p))) : brotliDecompressSync(readFileSync(join(outDir, p)));
    if (!decoded.equals(files.get(base))) problems.push(`${p}: does not decode to ${base}`);
  }
  for (const [p, content] of files) {
    for (const v of [p, p + ".gz", p + ".br"]) if (!have.includes(v)) problems.push(`${v}: missing`);
    if (have.includes(p) && !readFileSync(join(outDir, p)).equals(content)) problems.push(`${p}: differs from a fresh build`);
  }
  if (problems.length) {
    console.error(problems.join("\n"));
    console.error(`${relative(process.cwd(), outDir)} is stale: run 'make console' and commit the result`);
    process.exit(1);
  }
  console.log("console build is up to date");
  process.exit(0);
}

rmSync(outDir, { recursive: true, force: true });
mkdirSync(join(outDir, "assets"), { recursive: true });
let total = { raw: 0, gz: 0, br: 0 };
for (const [p, content] of files) {
  const g = gz(content), b = br(content);
  writeFileSync(join(outDir, p), content);
  writeFileSync(join(outDir, p + ".gz"), g);
  writeFileSync(join(outDir, p + ".br"), b);
  total.raw += content.length, total.gz += g.length, total.br += b.length;
  console.log(`${p.padEnd(34)} ${String(content.length).padStart(8)} B  gzip ${String(g.length).padStart(7)} B  brotli ${String(b.length).padStart(7)} B`);
}
console.log(`${"total".padEnd(34)} ${String(total.raw).padStart(8)} B  gzip ${String(total.gz).padStart(7)} B  brotli ${String(total.br).padStart(7)} B`);
