#!/usr/bin/env node
// Writes tests/unit/tokenize/fixtures/tiktoken_expected.json: token ids that the npm package
// `tiktoken` (OpenAI's Rust tokenizer compiled to WebAssembly, the reference) gives for a set of
// inputs. Run it by hand when the package version changes; the file is committed.
//
// Usage: node tools/tokenize_eval/make_fixture.mjs [out.json]
//
// Inputs are byte strings. Invalid UTF-8 cannot reach the reference as such (it takes JS
// strings): it is decoded with TextDecoder first (each maximal ill-formed subsequence becomes
// U+FFFD), which is what Meridian's tokenizer does too.
import fs from "node:fs";
import path from "node:path";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, "../..");
const require = createRequire(path.join(root, "package.json"));
const { get_encoding } = require("tiktoken");
const pkgDir = path.join(root, "node_modules", "tiktoken");
const version = JSON.parse(fs.readFileSync(path.join(pkgDir, "package.json"), "utf8")).version;
const out = process.argv[2] ?? path.join(root, "tests/unit/tokenize/fixtures/tiktoken_expected.json");

const utf8 = (s) => Buffer.from(s, "utf8");
const bytes = (...xs) => Buffer.from(xs);
const cat = (...bs) => Buffer.concat(bs.map((b) => (typeof b === "string" ? utf8(b) : b)));

const cases = [
  ["empty", utf8("")],
  ["english", utf8("Hello, world! How are you doing today? The quick brown fox jumps over the lazy dog.")],
  ["contractions", utf8("I'm sure you'll see they've done it. We'd've gone. DON'T SHOUT, IT'S OK. O'Neil's l'été rock'n'roll 'tis")],
  ["contraction-case-fold", utf8("it'ſ IT'S It'S İstanbul'S ǅemal'S KELVIN'K")],
  ["mixed-case", utf8("HTTPServer XMLHttpRequest iPhone McDonald's camelCaseWord SNAKE_CASE_NAME ABCdef aBC")],
  ["code-cpp", utf8("#include <vector>\n\nint main(int argc, char** argv) {\n    std::vector<int> v{1, 2, 3};\n\tfor (auto& x : v) x *= 2;  // double\n    return v.size() > 2 ? 0 : 1;\n}\n")],
  ["code-python", utf8("def f(x: int) -> list[str]:\n    \"\"\"Doc.\"\"\"\n    return [str(i) for i in range(x) if i % 2 == 0]\n\n\nprint(f(10))\n")],
  ["json", utf8('{"model":"gpt-4o","messages":[{"role":"user","content":"hi"}],"temperature":0.7,"n":1}')],
  ["markdown", utf8("## Title\n\n- item **bold** and _it_ `code`\n1. first\n\n```python\nprint('x')\n```\n> quote\n\n| a | b |\n|---|---|\n")],
  ["url-path", utf8("See https://example.com/path/to/file.html?q=1&x=y#frag or /usr/local/bin/ and C:\\Windows\\System32 //comment")],
  ["numbers", utf8("1234567890 3.14159 1,000,000 2024-05-13 0x1F 12345678901234567890 -42 +7 1e-9 ½ ² ٣٤٥ 一二三")],
  ["cjk-chinese", utf8("你好，世界！今天天气很好。我们去公园散步吧。")],
  ["cjk-japanese", utf8("こんにちは、世界。カタカナとひらがなと漢字を混ぜた文章です。")],
  ["korean", utf8("안녕하세요 세계. 오늘 날씨가 좋네요!")],
  ["cyrillic-greek", utf8("Привет, мир! Как дела? Γειά σου Κόσμε. ΑΒΓ αβγ")],
  ["arabic-hebrew", utf8("مرحبا بالعالم. שלום עולם. ١٢٣")],
  ["indic-thai", utf8("नमस्ते दुनिया। স্বাগতম। สวัสดีชาวโลก")],
  ["accents-combining", utf8("café naïve résumé e\u0301 n\u0303 A\u030A Ǆ ǅ ǆ ﬁ ß ẞ")],
  ["emoji", utf8("👍🏽 family 👨‍👩‍👧‍👦 flags 🇫🇷🇯🇵 ❤️ 🙂🙂🙂 ✓ ★ ©®™")],
  ["whitespace-runs", utf8("a  b   c\t\td\n\n\ne  \n  f    \n\n    g\r\n\r\nh \t \n")],
  ["whitespace-only", utf8("   \n\t  \n\n   ")],
  ["leading-trailing", utf8("   leading and trailing   ")],
  ["unicode-spaces", utf8("a\u00a0b\u2003c\u3000d\u0085e\u2028f\u2029g\u000bh\u000ci\u200bj\ufeffk")],
  ["control", utf8("a\u0000b\u0001c\u007fd\u001be[0m")],
  ["punctuation", utf8("!!! ??? ... --- === *** ((( ))) [[]] {{}} <<< >>> /// \\\\ ''' \"\"\" ~~~ ``` ,;:")],
  ["newline-slash", utf8("a/\nb//\n\n/c\r\n/ d")],
  ["special-token-text", utf8("<|endoftext|> and <|im_start|>user<|im_end|> <|fim_prefix|>")],
  ["long-word", utf8("a".repeat(300))],
  ["long-pairs", utf8("ab".repeat(200))],
  ["long-digits", utf8("1234567890".repeat(20))],
  ["long-spaces", utf8(" ".repeat(500) + "x" + "\n".repeat(200))],
  ["long-base64", utf8(Buffer.from(Array.from({ length: 900 }, (_, i) => (i * 131 + 7) % 256)).toString("base64"))],
  ["long-cjk", utf8("的一是不了人我在有他这为之大来以个中上们到说国和地也子时道出而要于就下得可你年生".repeat(5))],
  ["repeated-words", utf8("hello ".repeat(60))],
  ["unicode15-cjk-ext-h", utf8("\u{31350}\u{31351}x 𱍐a")],
  ["invalid-ff", bytes(0x61, 0xff, 0x62)],
  ["invalid-surrogate", bytes(0xed, 0xa0, 0x80, 0x61)],
  ["invalid-overlong", bytes(0xc0, 0xaf, 0xe0, 0x80, 0xaf, 0x7a)],
  ["invalid-truncated-end", cat("euro ", bytes(0xe2, 0x82))],
  ["invalid-truncated-mid", cat(bytes(0xf0, 0x9f, 0x98), "x", bytes(0xf0, 0x9f), " y")],
  ["invalid-continuations", bytes(0x80, 0x80, 0xbf, 0x41)],
  ["invalid-above-max", cat("ok", bytes(0xf4, 0x90, 0x80, 0x80), "!")],
  ["invalid-in-cjk", cat("你", bytes(0xe4, 0xbd), "好", bytes(0xa0), "世界")],
];

// Pseudo-random strings over a mixed alphabet (fixed seed): contractions, case changes,
// digits, spaces and newlines, punctuation, slashes, CJK, emoji and combining marks.
let seed = 0x2545f491;
const rand = (n) => {
  seed ^= seed << 13;
  seed ^= seed >>> 17;
  seed ^= seed << 5;
  return (seed >>> 0) % n;
};
const atoms = [
  "a", "b", "e", "s", "t", "T", "S", "D", "x", "Q", "the", "The", "THE", "ing", "tion",
  "'s", "'S", "'t", "'re", "'ll", "'VE", "'d", "'m", "'", "’",
  "0", "1", "7", "42", "999", "2024",
  " ", " ", " ", "  ", "\t", "\n", "\n\n", "\r\n", " \n",
  ".", ",", "!", "?", ":", ";", "-", "_", "(", ")", "{", "}", "[", "]", "\"", "/", "//", "\\", "#", "@", "$", "%", "&", "*", "+", "=", "<", ">", "|", "~", "`",
  "é", "ñ", "ü", "ß", "İ", "ǅ", "\u0301", "\u0308", "ж", "Ж", "λ", "Ω", "ا", "ש", "न", "ि", "ก",
  "中", "文", "字", "の", "カ", "한", "国", "。", "，", "「", "」",
  "😀", "👍", "🏽", "\u200d", "❤", "\ufe0f", "🇫", "🇷", "\u00a0", "\u3000", "€", "½", "²",
];
for (let i = 0; i < 300; i++) {
  const len = 1 + rand(40);
  let s = "";
  for (let k = 0; k < len; k++) s += atoms[rand(atoms.length)];
  cases.push([`random-${i}`, utf8(s)]);
}

const encodings = ["o200k_base", "cl100k_base"];
const enc = Object.fromEntries(encodings.map((n) => [n, get_encoding(n)]));
const patterns = Object.fromEntries(
  encodings.map((n) => [n, JSON.parse(fs.readFileSync(path.join(pkgDir, "encoders", `${n}.json`), "utf8")).pat_str]),
);
const decoder = new TextDecoder("utf-8", { fatal: false });
const result = { package: `tiktoken@${version}`, patterns, cases: [] };
for (const [name, input] of cases) {
  const text = decoder.decode(input);
  if (text !== input.toString("utf8")) throw new Error(`${name}: TextDecoder and Buffer disagree`);
  const c = { name, input_b64: input.toString("base64") };
  for (const n of encodings) c[n] = Array.from(enc[n].encode_ordinary(text));
  result.cases.push(c);
}
for (const n of encodings) enc[n].free();

fs.mkdirSync(path.dirname(out), { recursive: true });
// One case per line keeps diffs readable.
const body = result.cases.map((c) => "    " + JSON.stringify(c)).join(",\n");
fs.writeFileSync(
  out,
  `{\n  "package": ${JSON.stringify(result.package)},\n  "patterns": ${JSON.stringify(patterns)},\n  "cases": [\n${body}\n  ]\n}\n`,
);
console.log(`make_fixture: ${out} (${result.cases.length} cases, tiktoken@${version})`);
