#!/usr/bin/env node
// Reference token counts for tokenize_eval: the npm package tiktoken's encode_ordinary over
// every message of ShareGPT-format files, in file, conversation and turn order, plus its own
// speed (median of --runs passes).
//
// Usage: node reference.mjs [--runs N] OUT.json FILE.json...
import fs from "node:fs";
import path from "node:path";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const require = createRequire(path.join(root, "package.json"));
const { get_encoding } = require("tiktoken");
const version = JSON.parse(fs.readFileSync(path.join(root, "node_modules/tiktoken/package.json"), "utf8")).version;

const args = process.argv.slice(2);
let runs = 3;
if (args[0] === "--runs") {
  runs = Number.parseInt(args[1], 10);
  args.splice(0, 2);
}
const [out, ...files] = args;
if (!out || files.length === 0) {
  console.error("usage: reference.mjs [--runs N] OUT.json FILE.json...");
  process.exit(2);
}

const encodings = ["o200k_base", "cl100k_base"];
const result = { package: `tiktoken@${version}`, files: [], speed: {} };
const texts = [];
for (const file of files) {
  const data = JSON.parse(fs.readFileSync(file, "utf8"));
  const messages = [];
  for (const conv of data) {
    for (const turn of conv.conversations ?? []) texts.push(turn.value), messages.push(turn.value);
  }
  result.files.push({ path: file, messages });
}
const totalBytes = texts.reduce((a, t) => a + Buffer.byteLength(t, "utf8"), 0);
for (const name of encodings) {
  const enc = get_encoding(name);
  for (const f of result.files) {
    f[name] = f.messages.map((t) => enc.encode_ordinary(t).length);
  }
  const times = [];
  let tokens = 0;
  for (let r = 0; r < runs; r++) {
    const t0 = process.hrtime.bigint();
    tokens = 0;
    for (const t of texts) tokens += enc.encode_ordinary(t).length;
    times.push(Number(process.hrtime.bigint() - t0) / 1e9);
  }
  times.sort((a, b) => a - b);
  const secs = times[Math.floor(times.length / 2)];
  result.speed[name] = { seconds: secs, bytes: totalBytes, tokens, mb_per_s: totalBytes / 1e6 / secs, tokens_per_s: tokens / secs };
  enc.free();
}
for (const f of result.files) {
  f.bytes = f.messages.map((t) => Buffer.byteLength(t, "utf8"));
  delete f.messages;
}
fs.writeFileSync(out, JSON.stringify(result));
for (const name of encodings) {
  const s = result.speed[name];
  console.log(`reference ${result.package} ${name}: ${s.tokens} tokens, ${s.mb_per_s.toFixed(2)} MB/s, ${(s.tokens_per_s / 1e6).toFixed(2)} M tokens/s (median of ${runs})`);
}
