// Helpers for tests/integration/*.test.mjs, on top of tests/harness.mjs (which spawns the real
// binaries on port 0 and kills them when the test file's process exits).
//
// Conventions of these tests: one simulator and one gateway per scenario that needs its own
// settings; every wait is for an event (a line, a response, a close, an exit) and has an upper
// bound only so a broken build fails instead of hanging.

import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import { performance } from 'node:perf_hooks';

import * as H from '../harness.mjs';

export * from '../harness.mjs';


export const CHAT = '/v1/chat/completions';
export const EMBEDDINGS = '/v1/embeddings';

/** A chat completion request body for model `model` with one user message. */
export function chatBody(content = 'hello', extra = {}) {
  return { model: 'sim-small', messages: [{ role: 'user', content }], ...extra };
}

/**
 * Gateway config around `backends`, with settings that keep tests quick to tear down (a short
 * shutdown grace). `server` is merged into the defaults; other keys are top-level sections.
 */
export function testConfig({ backends, server = {}, ...rest }) {
  return H.gatewayConfig({ backends, server: { shutdown_grace: '2s', ...server }, ...rest });
}

/** The harness's startGateway (kept as the one place tests start a gateway from). */
export function startGateway(config, opts = {}) {
  return H.startGateway(config, opts);
}

/**
 * Starts a simulator serving sim-small and sim-embed, and a gateway in front of it (backend
 * id "sim-a", alias fast → sim-small). Returns {sim, gw}.
 */
export async function startStack({ simArgs = [], server = {}, backend = {}, aliases = { fast: 'sim-small' }, ...rest } = {}) {
  const sim = await H.startSim(['--models', 'sim-small,sim-embed', ...simArgs]);
  const gw = await startGateway(testConfig({
    backends: [H.simBackend(sim, { id: 'sim-a', models: ['sim-small', 'sim-embed'], ...backend })],
    server,
    aliases,
    ...rest,
  }));
  return { sim, gw };
}

/** POST `path` on a server handle with a JSON body (bearer key by default). */
export function post(handle, path, body, opts = {}) {
  return H.postJson(`${handle.url}${path}`, body, opts);
}

/** POST a chat request and read the whole answer: {status, headers, text, json}. */
export async function chat(handle, body, opts = {}) {
  const res = await post(handle, CHAT, body, opts);
  return readAll(res);
}

/** Reads a fetch Response completely: {status, headers (Headers), text, json (or undefined)}. */
export async function readAll(res) {
  const text = await res.text();
  let json;
  try { json = JSON.parse(text); } catch { json = undefined; }
  return { status: res.status, headers: res.headers, text, json };
}

/** GET with an optional bearer key: {status, headers, text, json}. */
export async function get(handle, path, { key, headers = {} } = {}) {
  const h = { ...headers };
  if (key) h.Authorization = `Bearer ${key}`;
  return readAll(await fetch(`${handle.url}${path}`, { headers: h }));
}

/** Asserts an OpenAI error body and returns its `error` object. */
export function assertOpenAiError(json, { code, type, param } = {}) {
  assert.ok(json && typeof json === 'object', `expected a JSON error body, got ${JSON.stringify(json)}`);
  assert.ok(json.error && typeof json.error === 'object', `no "error" object in ${JSON.stringify(json)}`);
  const e = json.error;
  assert.deepEqual(Object.keys(e).sort(), ['code', 'message', 'param', 'type']);
  assert.equal(typeof e.message, 'string');
  assert.ok(e.message.length > 0);
  if (code !== undefined) assert.equal(e.code, code);
  if (type !== undefined) assert.equal(e.type, type);
  if (param !== undefined) assert.equal(e.param, param);
  return e;
}

// ---------------------------------------------------------------------------------------------
// Streaming

/** POSTs a streaming chat request and reads the SSE events: {status, headers, events}. */
export async function chatStream(handle, body, opts = {}) {
  const res = await post(handle, CHAT, { ...body, stream: true }, opts);
  if (res.status !== 200) return { status: res.status, headers: res.headers, events: [], error: await res.text() };
  const events = await H.readSse(res);
  return { status: res.status, headers: res.headers, events };
}

/** The JSON payloads of SSE events, without [DONE]. */
export function chunks(events) {
  return events.filter((e) => e.data !== '[DONE]').map((e) => JSON.parse(e.data));
}

/** The concatenated delta.content of chat.completion.chunk payloads. */
export function deltaText(payloads) {
  let s = '';
  for (const p of payloads) {
    for (const c of p.choices ?? []) if (typeof c.delta?.content === 'string') s += c.delta.content;
  }
  return s;
}

// ---------------------------------------------------------------------------------------------
// Simulator and gateway observation

/** GET /sim/stats of a simulator. */
export async function simStats(sim) {
  const res = await fetch(`${sim.url}/sim/stats`);
  assert.equal(res.status, 200);
  return res.json();
}

/**
 * Polls `fn` (sync or async) until it returns a truthy value, which is returned. Fails after
 * timeoutMs with `what`. For state with no event to await (counters of another process).
 */
export async function waitUntil(fn, { timeoutMs = 5000, intervalMs = 10, what = 'condition' } = {}) {
  const start = performance.now();
  let last;
  for (;;) {
    last = await fn();
    if (last) return last;
    if (performance.now() - start > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await H.sleep(intervalMs);
  }
}

/** Parses Prometheus text exposition into [{name, labels, value}]. */
export function parsePrometheus(text) {
  const samples = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)(?:\s+\d+)?$/.exec(line);
    assert.ok(m, `unparseable metrics line: ${JSON.stringify(line)}`);
    const labels = {};
    if (m[2]) {
      for (const lm of m[2].matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) {
        labels[lm[1]] = lm[2].replace(/\\(.)/g, (_, c) => (c === 'n' ? '\n' : c));
      }
    }
    samples.push({ name: m[1], labels, value: Number(m[3]) });
  }
  return samples;
}

/** Sum of the samples named `name` whose labels include `labels`; undefined if none match. */
export function metric(samples, name, labels = {}) {
  let sum;
  for (const s of samples) {
    if (s.name !== name) continue;
    if (!Object.entries(labels).every(([k, v]) => s.labels[k] === v)) continue;
    sum = (sum ?? 0) + s.value;
  }
  return sum;
}

/** Fetches and parses a gateway's /metrics. */
export async function metrics(gw) {
  const res = await fetch(`${gw.url}/metrics`);
  assert.equal(res.status, 200);
  return parsePrometheus(await res.text());
}

/** Waits until the handle's accumulated stderr satisfies pred(text); resolves with the text. */
export function waitForStderr(handle, pred, timeoutMs = 5000) {
  return new Promise((resolve, reject) => {
    if (pred(handle.stderr())) return resolve(handle.stderr());
    const onData = () => {
      // The harness's own listener was attached first, so stderr() already has this chunk.
      if (pred(handle.stderr())) { cleanup(); resolve(handle.stderr()); }
    };
    const onExit = () => { cleanup(); pred(handle.stderr()) ? resolve(handle.stderr()) : reject(new Error('process exited before the expected stderr output')); };
    const timer = setTimeout(() => {
      cleanup();
      reject(new Error(`timed out after ${timeoutMs} ms waiting for stderr output; tail:\n${handle.stderr().slice(-2000)}`));
    }, timeoutMs);
    const cleanup = () => { clearTimeout(timer); handle.proc.stderr.off('data', onData); handle.proc.off('exit', onExit); };
    handle.proc.stderr.on('data', onData);
    handle.proc.once('exit', onExit);
  });
}

/** The gateway's JSON access-log lines (stderr lines that parse as objects with request_id). */
export function accessLog(gw) {
  const out = [];
  for (const line of gw.stderr().split('\n')) {
    if (!line.startsWith('{')) continue;
    try {
      const o = JSON.parse(line);
      if (o && typeof o.request_id === 'string') out.push(o);
    } catch { /* not an access-log line */ }
  }
  return out;
}

/** Waits for the access-log line of `requestId` and returns it. */
export async function waitForAccessLog(gw, requestId, timeoutMs = 5000) {
  await waitForStderr(gw, () => accessLog(gw).some((l) => l.request_id === requestId), timeoutMs);
  return accessLog(gw).find((l) => l.request_id === requestId);
}

const SANITIZER_RE = /ERROR: AddressSanitizer|ERROR: LeakSanitizer|runtime error:|UndefinedBehaviorSanitizer|ThreadSanitizer|SUMMARY: \w+Sanitizer/;

/** Fails if `text` (a process's stderr) contains a sanitizer report. */
export function assertNoSanitizerReport(text, label = 'process') {
  const m = SANITIZER_RE.exec(text);
  if (m) {
    const from = Math.max(0, m.index - 200);
    assert.fail(`${label} stderr has a sanitizer report:\n${text.slice(from, from + 4000)}`);
  }
}

/**
 * Scans a process's whole stderr from now on for sanitizer reports (the harness keeps only the
 * tail, which a busy access log can push a report out of). Returns {reports: [excerpt...]}.
 */
export function watchSanitizer(handle) {
  const state = { reports: [] };
  let carry = '';
  handle.proc.stderr.on('data', (d) => {
    const text = carry + d;
    const m = SANITIZER_RE.exec(text);
    if (m && state.reports.length < 5) state.reports.push(text.slice(Math.max(0, m.index - 200), m.index + 2000));
    carry = text.slice(-200);
  });
  return state;
}

/**
 * Waits for a spawned process to exit: {code, signal}. Fails after timeoutMs (the harness
 * unrefs its children, so this timer is also what keeps the test's event loop waiting).
 */
export function waitExit(handle, timeoutMs = 15000) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`process ${handle.pid} did not exit within ${timeoutMs} ms`)), timeoutMs);
  });
  return Promise.race([handle.exited, timeout]).finally(() => clearTimeout(timer));
}

/** Stops a handle with SIGTERM and asserts a clean exit (code 0, no sanitizer report). */
export async function stopCleanly(handle, label = 'process', timeoutMs = 15000) {
  const { code, signal } = await handle.stop('SIGTERM', timeoutMs);
  assertNoSanitizerReport(handle.stderr(), label);
  assert.equal(signal, null, `${label} was killed by ${signal}`);
  assert.equal(code, 0, `${label} exited with ${code}; stderr tail:\n${handle.stderr().slice(-2000)}`);
}

// ---------------------------------------------------------------------------------------------
// Raw HTTP over node:http, for keep-alive control

/**
 * One request over node:http with `agent` (so tests control connection reuse):
 * {status, headers, body, localPort, reused}.
 */
export function httpRequest(port, { method = 'GET', path = '/', headers = {}, body, agent, timeoutMs = 10000 } = {}) {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, method, path, headers, agent }, (res) => {
      const parts = [];
      res.on('data', (d) => parts.push(d));
      res.on('end', () => resolve({
        status: res.statusCode,
        headers: res.headers,
        body: Buffer.concat(parts).toString('utf8'),
        localPort: req.socket?.localPort,
        reused: req.reusedSocket,
      }));
      res.on('error', reject);
    });
    req.setTimeout(timeoutMs, () => req.destroy(new Error(`request timed out after ${timeoutMs} ms`)));
    req.on('error', reject);
    if (body !== undefined) req.write(body);
    req.end();
  });
}

/** Authorization + JSON content type headers for httpRequest. */
export function jsonHeaders(body, key = H.TEST_KEY) {
  return {
    Authorization: `Bearer ${key}`,
    'Content-Type': 'application/json',
    'Content-Length': Buffer.byteLength(body),
  };
}

/**
 * Tries to open a TCP connection and send a request. Resolves with
 * {refused: true, code} if connect failed, else {refused: false, response: text, closed}.
 */
export function probeConnection(port, { timeoutMs = 3000 } = {}) {
  return new Promise((resolve) => {
    const socket = net.connect({ port, host: '127.0.0.1' });
    let data = '';
    let connected = false;
    const timer = setTimeout(() => { socket.destroy(); resolve({ refused: false, response: data, closed: false }); }, timeoutMs);
    socket.setEncoding('latin1');
    socket.on('connect', () => {
      connected = true;
      socket.write('GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
    });
    socket.on('data', (d) => { data += d; });
    socket.on('error', (e) => {
      if (!connected) { clearTimeout(timer); resolve({ refused: true, code: e.code }); }
    });
    socket.on('close', () => {
      clearTimeout(timer);
      if (connected) resolve({ refused: false, response: data, closed: true });
    });
  });
}

/**
 * A TCP server that accepts connections and never sends a byte (a stalled TLS peer).
 * {port, connections(), close()}.
 */
export async function startSilentServer() {
  const sockets = new Set();
  let accepted = 0;
  const server = net.createServer((s) => {
    accepted++;
    sockets.add(s);
    s.on('error', () => {});
    s.on('close', () => sockets.delete(s));
  });
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  return {
    port: server.address().port,
    connections: () => accepted,
    close: () => new Promise((resolve) => {
      for (const s of sockets) s.destroy();
      server.close(() => resolve());
    }),
  };
}
