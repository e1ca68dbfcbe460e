#!/usr/bin/env node
// Every Unicode scalar value through the reference (npm tiktoken), for tokenize_eval
// --codepoints: for each code point c the probe string below is encoded with both encodings and
// the ids hashed (FNV-1a over the ids as little-endian u32). Differences between the regex
// engines' Unicode tables (PCRE2 here, Rust's regex there: \s, \p{L}, \p{Lu}, \p{M}, \p{N},
// case folding, Unicode version) show up as a differing hash.
//
// Usage: node codepoints.mjs OUT.bin
//   OUT.bin: for code points 0 .. 0x10FFFF (surrogates skipped), u32 o200k hash, u32 cl100k hash.
import fs from "node:fs";
import path from "node:path";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const require = createRequire(path.join(root, "package.json"));
const { get_encoding } = require("tiktoken");

// The probe for code point c. Keep in sync with Probe() in tools/tokenize_eval/main.cpp.
export function probe(c) {
  return `x${c}${c}y ${c}A ${c}1 a'${c} ${c}${c}\n${c} \n ${c}'s${c}'S `;
}

function fnv(ids) {
  let h = 0x811c9dc5;
  for (const id of ids) {
    for (let k = 0; k < 4; k++) {
      h ^= (id >>> (8 * k)) & 0xff;
      h = Math.imul(h, 0x01000193) >>> 0;
    }
  }
  return h >>> 0;
}

const out = process.argv[2];
if (!out) {
  console.error("usage: codepoints.mjs OUT.bin");
  process.exit(2);
}
const o200k = get_encoding("o200k_base");
const cl100k = get_encoding("cl100k_base");
const count = 0x110000 - 0x800;
const buf = new Uint32Array(count * 2);
let k = 0;
for (let cp = 0; cp < 0x110000; cp++) {
  if (cp >= 0xd800 && cp <= 0xdfff) continue;
  const s = probe(String.fromCodePoint(cp));
  buf[k++] = fnv(o200k.encode_ordinary(s));
  buf[k++] = fnv(cl100k.encode_ordinary(s));
}
fs.writeFileSync(out, Buffer.from(buf.buffer));
console.log(`codepoints: ${out} (${count} code points)`);
