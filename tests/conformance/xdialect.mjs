// Shared pieces of the cross-dialect conformance tests (tests/conformance/*_to_*.test.mjs and
// passthrough_gemini.test.mjs): one simulator behind a gateway with one backend per upstream
// dialect, a fetch that records the exact bytes an SDK client received, the simulator's capture
// of what the gateway sent upstream (validated against the upstream dialect's request schema),
// and direct calls to the simulator to compute the expected answers.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';

import { TEST_KEY, gatewayConfig, repoRoot, startGateway, startSim } from '../harness.mjs';
import { parseSseText, requestSchemaForPath, validate } from './spec_validate.mjs';

export { TEST_KEY };

/** Model names → backends of the gateway config (docs: the conformance brief). */
export const MODELS = { anthropic: 'claude-sim', openai: 'gpt-sim', gemini: 'gemini-sim' };

/** The upstream key the test configs give every backend (never a client key). */
export const UPSTREAM_KEY = 'sk-upstream-sim';

/**
 * Starts one simulator and a gateway with three backends on it, one per upstream dialect:
 * sim-anthropic (anthropic_messages, claude-sim), sim-openai (openai_chat, gpt-sim) and
 * sim-gemini (gemini, gemini-sim). Returns {sim, gw}. Each backend gets `api_key: UPSTREAM_KEY`
 * (the simulator's Anthropic and Gemini routes refuse a request without a key, as the real APIs
 * do); `apiKey: null` leaves it out, as in the brief's config.
 */
export async function startStack({ simArgs = [], gatewayExtra = {}, apiKey = UPSTREAM_KEY } = {}) {
  const sim = await startSim(['--threads', '1', '--ttft-ms', '0', '--tps', '0', ...simArgs]);
  const key = apiKey ? { api_key: apiKey } : {};
  const backends = [
    { id: 'sim-anthropic', provider: 'simulator', dialect: 'anthropic_messages', base_url: `${sim.url}/v1`, models: [MODELS.anthropic], tier: 'local', ...key },
    { id: 'sim-openai', provider: 'simulator', dialect: 'openai_chat', base_url: `${sim.url}/v1`, models: [MODELS.openai], tier: 'local', ...key },
    { id: 'sim-gemini', provider: 'simulator', dialect: 'gemini', base_url: `${sim.url}/v1beta`, models: [MODELS.gemini], tier: 'local', ...key },
  ];
  const gw = await startGateway(gatewayConfig({ backends, ...gatewayExtra }));
  return { sim, gw };
}

// ---------------------------------------------------------------------------------------------
// Recording fetch: what the SDK sent and the exact bytes it received

/**
 * A fetch for the SDKs' `fetch` option. Every call is recorded as
 * {url, method, requestHeaders, requestBody, status, headers, text: Promise<string>}; `text` is
 * the full response body read from a clone (a tee), so the SDK still gets its stream.
 */
export function recorder() {
  const exchanges = [];
  const recFetch = async (input, init = {}) => {
    const res = await fetch(input, init);
    const ex = {
      url: String(input instanceof Request ? input.url : input),
      method: init.method ?? 'GET',
      requestHeaders: new Headers(init.headers),
      requestBody: typeof init.body === 'string' ? init.body : undefined,
      status: res.status,
      headers: res.headers,
    };
    ex.text = res.clone().text().catch((e) => { ex.readError = e; return ''; });
    exchanges.push(ex);
    return res;
  };
  return {
    fetch: recFetch,
    exchanges,
    clear() { exchanges.length = 0; },
    /** The only exchange since clear(); fails if there were none or several (retries are off). */
    only() {
      assert.equal(exchanges.length, 1, `one HTTP exchange (got ${exchanges.map((e) => `${e.method} ${e.url} ${e.status}`).join(', ')})`);
      return exchanges[0];
    },
  };
}

/** The recorded exchange's body, parsed as JSON. */
export async function jsonBody(ex) {
  const text = await ex.text;
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new Error(`response body of ${ex.url} (HTTP ${ex.status}) is not JSON: ${e.message}\n${text.slice(0, 500)}`);
  }
}

/** Asserts the recorded response is an SSE stream and returns its text. */
export async function sseText(ex) {
  const text = await ex.text;
  assert.equal(ex.status, 200, `stream status (body: ${text.slice(0, 300)})`);
  assert.match(ex.headers.get('content-type') ?? '', /^text\/event-stream/, 'stream content-type');
  assert.ok(text.length > 0, 'non-empty stream');
  return text;
}

// ---------------------------------------------------------------------------------------------
// Upstream capture

export async function clearCaptured(sim) {
  const res = await fetch(`${sim.url}/sim/requests`, { method: 'DELETE' });
  assert.equal(res.status, 200);
}

/**
 * What the simulator received since the last clear: [{path, body (parsed)}], each body validated
 * against the request schema of its path's dialect (Gemini paths: no schema, JSON only).
 * `expect` (optional): the list of paths the gateway must have called, in order.
 */
export async function upstreamRequests(sim, { expect } = {}) {
  const res = await fetch(`${sim.url}/sim/requests`);
  assert.equal(res.status, 200);
  const { requests } = await res.json();
  const out = requests.map((r, i) => {
    assert.ok(!r.truncated, `upstream request ${i} truncated`);
    let body;
    try {
      body = JSON.parse(r.body);
    } catch (e) {
      throw new Error(`upstream request ${i} to ${r.path} is not JSON: ${e.message}\n${r.body.slice(0, 300)}`);
    }
    const schema = requestSchemaForPath(r.path);
    if (schema) validate(schema[0], schema[1], body, `upstream request ${i} (${r.path})`);
    return { path: r.path, body };
  });
  if (expect) assert.deepEqual(out.map((r) => r.path), expect, 'upstream paths');
  return out;
}

/** The single upstream request (validated), asserting its path. */
export async function onlyUpstream(sim, path) {
  const reqs = await upstreamRequests(sim);
  assert.equal(reqs.length, 1, `one upstream request (got ${reqs.map((r) => r.path).join(', ') || 'none'})`);
  if (path) assert.equal(reqs[0].path, path, 'upstream path');
  return reqs[0].body;
}

// ---------------------------------------------------------------------------------------------
// Direct calls to the simulator (expected answers)

const SIM_HEADERS = {
  openai: { authorization: 'Bearer sk-direct' },
  anthropic: { 'x-api-key': 'sk-direct', 'anthropic-version': '2023-06-01' },
  gemini: { 'x-goog-api-key': 'sk-direct' },
};

/**
 * POSTs `body` to the simulator at `path` with the dialect's auth headers (and `headers`),
 * returns {status, headers, text, json (if JSON)}. Use it to replay what the gateway sent
 * upstream: the translated answer must then equal this one, translated.
 */
export async function simDirect(sim, path, body, { headers = {} } = {}) {
  const dialect = path.startsWith('/v1beta') ? 'gemini' : path.startsWith('/v1/messages') ? 'anthropic' : 'openai';
  const res = await fetch(`${sim.url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...SIM_HEADERS[dialect], ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await res.text();
  let json;
  try { json = JSON.parse(text); } catch { /* a stream */ }
  return { status: res.status, headers: res.headers, text, json };
}

/** The simulator's answer to the captured upstream request, replayed (must be 200 JSON). */
export async function replay(sim, upstream, { path, headers } = {}) {
  const r = await simDirect(sim, path, upstream, { headers });
  assert.equal(r.status, 200, `replay of the upstream request: ${r.text.slice(0, 300)}`);
  // Captures made by the replay itself are not the gateway's.
  await clearCaptured(sim);
  return r.json ?? r.text;
}

/** Anthropic SSE text → [{event, data}] (no validation; see validateAnthropicStreamText). */
export function anthropicEvents(text) {
  return parseSseText(text).map((e) => ({ event: e.event, data: JSON.parse(e.data) }));
}

/** The simulator's prompt token count for a list of texts: ceil(code points / 4), at least 1. */
export function simPromptTokens(...texts) {
  const n = texts.reduce((a, t) => a + [...t].length, 0);
  return Math.max(1, Math.ceil(n / 4));
}

/** A 1×1 transparent PNG, base64. */
export const PNG_1x1 = 'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAQAAAC1HAwCAAAAC0lEQVR42mNkYAAAAAYAAjCB0C8AAAAASUVORK5CYII=';

/**
 * Runs fn, which must reject with an instance of `Cls`; returns the error. Its message includes
 * what was thrown instead, if anything.
 */
export async function expectError(fn, Cls, what = Cls.name) {
  let err;
  try {
    await fn();
  } catch (e) {
    err = e;
  }
  assert.ok(err, `expected ${what}, but the call succeeded`);
  assert.ok(err instanceof Cls, `expected ${what}, got ${err?.constructor?.name}: status ${err?.status} ${err?.message}`);
  return err;
}

/**
 * A rejected-request fixture of the dialect unit tests (tests/fixtures/dialect/requests_rejected/
 * NAME.json): {from, to, input, param, message} — the exact 400 the codec contract promises.
 */
export function rejectedFixture(name) {
  return JSON.parse(readFileSync(path.join(repoRoot, 'tests', 'fixtures', 'dialect', 'requests_rejected', `${name}.json`), 'utf8'));
}
