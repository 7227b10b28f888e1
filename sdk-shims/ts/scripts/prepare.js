#!/usr/bin/env node
// npm's `prepare` script: compiles the package (src/ only, tsconfig.build.json) into dist/ so that it can be installed from a
// checkout. npm runs `prepare` for `npm install /path/to/sdk-shims/ts` (in the linked folder)
// and for `npm pack` / `npm publish`, but in the first case it does not install this package's
// devDependencies, so a fresh checkout would have no compiler. When the pinned TypeScript is
// not in this folder's node_modules yet, it is installed first from package-lock.json
// (`npm ci --ignore-scripts`: the scripts are off so that it does not run this script again).
// Plain CommonJS and Node's standard library only: nothing is compiled when this runs.
"use strict";

const { execFileSync } = require("node:child_process");
const fs = require("node:fs");
const path = require("node:path");

const root = path.resolve(__dirname, "..");
const tsc = path.join(root, "node_modules", "typescript", "bin", "tsc");

/** Runs npm in this folder: the npm that runs this script when known, else the one on PATH. */
function npm(args) {
  const env = { ...process.env };
  // A consumer's `npm install -g` or `--omit=dev` must not reach the install of our compiler.
  delete env.npm_config_global;
  delete env.npm_config_omit;
  delete env.npm_config_only;
  delete env.npm_config_production;
  const cli = process.env.npm_execpath;
  const [file, argv] = cli && cli.endsWith(".js") ? [process.execPath, [cli, ...args]] : ["npm", args];
  execFileSync(file, argv, { cwd: root, env, stdio: "inherit" });
}

if (!fs.existsSync(tsc)) {
  npm(["ci", "--ignore-scripts", "--include=dev", "--no-audit", "--no-fund", "--loglevel=error"]);
}
// A clean build: a module removed from src/ must not stay behind in a packed tarball.
fs.rmSync(path.join(root, "dist"), { recursive: true, force: true });
execFileSync(process.execPath, [tsc, "-p", path.join(root, "tsconfig.build.json")], {
  cwd: root,
  stdio: "inherit",
});
