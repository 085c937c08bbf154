// Time the Node mjml package on one MJML file: node compile.mjs FILE ITERATIONS
// Prints one JSON line: the load time of the package and the median milliseconds per email.
import { readFileSync } from "node:fs";
import { performance } from "node:perf_hooks";

const [file, iterationsText] = process.argv.slice(2);
const iterations = Number(iterationsText || "50");
const source = readFileSync(file, "utf8");

const loadStart = performance.now();
const { default: mjml2html } = await import("mjml");
const loadMs = performance.now() - loadStart;

// mjml 5 returns a promise, mjml 4 the result itself; await covers both.
const compile = async () => mjml2html(source, { keepComments: false, validationLevel: "soft" });

const first = await compile();
const warmups = 5;
for (let i = 0; i < warmups; i += 1) await compile();
const samples = [];
for (let i = 0; i < iterations; i += 1) {
  const start = performance.now();
  await compile();
  samples.push(performance.now() - start);
}
samples.sort((a, b) => a - b);
const median = samples[Math.floor(samples.length / 2)];
console.log(JSON.stringify({
  load_ms: loadMs,
  median_ms: median,
  html_bytes: Buffer.byteLength(first.html, "utf8"),
  errors: first.errors.length,
  version: (await import("mjml/package.json", { with: { type: "json" } })).default.version,
}));
