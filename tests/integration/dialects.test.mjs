// Every client dialect through the gateway to every backend dialect, with the real simulator
// behind it: plain and streamed answers (the simulator echoes the prompt, so the text to expect
// is exact), usage reported in the client's dialect, errors translated so each SDK raises its own
// class (status, type and retry-after), the upstream request in the backend's own dialect and
// path (GET /sim/requests), token counting, and pseudonyms restored in a translated stream.

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import { TEST_KEY, readAll, readSse, startGateway, startSim, stopAll, testConfig } from './lib.mjs';

const PROMPT = 'alpha beta gamma delta';
let sim, gw;

// One backend per dialect, all on one simulator (which speaks all of them).
const BACKENDS = {
  openai_chat: { id: 'up-openai', model: 'gpt-sim', path: '/v1/chat/completions' },
  anthropic_messages: { id: 'up-anthropic', model: 'claude-sim', path: '/v1/messages' },
  openai_responses: { id: 'up-responses', model: 'resp-sim', path: '/v1/responses' },
  gemini: { id: 'up-gemini', model: 'gemini-sim', path: '/v1beta/models/gemini-sim:generateContent', streamPath: '/v1beta/models/gemini-sim:streamGenerateContent' },
};

// How each client dialect asks, and how its answer is read.
const CLIENTS = {
  openai_chat: {
    request: (model, stream) => ({
      path: '/v1/chat/completions',
      headers: { Authorization: `Bearer ${TEST_KEY}` },
      body: { model, max_tokens: 64, messages: [{ role: 'user', content: PROMPT }], ...(stream ? { stream: true, stream_options: { include_usage: true } } : {}) },
    }),
    text: (j) => j.choices[0].message.content,
    usage: (j) => ({ input: j.usage.prompt_tokens, output: j.usage.completion_tokens }),
    streamText: (events) => events.filter((e) => e.data !== '[DONE]').map((e) => JSON.parse(e.data)).map((c) => c.choices?.[0]?.delta?.content ?? '').join(''),
    streamEnded: (events) => events.at(-1).data === '[DONE]',
    streamUsage: (events) => {
      const u = events.filter((e) => e.data !== '[DONE]').map((e) => JSON.parse(e.data)).find((c) => c.usage)?.usage;
      return u && { input: u.prompt_tokens, output: u.completion_tokens };
    },
    error: (status, j) => ({ status, type: j.error.type }),
  },
  anthropic_messages: {
    request: (model, stream) => ({
      path: '/v1/messages',
      headers: { 'x-api-key': TEST_KEY, 'anthropic-version': '2023-06-01' },
      body: { model, max_tokens: 64, messages: [{ role: 'user', content: PROMPT }], ...(stream ? { stream: true } : {}) },
    }),
    text: (j) => j.content.filter((b) => b.type === 'text').map((b) => b.text).join(''),
    usage: (j) => ({ input: j.usage.input_tokens, output: j.usage.output_tokens }),
    streamText: (events) => events.map((e) => JSON.parse(e.data)).filter((d) => d.type === 'content_block_delta').map((d) => d.delta.text ?? '').join(''),
    streamEnded: (events) => events.at(-1).event === 'message_stop',
    streamUsage: (events) => {
      const data = events.map((e) => JSON.parse(e.data));
      const start = data.find((d) => d.type === 'message_start');
      const delta = data.filter((d) => d.type === 'message_delta').at(-1);
      return start && delta && { input: start.message.usage.input_tokens, output: delta.usage.output_tokens };
    },
    error: (status, j) => ({ status, type: j.error.type }),
  },
  openai_responses: {
    request: (model, stream) => ({
      path: '/v1/responses',
      headers: { Authorization: `Bearer ${TEST_KEY}` },
      body: { model, max_output_tokens: 64, input: PROMPT, ...(stream ? { stream: true } : {}) },
    }),
    text: (j) => j.output.filter((o) => o.type === 'message').flatMap((o) => o.content).filter((c) => c.type === 'output_text').map((c) => c.text).join(''),
    usage: (j) => ({ input: j.usage.input_tokens, output: j.usage.output_tokens }),
    streamText: (events) => events.map((e) => JSON.parse(e.data)).filter((d) => d.type === 'response.output_text.delta').map((d) => d.delta).join(''),
    streamEnded: (events) => events.at(-1).event === 'response.completed',
    streamUsage: (events) => {
      const done = events.map((e) => JSON.parse(e.data)).find((d) => d.type === 'response.completed');
      return done && { input: done.response.usage.input_tokens, output: done.response.usage.output_tokens };
    },
    error: (status, j) => ({ status, type: j.error.type }),
  },
  gemini: {
    request: (model, stream) => ({
      path: `/v1beta/models/${model}:${stream ? 'streamGenerateContent?alt=sse' : 'generateContent'}`,
      headers: { 'x-goog-api-key': TEST_KEY },
      body: { contents: [{ role: 'user', parts: [{ text: PROMPT }] }], generationConfig: { maxOutputTokens: 64 } },
    }),
    text: (j) => j.candidates[0].content.parts.map((p) => p.text ?? '').join(''),
    usage: (j) => ({ input: j.usageMetadata.promptTokenCount, output: j.usageMetadata.candidatesTokenCount }),
    streamText: (events) => events.map((e) => JSON.parse(e.data)).map((c) => (c.candidates?.[0]?.content?.parts ?? []).map((p) => p.text ?? '').join('')).join(''),
    streamEnded: (events) => Boolean(JSON.parse(events.at(-1).data).candidates?.[0]?.finishReason),
    streamUsage: (events) => {
      const u = events.map((e) => JSON.parse(e.data)).filter((c) => c.usageMetadata).at(-1)?.usageMetadata;
      return u && { input: u.promptTokenCount, output: u.candidatesTokenCount };
    },
    error: (status, j) => ({ status, type: j.error.status }),
  },
};

async function send(client, model, stream, headers = {}) {
  const r = CLIENTS[client].request(model, stream);
  return fetch(`${gw.url}${r.path}`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', 'x-sim-echo': '1', ...r.headers, ...headers },
    body: JSON.stringify(r.body),
  });
}

async function captured() {
  const res = await fetch(`${sim.url}/sim/requests`);
  return (await res.json()).requests;
}

async function clearCaptured() {
  await fetch(`${sim.url}/sim/requests`, { method: 'DELETE' });
}

before(async () => {
  sim = await startSim(['--models', 'gpt-sim,claude-sim,gemini-sim,resp-sim', '--name', 'sim', '--output-tokens', '8']);
  gw = await startGateway(testConfig({
    backends: [
      { id: 'up-openai', provider: 'simulator', dialect: 'openai_chat', base_url: `${sim.url}/v1`, models: ['gpt-sim'], tier: 'local' },
      { id: 'up-anthropic', provider: 'simulator', dialect: 'anthropic_messages', api_key: 'sk-sim-upstream', base_url: `${sim.url}/v1`, models: ['claude-sim'], tier: 'local' },
      { id: 'up-responses', provider: 'simulator', dialect: 'openai_responses', base_url: `${sim.url}/v1`, models: ['resp-sim'], tier: 'local' },
      { id: 'up-gemini', provider: 'simulator', dialect: 'gemini', api_key: 'sk-sim-upstream', base_url: `${sim.url}/v1beta`, models: ['gemini-sim'], tier: 'local' },
    ],
    policies: [{ name: 'pseudonymize-emails', when: { data_classes: ['email'] }, action: 'pseudonymize' }],
  }));
});

after(async () => {
  await stopAll();
});

for (const client of Object.keys(CLIENTS)) {
  for (const [upstream, backend] of Object.entries(BACKENDS)) {
    describe(`${client} client → ${upstream} backend`, () => {
      test('non-streaming: the answer, its usage, and the upstream request in the backend dialect', async () => {
        await clearCaptured();
        const res = await readAll(await send(client, backend.model, false));
        assert.equal(res.status, 200, res.text);
        assert.equal(res.headers.get('x-meridian-backend'), backend.id);
        assert.equal(CLIENTS[client].text(res.json), PROMPT);
        const usage = CLIENTS[client].usage(res.json);
        assert.ok(usage.input > 0 && usage.output > 0, JSON.stringify(usage));
        const reqs = await captured();
        assert.equal(reqs.length, 1);
        assert.equal(reqs[0].path, backend.path);
        const sent = JSON.parse(reqs[0].body);
        if (upstream === 'gemini') {
          assert.equal(sent.contents[0].parts[0].text, PROMPT);
        } else if (upstream === 'openai_responses') {
          assert.equal(sent.model, backend.model);
          const input = typeof sent.input === 'string' ? sent.input : sent.input[0].content;
          assert.equal(typeof input === 'string' ? input : input[0].text, PROMPT, reqs[0].body);
        } else {
          assert.equal(sent.model, backend.model);
          assert.equal(sent.messages[0].content, PROMPT);
        }
      });

      test('streaming: the text arrives whole, ends properly, and carries usage', async () => {
        await clearCaptured();
        const res = await send(client, backend.model, true, { 'x-sim-chunk-bytes': '5' });
        assert.equal(res.status, 200);
        assert.match(res.headers.get('content-type'), /^text\/event-stream/);
        const events = await readSse(res);
        assert.ok(events.length > 2, JSON.stringify(events));
        assert.equal(CLIENTS[client].streamText(events), PROMPT);
        assert.ok(CLIENTS[client].streamEnded(events), JSON.stringify(events.at(-1)));
        const usage = CLIENTS[client].streamUsage(events);
        assert.ok(usage && usage.output > 0, JSON.stringify(usage));
        const reqs = await captured();
        assert.equal(reqs[0].path, backend.streamPath ?? backend.path);
      });

      test('a 429 becomes the client dialect\'s rate-limit error with retry-after', async () => {
        const res = await readAll(await send(client, backend.model, false, { 'x-sim-fault': '429', 'x-sim-retry-after': '7' }));
        assert.equal(res.status, 429, res.text);
        assert.equal(res.headers.get('retry-after'), '7');
        const expectedType = { openai_chat: 'requests', openai_responses: 'requests', anthropic_messages: 'rate_limit_error', gemini: 'RESOURCE_EXHAUSTED' }[client];
        assert.equal(CLIENTS[client].error(res.status, res.json).type, expectedType, res.text);
      });
    });
  }
}

describe('errors that depend on the pair', () => {
  test('Anthropic 529 overloaded: 529 for an Anthropic client, 503 for the others', async () => {
    for (const [client, status, type] of [['anthropic_messages', 529, 'overloaded_error'], ['openai_chat', 503, undefined], ['gemini', 503, 'UNAVAILABLE']]) {
      const res = await readAll(await send(client, 'claude-sim', false, { 'x-sim-fault': 'overloaded' }));
      assert.equal(res.status, status, `${client}: ${res.text}`);
      if (type) assert.equal(CLIENTS[client].error(res.status, res.json).type, type);
    }
  });

  test('an error in the middle of a translated stream is the client dialect\'s error event', async () => {
    const res = await send('anthropic_messages', 'gpt-sim', true, { 'x-sim-fault': 'error-during' });
    assert.equal(res.status, 200);
    const events = await readSse(res);
    const last = events.at(-1);
    assert.equal(last.event, 'error', JSON.stringify(events));
    assert.equal(JSON.parse(last.data).type, 'error');
  });

  test('a field the backend dialect cannot express is a 400 naming it, and nothing is sent', async () => {
    await clearCaptured();
    const res = await readAll(await fetch(`${gw.url}/v1/messages`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', 'x-api-key': TEST_KEY },
      body: JSON.stringify({ model: 'gpt-sim', max_tokens: 16, top_k: 3, messages: [{ role: 'user', content: 'hi' }] }),
    }));
    assert.equal(res.status, 400, res.text);
    assert.equal(res.json.type, 'error');
    assert.equal(res.json.error.type, 'invalid_request_error');
    assert.match(res.json.error.message, /top_k/);
    assert.equal((await captured()).length, 0);
  });

  test('a malformed Anthropic body is a 400 in Anthropic\'s format naming the field', async () => {
    const res = await readAll(await fetch(`${gw.url}/v1/messages`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', 'x-api-key': TEST_KEY },
      body: JSON.stringify({ model: 'claude-sim', max_tokens: 16, messages: [{ role: 'robot', content: 'hi' }] }),
    }));
    assert.equal(res.status, 400, res.text);
    assert.deepEqual(Object.keys(res.json), ['type', 'error']);
    assert.match(res.json.error.message, /messages\[0\]\.role/);
  });

  test('a missing key names the header each SDK uses', async () => {
    const anthropic = await readAll(await fetch(`${gw.url}/v1/messages`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: '{}' }));
    assert.equal(anthropic.status, 401);
    assert.equal(anthropic.json.error.type, 'authentication_error');
    assert.match(anthropic.json.error.message, /x-api-key/);
    const gemini = await readAll(await fetch(`${gw.url}/v1beta/models/gemini-sim:generateContent`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: '{}' }));
    assert.equal(gemini.status, 401);
    assert.match(gemini.json.error.message, /x-goog-api-key/);
    const query = await readAll(await fetch(`${gw.url}/v1beta/models/gemini-sim:generateContent?key=${TEST_KEY}`, {
      method: 'POST', headers: { 'Content-Type': 'application/json', 'x-sim-echo': '1' }, body: JSON.stringify(CLIENTS.gemini.request('gemini-sim', false).body),
    }));
    assert.equal(query.status, 200, query.text);
  });

  test('Gemini streaming without alt=sse is refused with a 400 naming alt', async () => {
    const res = await readAll(await fetch(`${gw.url}/v1beta/models/gemini-sim:streamGenerateContent`, {
      method: 'POST', headers: { 'Content-Type': 'application/json', 'x-goog-api-key': TEST_KEY }, body: JSON.stringify(CLIENTS.gemini.request('gemini-sim', false).body),
    }));
    assert.equal(res.status, 400);
    assert.equal(res.json.error.status, 'INVALID_ARGUMENT');
    assert.match(res.json.error.message, /alt=sse/);
  });
});

describe('token counting', () => {
  const countBody = { model: 'claude-sim', messages: [{ role: 'user', content: PROMPT }] };

  test('Anthropic count_tokens against an Anthropic backend is the backend\'s own count', async () => {
    await clearCaptured();
    const res = await readAll(await fetch(`${gw.url}/v1/messages/count_tokens`, {
      method: 'POST', headers: { 'Content-Type': 'application/json', 'x-api-key': TEST_KEY }, body: JSON.stringify(countBody),
    }));
    assert.equal(res.status, 200, res.text);
    assert.ok(Number.isInteger(res.json.input_tokens) && res.json.input_tokens > 0);
    const reqs = await captured();
    assert.equal(reqs[0].path, '/v1/messages/count_tokens');
    assert.equal(JSON.parse(reqs[0].body).max_tokens, undefined);
  });

  test('Anthropic count_tokens against a Gemini backend asks countTokens and answers input_tokens', async () => {
    await clearCaptured();
    const res = await readAll(await fetch(`${gw.url}/v1/messages/count_tokens`, {
      method: 'POST', headers: { 'Content-Type': 'application/json', 'x-api-key': TEST_KEY }, body: JSON.stringify({ ...countBody, model: 'gemini-sim' }),
    }));
    assert.equal(res.status, 200, res.text);
    assert.deepEqual(Object.keys(res.json), ['input_tokens']);
    const reqs = await captured();
    assert.equal(reqs[0].path, '/v1beta/models/gemini-sim:countTokens');
  });

  test('against an OpenAI backend the gateway counts locally and says so', async () => {
    await clearCaptured();
    const res = await readAll(await fetch(`${gw.url}/v1/messages/count_tokens`, {
      method: 'POST', headers: { 'Content-Type': 'application/json', 'x-api-key': TEST_KEY }, body: JSON.stringify({ ...countBody, model: 'gpt-sim' }),
    }));
    assert.equal(res.status, 200, res.text);
    assert.equal(res.headers.get('x-meridian-token-count'), 'local-estimate');
    // "alpha beta gamma delta" plus the message's line break: 5 pieces for the estimate to count.
    assert.ok(res.json.input_tokens >= 4 && res.json.input_tokens <= 8, res.text);
    assert.equal((await captured()).length, 0);
  });

  test('Gemini countTokens against a Gemini backend goes up as a whole generateContentRequest', async () => {
    await clearCaptured();
    const res = await readAll(await fetch(`${gw.url}/v1beta/models/gemini-sim:countTokens`, {
      method: 'POST', headers: { 'Content-Type': 'application/json', 'x-goog-api-key': TEST_KEY },
      body: JSON.stringify({ contents: [{ role: 'user', parts: [{ text: PROMPT }] }] }),
    }));
    assert.equal(res.status, 200, res.text);
    assert.ok(Number.isInteger(res.json.totalTokens) && res.json.totalTokens > 0, res.text);
    const reqs = await captured();
    assert.equal(reqs[0].path, '/v1beta/models/gemini-sim:countTokens');
    const sent = JSON.parse(reqs[0].body);
    assert.equal(sent.generateContentRequest.model, 'models/gemini-sim');
    assert.equal(sent.generateContentRequest.contents[0].parts[0].text, PROMPT);
  });

  test('Gemini countTokens against an Anthropic backend answers totalTokens', async () => {
    const res = await readAll(await fetch(`${gw.url}/v1beta/models/claude-sim:countTokens`, {
      method: 'POST', headers: { 'Content-Type': 'application/json', 'x-goog-api-key': TEST_KEY },
      body: JSON.stringify({ contents: [{ role: 'user', parts: [{ text: PROMPT }] }] }),
    }));
    assert.equal(res.status, 200, res.text);
    assert.ok(Number.isInteger(res.json.totalTokens) && res.json.totalTokens > 0, res.text);
  });
});

describe('pseudonyms across dialects', () => {
  test('an Anthropic client\'s e-mail leaves as a placeholder and comes back in a translated stream', async () => {
    await clearCaptured();
    const email = 'grace.hopper@example.com';
    const res = await fetch(`${gw.url}/v1/messages`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', 'x-api-key': TEST_KEY, 'x-sim-echo': '1', 'x-sim-chunk-bytes': '4' },
      body: JSON.stringify({ model: 'gpt-sim', max_tokens: 64, stream: true, messages: [{ role: 'user', content: `mail ${email} now` }] }),
    });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('x-meridian-pseudonymized'), '1');
    const events = await readSse(res);
    assert.equal(CLIENTS.anthropic_messages.streamText(events), `mail ${email} now`);
    const sent = JSON.parse((await captured())[0].body);
    assert.doesNotMatch(JSON.stringify(sent), /grace\.hopper/);
    assert.match(sent.messages[0].content, /^mail \[EMAIL_[0-9a-f]{8}\] now$/);
  });
});
