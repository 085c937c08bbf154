// Checks email HTML against caniemail.com's data (npm "doiuse-email").
// Usage: node caniemail.mjs PACKAGE_DIR CLIENTS FILE...  (CLIENTS: comma-separated globs, e.g. "gmail.*,outlook.*")
// Prints one JSON object per file, keyed by file: {errors, warnings, notes}.
import { readFile } from "node:fs/promises";
import path from "node:path";
import { pathToFileURL } from "node:url";

const [packageDir, clients, ...files] = process.argv.slice(2);
const entry = path.join(path.resolve(packageDir), "node_modules", "doiuse-email", "index.js");
const { doIUseEmail } = await import(pathToFileURL(entry).href);

const results = {};
for (const file of files) {
  const result = doIUseEmail(await readFile(file, "utf8"), { emailClients: clients.split(",") });
  results[file] = { errors: result.errors ?? [], warnings: result.warnings, notes: result.notes };
}
process.stdout.write(JSON.stringify(results));
