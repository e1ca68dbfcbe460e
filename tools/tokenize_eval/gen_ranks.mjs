#!/usr/bin/env node
// Converts the BPE rank data shipped by the npm package `tiktoken` (pinned in package.json)
// into Meridian's rank files, one per encoding: <out>/<name>.ranks (format: docs/tokenizer.md).
// Run by the build (CMake target `tokenizer_ranks`); nothing is downloaded.
//
// Usage: node gen_ranks.mjs --node-modules DIR --out DIR [--require]
//   Without --require a missing package is a warning (exit 0, nothing written): the gateway then
//   falls back to the approximate count. With --require it is an error (exit 1).
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const ENCODINGS = ["o200k_base", "cl100k_base"];

function arg(name, fallback) {
  const i = process.argv.indexOf(name);
  return i >= 0 && i + 1 < process.argv.length ? process.argv[i + 1] : fallback;
}

const nodeModules = arg("--node-modules", path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../node_modules"));
const outDir = arg("--out", null);
const required = process.argv.includes("--require");
if (!outDir) {
  console.error("gen_ranks: --out DIR is required");
  process.exit(2);
}

const pkgDir = path.join(nodeModules, "tiktoken");
const pkgJson = path.join(pkgDir, "package.json");
if (!fs.existsSync(pkgJson)) {
  const msg =
    `tokenizer rank files not generated: ${pkgDir} is missing. ` +
    "Run `make deps` (it runs `npm ci`), then build again; until then token counts use the approximation.";
  if (required) {
    console.error(`gen_ranks: error: ${msg}`);
    process.exit(1);
  }
  console.error(`gen_ranks: warning: ${msg}`);
  process.exit(0);
}
const version = JSON.parse(fs.readFileSync(pkgJson, "utf8")).version;

// The package's bpe_ranks string has two forms (see its wasm/src/lib.rs, parse_bfe):
//   compressed, first character '!': lines "! <offset> <b64> <b64> ...", ranks offset, offset+1, ...
//   plain: lines "<b64> <rank>" (OpenAI's .tiktoken format)
function parseRanks(bpeRanks, where) {
  const out = [];
  const lines = bpeRanks.split("\n").filter((l) => l.length > 0);
  if (bpeRanks[0] === "!") {
    for (const line of lines) {
      const parts = line.split(" ");
      const offset = Number.parseInt(parts[1], 10);
      if (!Number.isInteger(offset)) throw new Error(`${where}: bad offset in "${line.slice(0, 40)}"`);
      for (let i = 2; i < parts.length; i++) out.push([parts[i], offset + i - 2]);
    }
  } else {
    for (const line of lines) {
      const [b64, rank] = line.split(" ");
      out.push([b64, Number.parseInt(rank, 10)]);
    }
  }
  return out;
}

fs.mkdirSync(outDir, { recursive: true });
for (const name of ENCODINGS) {
  const src = path.join(pkgDir, "encoders", `${name}.json`);
  const enc = JSON.parse(fs.readFileSync(src, "utf8"));
  const ranks = parseRanks(enc.bpe_ranks, src);
  ranks.sort((a, b) => a[1] - b[1]);
  const seenRank = new Set();
  const seenBytes = new Set();
  for (const [b64, rank] of ranks) {
    if (seenRank.has(rank)) throw new Error(`${src}: rank ${rank} appears twice`);
    // Canonical base64 round trip: what the C++ loader decodes must be these exact bytes.
    const canon = Buffer.from(b64, "base64").toString("base64");
    if (canon !== b64) throw new Error(`${src}: non-canonical base64 "${b64}"`);
    if (seenBytes.has(b64)) throw new Error(`${src}: token ${b64} appears twice`);
    seenRank.add(rank);
    seenBytes.add(b64);
  }
  if (enc.pat_str.includes("\n")) throw new Error(`${src}: pattern has a newline`);
  const lines = [
    "meridian-ranks 1",
    `name ${name}`,
    `source tiktoken@${version} encoders/${name}.json`,
    `pattern ${enc.pat_str}`,
  ];
  for (const [tok, id] of Object.entries(enc.special_tokens).sort((a, b) => a[1] - b[1])) {
    lines.push(`special ${id} ${tok}`);
  }
  lines.push(`tokens ${ranks.length}`);
  for (const [b64, rank] of ranks) lines.push(`${b64} ${rank}`);
  const text = lines.join("\n") + "\n";
  const dest = path.join(outDir, `${name}.ranks`);
  const tmp = `${dest}.tmp${process.pid}`;
  fs.writeFileSync(tmp, text);
  fs.renameSync(tmp, dest);
  console.log(`gen_ranks: ${dest} (${ranks.length} tokens, tiktoken@${version})`);
}
