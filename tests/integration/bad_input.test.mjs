// Bad requests: broken JSON, invalid UTF-8, wrong content types, size limits, malformed HTTP,
// missing or mistyped fields (with the exact `param`). After each, the gateway still serves.

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import {
  CHAT, EMBEDDINGS, TEST_KEY, assertOpenAiError, chat, chatBody, openRawSocket, parseHttpResponse, rawRequest,
  readAll, simStats, startStack, stopAll, stopCleanly,
} from './lib.mjs';

let sim;
let gw;

before(async () => {
  // Small limits so the size tests stay small: 1 KiB body, 1 KiB head.
  ({ sim, gw } = await startStack({ server: { max_body_size: '1KiB', max_header_size: '1KiB' } }));
});

after(async () => {
  try {
    if (gw) await stopCleanly(gw, 'gateway');
  } finally {
    await stopAll();
  }
});

async function stillServes() {
  const r = await chat(gw, chatBody('still alive?'));
  assert.equal(r.status, 200, `gateway stopped serving: ${r.status} ${r.text}`);
}

/** POSTs raw bytes (string or Buffer) with the given content type. */
async function postRaw(path, body, contentType = 'application/json', extraHeaders = {}) {
  const headers = { Authorization: `Bearer ${TEST_KEY}`, ...extraHeaders };
  if (contentType !== null) headers['Content-Type'] = contentType;
  return readAll(await fetch(`${gw.url}${path}`, { method: 'POST', headers, body }));
}

function httpHead(path, headers) {
  return `POST ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\n${Object.entries(headers).map(([k, v]) => `${k}: ${v}\r\n`).join('')}\r\n`;
}

describe('JSON bodies', () => {
  const cases = [
    ['truncated JSON', '{"model":"sim-small","messages":[', /not valid JSON/],
    ['trailing garbage', '{"model":"sim-small","messages":[{"role":"user","content":"x"}]} extra', /not valid JSON/],
    ['single quotes', "{'model':'sim-small'}", /not valid JSON/],
    ['a JSON array', '[{"model":"sim-small"}]', /must be a JSON object/],
    ['a JSON string', '"hello"', /must be a JSON object/],
    ['an empty body', '', /empty/],
    ['nesting deeper than 64', `{"model":"sim-small","messages":${'['.repeat(100)}${']'.repeat(100)}}`, /not valid JSON/],
  ];
  for (const [name, body, message] of cases) {
    test(`${name} → 400 invalid_request`, async () => {
      const before = (await simStats(sim)).paths.chat_completions;
      const r = await postRaw(CHAT, body);
      assert.equal(r.status, 400);
      const e = assertOpenAiError(r.json, { code: 'invalid_request', type: 'invalid_request_error', param: null });
      assert.match(e.message, message);
      assert.equal((await simStats(sim)).paths.chat_completions, before, 'a rejected request reached the upstream');
      await stillServes();
    });
  }

  test('invalid UTF-8 inside a JSON string → 400 (chat and embeddings)', async () => {
    for (const [path, prefix, suffix] of [
      [CHAT, '{"model":"sim-small","messages":[{"role":"user","content":"bad ', '"}]}'],
      [EMBEDDINGS, '{"model":"sim-embed","input":"bad ', '"}'],
    ]) {
      for (const bytes of [[0xff], [0xc3, 0x28], [0xed, 0xa0, 0x80], [0xe2, 0x82]]) {
        const body = Buffer.concat([Buffer.from(prefix), Buffer.from(bytes), Buffer.from(suffix)]);
        const r = await postRaw(path, body);
        assert.equal(r.status, 400, `${path} with bytes ${bytes.map((b) => b.toString(16))}: ${r.text}`);
        assertOpenAiError(r.json, { code: 'invalid_request' });
      }
    }
    // A lone surrogate written as an escape is not a Unicode scalar value either.
    const r = await postRaw(CHAT, '{"model":"sim-small","messages":[{"role":"user","content":"a\\ud800b"}]}');
    assert.equal(r.status, 400, r.text);
    await stillServes();
  });

  test('valid multi-byte UTF-8 is accepted', async () => {
    const r = await postRaw(CHAT, Buffer.from(JSON.stringify(chatBody('Grüße, 世界 🌍'))));
    assert.equal(r.status, 200);
  });
});

describe('content types', () => {
  for (const ct of ['text/plain', 'application/x-www-form-urlencoded', 'application/jsonx', null]) {
    test(`Content-Type ${ct ?? '(none)'} → 415`, async () => {
      const r = await postRaw(CHAT, JSON.stringify(chatBody()), ct);
      assert.equal(r.status, 415);
      assertOpenAiError(r.json, { code: 'unsupported_media_type', type: 'invalid_request_error' });
      await stillServes();
    });
  }

  test('application/json with parameters and in upper case is accepted', async () => {
    for (const ct of ['application/json; charset=utf-8', 'APPLICATION/JSON', 'Application/Json ;charset=UTF-8']) {
      const r = await postRaw(CHAT, JSON.stringify(chatBody()), ct);
      assert.equal(r.status, 200, `${ct}: ${r.text}`);
    }
  });

  test('embeddings check the content type too', async () => {
    const r = await postRaw(EMBEDDINGS, JSON.stringify({ model: 'sim-embed', input: 'x' }), 'text/plain');
    assert.equal(r.status, 415);
  });
});

describe('size limits', () => {
  /** A valid chat body padded to exactly `size` bytes. */
  function bodyOfSize(size) {
    const base = JSON.stringify(chatBody(''));
    const body = JSON.stringify(chatBody('x'.repeat(size - base.length)));
    assert.equal(Buffer.byteLength(body), size);
    return body;
  }

  test('a body of exactly max_body_size (1 KiB) is accepted', async () => {
    const r = await postRaw(CHAT, bodyOfSize(1024));
    assert.equal(r.status, 200);
  });

  test('a body one byte over max_body_size → 413, connection closed', async () => {
    const body = bodyOfSize(1025);
    const res = await rawRequest(gw.port,
      httpHead(CHAT, { Authorization: `Bearer ${TEST_KEY}`, 'Content-Type': 'application/json', 'Content-Length': 1025 }) + body);
    assert.ok(res.closed, 'the server must close the connection after a 413');
    assert.equal(res.response.status, 413);
    assertOpenAiError(JSON.parse(res.response.body), { code: 'payload_too_large' });
    await stillServes();
  });

  test('a chunked body over max_body_size → 413', async () => {
    const piece = 'x'.repeat(600);
    const chunk = `${piece.length.toString(16)}\r\n${piece}\r\n`;
    const res = await rawRequest(gw.port,
      httpHead(CHAT, { Authorization: `Bearer ${TEST_KEY}`, 'Content-Type': 'application/json', 'Transfer-Encoding': 'chunked' })
      + chunk + chunk + '0\r\n\r\n');
    assert.equal(res.response.status, 413);
    assertOpenAiError(JSON.parse(res.response.body), { code: 'payload_too_large' });
    await stillServes();
  });

  test('a request head over max_header_size (1 KiB) → 431', async () => {
    const res = await rawRequest(gw.port,
      httpHead(CHAT, { Authorization: `Bearer ${TEST_KEY}`, 'X-Big': 'b'.repeat(2000), 'Content-Length': 0 }));
    assert.ok(res.closed);
    assert.equal(res.response.status, 431);
    assertOpenAiError(JSON.parse(res.response.body));
    await stillServes();
  });
});

describe('malformed HTTP', () => {
  for (const [name, bytes] of [
    ['a garbage request line', 'HELLO WORLD\r\n\r\n'],
    ['a request line without a version', 'GET /healthz\r\n\r\n'],
    ['an unknown HTTP version', 'GET /healthz HTTP/9.9\r\nHost: x\r\n\r\n'],
    ['a header line without a colon', 'GET /healthz HTTP/1.1\r\nHost x\r\n\r\n'],
    ['a non-numeric Content-Length', 'POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Length: ten\r\n\r\n'],
    ['binary junk', '\x00\x01\x02\xff\xfe\r\n\r\n'],
  ]) {
    test(`${name} → 400, connection closed`, async () => {
      const res = await rawRequest(gw.port, bytes);
      assert.ok(res.closed, 'the server must close the connection');
      assert.equal(res.response.status, 400, `raw answer: ${JSON.stringify(res.raw.slice(0, 300))}`);
      const e = assertOpenAiError(JSON.parse(res.response.body), { code: 'invalid_request' });
      assert.match(e.message, /malformed HTTP request/);
      await stillServes();
    });
  }

  test('Expect: 100-continue gets 100 Continue, then the answer', async () => {
    const body = JSON.stringify(chatBody());
    const conn = await openRawSocket(gw.port);
    try {
      await conn.write(httpHead(CHAT, {
        Authorization: `Bearer ${TEST_KEY}`, 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body),
        Expect: '100-continue', Connection: 'close',
      }));
      await conn.waitFor((d) => d.includes('\r\n\r\n'));
      assert.match(conn.received(), /^HTTP\/1\.1 100 Continue\r\n\r\n$/);
      await conn.write(body);
      assert.ok(await conn.waitClose(5000));
      const final = parseHttpResponse(conn.received().slice('HTTP/1.1 100 Continue\r\n\r\n'.length));
      assert.equal(final.status, 200);
      assert.equal(JSON.parse(final.body).object, 'chat.completion');
    } finally {
      conn.destroy();
    }
  });

  test('pipelined requests are answered in order', async () => {
    const one = 'GET /healthz HTTP/1.1\r\nHost: x\r\nX-Request-Id: pipe-1\r\n\r\n';
    const two = 'GET /readyz HTTP/1.1\r\nHost: x\r\nX-Request-Id: pipe-2\r\nConnection: close\r\n\r\n';
    const res = await rawRequest(gw.port, one + two);
    assert.ok(res.closed);
    const first = res.raw.indexOf('x-request-id: pipe-1');
    const second = res.raw.indexOf('x-request-id: pipe-2');
    assert.ok(first > 0 && second > first, res.raw);
    assert.equal(res.raw.match(/^HTTP\/1\.1 200 OK/gm).length, 2);
  });
});

describe('missing and mistyped fields', () => {
  const messages = [{ role: 'user', content: 'hi' }];
  const chatCases = [
    ['no model', { messages }, 'model'],
    ['model null', { model: null, messages }, 'model'],
    ['model a number', { model: 42, messages }, 'model'],
    ['model empty', { model: '', messages }, 'model'],
    ['model longer than 256', { model: 'm'.repeat(257), messages }, 'model'],
    ['no messages', { model: 'sim-small' }, 'messages'],
    ['messages a string', { model: 'sim-small', messages: 'hi' }, 'messages'],
    ['messages empty', { model: 'sim-small', messages: [] }, 'messages'],
    ['messages an object', { model: 'sim-small', messages: { role: 'user' } }, 'messages'],
    ['stream a string', { model: 'sim-small', messages, stream: 'yes' }, 'stream'],
    ['stream a number', { model: 'sim-small', messages, stream: 1 }, 'stream'],
    ['stream_options a string', { model: 'sim-small', messages, stream: true, stream_options: 'usage' }, 'stream_options'],
    ['stream_options.include_usage a string', { model: 'sim-small', messages, stream: true, stream_options: { include_usage: 'yes' } },
      'stream_options.include_usage'],
  ];
  for (const [name, body, param] of chatCases) {
    test(`chat: ${name} → 400 param ${param}`, async () => {
      const before = (await simStats(sim)).paths.chat_completions;
      const r = await postRaw(CHAT, JSON.stringify(body));
      assert.equal(r.status, 400, r.text);
      assertOpenAiError(r.json, { code: 'invalid_request', type: 'invalid_request_error', param });
      assert.equal((await simStats(sim)).paths.chat_completions, before);
      await stillServes();
    });
  }

  const embeddingCases = [
    ['no model', { input: 'x' }, 'model'],
    ['model a number', { model: 1, input: 'x' }, 'model'],
    ['no input', { model: 'sim-embed' }, 'input'],
    ['input a number', { model: 'sim-embed', input: 5 }, 'input'],
    ['input an object', { model: 'sim-embed', input: { text: 'x' } }, 'input'],
  ];
  for (const [name, body, param] of embeddingCases) {
    test(`embeddings: ${name} → 400 param ${param}`, async () => {
      const r = await postRaw(EMBEDDINGS, JSON.stringify(body));
      assert.equal(r.status, 400, r.text);
      assertOpenAiError(r.json, { code: 'invalid_request', param });
    });
  }

  test('deeper validation is the backend\'s: its 400 is relayed with its param', async () => {
    const r = await postRaw(CHAT, JSON.stringify({ model: 'sim-small', messages: [{ role: 5, content: 'x' }] }));
    assert.equal(r.status, 400);
    assertOpenAiError(r.json, { type: 'invalid_request_error', param: 'messages[0].role' });
    assert.equal(r.headers.get('x-meridian-backend'), 'sim-a');
    await stillServes();
  });
});
