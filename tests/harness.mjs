// Shared helpers for Meridian's node tests (tests/integration, tests/conformance).
//
// Processes: startSim(args) and startGateway(config) spawn the real binaries on port 0, wait for
// their `listening on HOST:PORT` line and return a handle; every process started here is killed
// when the test file's process exits, even after a failure. Binaries come from MERIDIAN_BIN and
// MERIDIAN_SIM_BIN (default: build/dev/meridian and build/dev/meridian-sim under the repo root).
//
// HTTP: rawRequest()/openRawSocket() speak bytes over net.Socket for malformed-request and
// slow-client tests; readSse() reads a fetch Response as server-sent events with arrival times.

import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

function resolveBin(envName, fallback) {
  const fromEnv = process.env[envName];
  const p = fromEnv ? path.resolve(fromEnv) : path.join(repoRoot, fallback);
  return p;
}

export const gatewayBin = resolveBin('MERIDIAN_BIN', 'build/dev/meridian');
export const simBin = resolveBin('MERIDIAN_SIM_BIN', 'build/dev/meridian-sim');

/** The bearer key that default gateway configs accept. */
export const TEST_KEY = 'sk-test-1';

// ---------------------------------------------------------------------------------------------
// Process tracking and global cleanup

const live = new Set();   // ChildProcess objects not yet exited
const tempDirs = new Set();

function killAllNow() {
  for (const proc of live) {
    try { proc.kill('SIGKILL'); } catch { /* already gone */ }
  }
  live.clear();
  for (const dir of tempDirs) {
    try { rmSync(dir, { recursive: true, force: true }); } catch { /* best effort */ }
  }
  tempDirs.clear();
}

// 'exit' handlers must be synchronous: SIGKILL is. Signals do not run 'exit' handlers, so they
// are caught too (node --test sends SIGTERM to a test file that exceeds its timeout).
process.on('exit', killAllNow);
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.once(sig, () => {
    killAllNow();
    process.exit(128 + ({ SIGHUP: 1, SIGINT: 2, SIGTERM: 15 }[sig]));
  });
}

/** Stops every process this file started (SIGTERM, then SIGKILL after timeoutMs). */
export async function stopAll(timeoutMs = 5000) {
  await Promise.all([...live].map((proc) => stopProcess(proc, 'SIGTERM', timeoutMs)));
}

function stopProcess(proc, signal = 'SIGTERM', timeoutMs = 10000) {
  if (proc.exitCode !== null || proc.signalCode !== null) {
    return Promise.resolve({ code: proc.exitCode, signal: proc.signalCode });
  }
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      try { proc.kill('SIGKILL'); } catch { /* gone */ }
    }, timeoutMs);
    proc.once('exit', (code, sig) => {
      clearTimeout(timer);
      resolve({ code, signal: sig });
    });
    try { proc.kill(signal); } catch { /* gone */ }
  });
}

// ---------------------------------------------------------------------------------------------
// Temp files and configs

/** A fresh temp directory, removed when the process exits. */
export function makeTempDir(prefix = 'meridian-test-') {
  const dir = mkdtempSync(path.join(tmpdir(), prefix));
  tempDirs.add(dir);
  return dir;
}

/**
 * Writes a gateway config to a new temp dir and returns its path. `config` is YAML text (written
 * as is) or an object (written as JSON, which is valid YAML and which the gateway's YAML loader
 * reads).
 */
export function writeTempConfig(config, { dir = makeTempDir(), name = 'meridian.yaml' } = {}) {
  const text = typeof config === 'string' ? config : JSON.stringify(config, null, 2) + '\n';
  const file = path.join(dir, name);
  writeFileSync(file, text);
  return file;
}

/**
 * Default test config around the given backends: listens on 127.0.0.1:0 with 2 workers, accepts
 * TEST_KEY, and keeps its state (usage ledger, audit log) in a fresh temp dir, so that no test
 * gateway writes into the repository. Top-level keys in `extra` replace the defaults, except
 * `server`, which is merged.
 */
export function gatewayConfig({ backends = [], aliases, ...extra } = {}) {
  const { server, ...rest } = extra;
  const cfg = {
    state_dir: makeTempDir('meridian-state-'),
    server: { listen: '127.0.0.1:0', workers: 2, ...(server ?? {}) },
    auth: { keys: [TEST_KEY] },
    backends,
    ...rest,
  };
  if (aliases) cfg.aliases = aliases;
  return cfg;
}

/** A backend entry for a simulator handle returned by startSim(). */
export function simBackend(sim, { id = sim.name ?? 'sim-a', models = sim.models ?? ['sim-small'], tier = 'local', ...extra } = {}) {
  return { id, provider: 'simulator', base_url: `${sim.url}/v1`, models, tier, ...extra };
}

// ---------------------------------------------------------------------------------------------
// Spawning

const LISTEN_RE = /listening on (\S+):(\d+)/;
const KEEP_BYTES = 256 * 1024;

function tail(text, lines = 40) {
  return text.split('\n').slice(-lines).join('\n');
}

/**
 * Spawns `bin args`, waits for `listening on HOST:PORT` on stdout and returns a handle:
 * {port, host, url, proc, pid, stdout(), stderr(), exited, stop(signal, timeoutMs)}.
 * Rejects (with the captured stderr) if the process exits first or nothing is printed within
 * timeoutMs.
 */
export function spawnServer(bin, args, { timeoutMs = 30000, env = {}, cwd, label = path.basename(bin) } = {}) {
  if (!existsSync(bin)) {
    return Promise.reject(new Error(`${label}: binary not found at ${bin} (build it, or set MERIDIAN_BIN / MERIDIAN_SIM_BIN)`));
  }
  const proc = spawn(bin, args, {
    cwd: cwd ?? makeTempDir(),
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  live.add(proc);
  // A child must not keep the test file's event loop alive: when a test fails without stopping
  // it, node exits and the 'exit' handler above kills it. Waits below hold their own timers.
  proc.unref();
  proc.stdout.unref?.();
  proc.stderr.unref?.();

  let out = '';
  let err = '';
  const keep = (s) => (s.length > KEEP_BYTES ? s.slice(-KEEP_BYTES) : s);
  proc.stderr.setEncoding('utf8');
  proc.stderr.on('data', (d) => { err = keep(err + d); });
  proc.stdout.setEncoding('utf8');

  const exited = new Promise((resolve) => {
    proc.once('exit', (code, signal) => {
      live.delete(proc);
      resolve({ code, signal });
    });
  });

  return new Promise((resolve, reject) => {
    let settled = false;
    let lineBuf = '';
    const cmd = `${label} ${args.join(' ')}`;
    const fail = (why) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      try { proc.kill('SIGKILL'); } catch { /* gone */ }
      reject(new Error(`${cmd}: ${why}\n--- stderr ---\n${tail(err)}\n--- stdout ---\n${tail(out)}`));
    };
    const timer = setTimeout(() => fail(`no "listening on HOST:PORT" line within ${timeoutMs} ms`), timeoutMs);
    proc.once('error', (e) => fail(`spawn failed: ${e.message}`));
    proc.once('exit', (code, signal) => fail(`exited before listening (code ${code}, signal ${signal})`));

    proc.stdout.on('data', (d) => {
      out = keep(out + d);
      if (settled) return;
      lineBuf += d;
      let nl;
      while ((nl = lineBuf.indexOf('\n')) >= 0) {
        const line = lineBuf.slice(0, nl);
        lineBuf = lineBuf.slice(nl + 1);
        const m = LISTEN_RE.exec(line);
        if (!m) continue;
        settled = true;
        clearTimeout(timer);
        let host = m[1];
        const port = Number(m[2]);
        if (host === '0.0.0.0' || host === '' || host === '*') host = '127.0.0.1';
        const hostForUrl = host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
        resolve({
          host,
          port,
          url: `http://${hostForUrl}:${port}`,
          proc,
          pid: proc.pid,
          exited,
          stdout: () => out,
          stderr: () => err,
          stop: (signal = 'SIGTERM', timeoutMs2 = 10000) => stopProcess(proc, signal, timeoutMs2),
        });
        return;
      }
    });
  });
}

/**
 * Starts meridian-sim. `args` are its CLI flags (--name, --models a,b, --ttft-ms, --tps, ...);
 * `--listen 127.0.0.1:0` is added unless given. The handle also has `name` and `models` when
 * those flags were given, so simBackend(sim) can describe it.
 */
export async function startSim(args = [], opts = {}) {
  const a = [...args];
  if (!a.includes('--listen')) a.unshift('--listen', '127.0.0.1:0');
  const h = await spawnServer(simBin, a, { label: 'meridian-sim', ...opts });
  const flag = (f) => { const i = a.indexOf(f); return i >= 0 ? a[i + 1] : undefined; };
  h.name = flag('--name');
  h.models = flag('--models')?.split(',');
  return h;
}

/**
 * Starts `meridian serve --config FILE`. `config` is YAML text, a path to an existing file
 * ({file: PATH}), or an object: a full config if it has `server`, else the argument of
 * gatewayConfig() ({backends, aliases, ...}). The handle also has `configFile`.
 */
export async function startGateway(config, opts = {}) {
  let file;
  if (config && typeof config === 'object' && typeof config.file === 'string') {
    file = config.file;
  } else if (typeof config === 'string') {
    file = writeTempConfig(config);
  } else {
    file = writeTempConfig(config?.server ? config : gatewayConfig(config));
  }
  const h = await spawnServer(gatewayBin, ['serve', '--config', file, ...(opts.args ?? [])],
                              { label: 'meridian', ...opts });
  h.configFile = file;
  return h;
}

/** Runs the gateway binary to completion (e.g. `config check FILE`): {code, signal, stdout, stderr}. */
export function runGateway(args, { timeoutMs = 30000, env = {}, cwd } = {}) {
  return new Promise((resolve, reject) => {
    const proc = spawn(gatewayBin, args, { cwd: cwd ?? makeTempDir(), env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    live.add(proc);
    let stdout = '';
    let stderr = '';
    proc.stdout.setEncoding('utf8').on('data', (d) => { stdout += d; });
    proc.stderr.setEncoding('utf8').on('data', (d) => { stderr += d; });
    const timer = setTimeout(() => { proc.kill('SIGKILL'); reject(new Error(`meridian ${args.join(' ')}: timed out`)); }, timeoutMs);
    proc.once('error', (e) => { clearTimeout(timer); live.delete(proc); reject(e); });
    proc.once('close', (code, signal) => { clearTimeout(timer); live.delete(proc); resolve({ code, signal, stdout, stderr }); });
  });
}

// ---------------------------------------------------------------------------------------------
// HTTP helpers

/** POSTs JSON with a bearer key; returns the fetch Response. */
export function postJson(url, body, { key = TEST_KEY, headers = {}, signal } = {}) {
  const h = { 'Content-Type': 'application/json', ...headers };
  if (key) h.Authorization = `Bearer ${key}`;
  return fetch(url, { method: 'POST', headers: h, body: typeof body === 'string' ? body : JSON.stringify(body), signal });
}

/**
 * Reads a fetch Response body as server-sent events. Returns [{event, data, id, t}] in arrival
 * order, where t is performance.now() when the chunk completing the event arrived. Comments and
 * empty events are skipped; multiple data lines are joined with "\n".
 */
export async function readSse(response) {
  const events = [];
  const decoder = new TextDecoder();
  let buf = '';
  let cur = { event: undefined, data: [], id: undefined };
  const flush = (t) => {
    if (cur.data.length > 0 || cur.event !== undefined) {
      events.push({ event: cur.event ?? 'message', data: cur.data.join('\n'), id: cur.id, t });
    }
    cur = { event: undefined, data: [], id: undefined };
  };
  const feed = (t) => {
    let nl;
    while ((nl = buf.search(/\r\n|\r|\n/)) >= 0) {
      const line = buf.slice(0, nl);
      const sepLen = buf.startsWith('\r\n', nl) ? 2 : 1;
      // A lone '\r' at the very end may be the first half of '\r\n': wait for more.
      if (sepLen === 1 && buf[nl] === '\r' && nl === buf.length - 1) break;
      buf = buf.slice(nl + sepLen);
      if (line === '') { flush(t); continue; }
      if (line.startsWith(':')) continue;
      const c = line.indexOf(':');
      const field = c < 0 ? line : line.slice(0, c);
      let value = c < 0 ? '' : line.slice(c + 1);
      if (value.startsWith(' ')) value = value.slice(1);
      if (field === 'data') cur.data.push(value);
      else if (field === 'event') cur.event = value;
      else if (field === 'id') cur.id = value;
    }
  };
  for await (const chunk of response.body) {
    const t = performance.now();
    buf += decoder.decode(chunk, { stream: true });
    feed(t);
  }
  buf += decoder.decode();
  if (buf.length > 0) { buf += '\n'; feed(performance.now()); }
  flush(performance.now());
  return events;
}

/** Parses raw HTTP/1.1 response text: {status, reason, headers (lower-case keys), body}. */
export function parseHttpResponse(text) {
  const end = text.indexOf('\r\n\r\n');
  const head = end >= 0 ? text.slice(0, end) : text;
  const body = end >= 0 ? text.slice(end + 4) : '';
  const [statusLine, ...lines] = head.split('\r\n');
  const m = /^HTTP\/\d\.\d (\d{3}) ?(.*)$/.exec(statusLine ?? '');
  const headers = {};
  for (const l of lines) {
    const c = l.indexOf(':');
    if (c > 0) headers[l.slice(0, c).trim().toLowerCase()] = l.slice(c + 1).trim();
  }
  return { status: m ? Number(m[1]) : 0, reason: m ? m[2] : '', headers, body };
}

/**
 * A raw TCP connection: {socket, write(data), received(), waitFor(pred, ms), waitClose(ms),
 * closed(), end(), destroy()}. waitFor resolves with the received text once pred(text) is true
 * and rejects on timeout; waitClose resolves true if the peer closed within ms, else false.
 */
export function openRawSocket(port, host = '127.0.0.1', { connectTimeoutMs = 5000 } = {}) {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ port, host });
    let data = '';
    let isClosed = false;
    const waiters = new Set();
    const notify = () => { for (const w of [...waiters]) w(); };
    socket.setEncoding('latin1');
    socket.on('data', (d) => { data += d; notify(); });
    socket.on('close', () => { isClosed = true; notify(); });
    socket.on('error', () => { /* surfaced as close */ });
    const timer = setTimeout(() => { socket.destroy(); reject(new Error(`connect to ${host}:${port} timed out`)); }, connectTimeoutMs);
    socket.once('connect', () => {
      clearTimeout(timer);
      const waitUntil = (cond, ms, onTimeout) => new Promise((res, rej) => {
        if (cond()) return res();
        const w = () => { if (cond()) { clearTimeout(t); waiters.delete(w); res(); } };
        const t = setTimeout(() => { waiters.delete(w); onTimeout(res, rej); }, ms);
        waiters.add(w);
      });
      resolve({
        socket,
        write: (chunk) => new Promise((res) => {
          if (isClosed || socket.destroyed) return res(false);
          socket.write(chunk, (e) => res(!e));
        }),
        received: () => data,
        closed: () => isClosed,
        waitFor: (pred, ms = 5000) => waitUntil(() => pred(data), ms,
          (_res, rej) => rej(new Error(`timed out after ${ms} ms; received so far: ${JSON.stringify(data.slice(0, 500))}`)))
          .then(() => data),
        waitClose: (ms = 5000) => waitUntil(() => isClosed, ms, (res) => res()).then(() => isClosed),
        end: () => socket.end(),
        destroy: () => socket.destroy(),
      });
    });
    socket.once('error', (e) => { clearTimeout(timer); reject(e); });
  });
}

/**
 * Sends `data` (string, Buffer, or an array of chunks written with delayMs between them) on a
 * fresh connection and collects the reply until the peer closes or timeoutMs passes.
 * Returns {raw, closed, timedOut, response: parseHttpResponse(raw)}.
 */
export async function rawRequest(port, data, { host = '127.0.0.1', timeoutMs = 5000, delayMs = 0, halfClose = false } = {}) {
  const conn = await openRawSocket(port, host);
  const chunks = Array.isArray(data) ? data : [data];
  for (let i = 0; i < chunks.length; i++) {
    if (i > 0 && delayMs > 0) await sleep(delayMs);
    if (!(await conn.write(chunks[i]))) break;
  }
  if (halfClose) conn.end();
  const closed = await conn.waitClose(timeoutMs);
  conn.destroy();
  const raw = conn.received();
  return { raw, closed, timedOut: !closed, response: parseHttpResponse(raw) };
}

/** Writes `text` one slice at a time (bytesPerWrite every intervalMs) — a slow client. */
export async function slowWrite(conn, text, { bytesPerWrite = 1, intervalMs = 100, maxMs = Infinity } = {}) {
  const start = performance.now();
  for (let i = 0; i < text.length; i += bytesPerWrite) {
    if (performance.now() - start > maxMs) return false;
    if (!(await conn.write(text.slice(i, i + bytesPerWrite)))) return false;
    await sleep(intervalMs);
  }
  return true;
}

export function sleep(ms) {
  return new Promise((r) => setTimeout(r, ms));
}

/** A TCP port that was free a moment ago on host (for configs that cannot use port 0). */
export function freePort(host = '127.0.0.1') {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, host, () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}
