// JSON-Schema validation of wire bodies against the vendors' published OpenAPI documents in
// ../shared/specs (see each SOURCE.txt there):
//
//   openai/openapi.yaml        OpenAI's OpenAPI 3.1 document (Chat Completions, Responses, errors)
//   anthropic/hosted_spec.json Anthropic's Stainless-hosted OpenAPI 3.1 snapshot (Nov 2024)
//
// Both documents are loaded once per process (the YAML takes ~0.6 s to parse), their
// `components.schemas` normalised into one JSON Schema 2020-12 document each (the same
// normalisation as ../shared/specs/*/schemas.json: OpenAPI's `nullable: true` becomes
// `anyOf [schema, {type: null}]`, doc-only keywords are dropped, `#/components/schemas/X`
// becomes `#/$defs/X`) and compiled lazily, per schema name, with Ajv 2020 + ajv-formats.
// `strict: false` because the vendor documents carry OpenAPI keywords (discriminator, x-*)
// that are not JSON Schema; those are ignored, as JSON Schema says unknown keywords are.
//
// Every validator either returns the body or throws a SpecValidationError whose message lists
// Ajv's errors as `at /instance/path: message {params}`. The check* variants return
// {valid, errors, message} instead of throwing.
//
// The Anthropic snapshot predates some of what Anthropic's current reference documents (and
// what the gateway is specified to write in docs/dialects.md): `output_config`, `cache_control`
// on blocks, the `ping` and `error` stream events, newer stop reasons and error types. These are
// added by ANTHROPIC_SUPPLEMENTS below — each one named, each one a plain schema fragment — and
// nothing else in the snapshot is relaxed. spec_validate.test.mjs shows the snapshot still
// rejects what the supplements do not name.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import Ajv2020 from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import YAML from 'yaml';

const here = path.dirname(fileURLToPath(import.meta.url));
const repoRoot = path.resolve(here, '..', '..');

/** ../shared/specs beside the repository (override with MERIDIAN_SPECS_DIR). */
export const specsDir = process.env.MERIDIAN_SPECS_DIR
  ? path.resolve(process.env.MERIDIAN_SPECS_DIR)
  : path.resolve(repoRoot, '..', 'shared', 'specs');

// ---------------------------------------------------------------------------------------------
// Normalisation: OpenAPI 3.1 components.schemas -> one JSON Schema 2020-12 document

// Keywords whose value is a schema / an array of schemas / a map of name -> schema.
const SCHEMA_KW = new Set(['items', 'additionalProperties', 'not', 'if', 'then', 'else', 'contains',
  'propertyNames', 'unevaluatedProperties', 'unevaluatedItems', 'additionalItems']);
const SCHEMA_ARRAY_KW = new Set(['allOf', 'anyOf', 'oneOf', 'prefixItems']);
const SCHEMA_MAP_KW = new Set(['properties', 'patternProperties', '$defs', 'definitions', 'dependentSchemas']);
// Documentation-only keywords (no effect on validation).
const DOC_KW = new Set(['description', 'title', 'example', 'examples', 'deprecated', 'externalDocs',
  'readOnly', 'writeOnly', 'xml', '$comment']);

function normaliseRef(ref) {
  const m = /^#\/components\/schemas\/(.+)$/.exec(ref);
  if (!m) throw new Error(`unsupported $ref ${ref}`);
  return `#/$defs/${m[1]}`;
}

/**
 * One OpenAPI schema object -> JSON Schema 2020-12 (pure; exported for the validator tests).
 * `defName` is the components.schemas entry it belongs to. Besides `nullable`, three
 * OpenAPI-3.0/2019-09 leftovers in OpenAI's document are rewritten to their 2020-12 meaning:
 * `$recursiveAnchor: true` + `$recursiveRef: "#"` (a self-reference) -> `$ref` to the entry,
 * boolean `exclusiveMinimum/Maximum` -> the numeric form, duplicate `required` names -> once;
 * and Anthropic's `"type": null` (JSON null: no constraint) is dropped.
 */
export function normaliseSchema(s, defName) {
  const sub = (x) => normaliseSchema(x, defName);
  if (Array.isArray(s)) return s.map(sub);
  if (s === null || typeof s !== 'object') return s;
  const out = {};
  let nullable = false;
  for (const [k, v] of Object.entries(s)) {
    if (k === 'nullable') { nullable = v === true; continue; }
    if (DOC_KW.has(k) || k.startsWith('x-')) continue;
    if (k === '$recursiveAnchor') continue;
    if (k === 'type' && v === null) continue;   // Anthropic's `"type": null` = no type constraint
    if (k === '$ref') out[k] = normaliseRef(v);
    else if (k === '$recursiveRef') {
      if (v !== '#' || !defName) throw new Error(`unsupported $recursiveRef ${v}`);
      out.$ref = `#/$defs/${defName}`;
    } else if ((k === 'exclusiveMinimum' || k === 'exclusiveMaximum') && typeof v === 'boolean') {
      const bound = k === 'exclusiveMinimum' ? 'minimum' : 'maximum';
      if (v && typeof s[bound] === 'number') out[k] = s[bound];
    } else if ((k === 'minimum' || k === 'maximum') && s[k === 'minimum' ? 'exclusiveMinimum' : 'exclusiveMaximum'] === true) {
      // moved into exclusiveMinimum/Maximum above
    } else if (k === 'required' && Array.isArray(v)) out[k] = [...new Set(v)];
    else if (SCHEMA_KW.has(k)) out[k] = typeof v === 'object' ? sub(v) : v;
    else if (SCHEMA_ARRAY_KW.has(k)) out[k] = v.map(sub);
    else if (SCHEMA_MAP_KW.has(k)) out[k] = Object.fromEntries(Object.entries(v).map(([n, x]) => [n, sub(x)]));
    else if (k === 'discriminator') {
      // Kept for readers; Ajv ignores it (its `discriminator` option is off).
      out[k] = v.mapping
        ? { ...v, mapping: Object.fromEntries(Object.entries(v.mapping).map(([n, r]) => [n, normaliseRef(r)])) }
        : v;
    } else out[k] = v;
  }
  if (!nullable) return out;
  // `default` stays outside so that a reader still sees it; it does not validate anything.
  const { default: dflt, ...rest } = out;
  const wrapped = { anyOf: [rest, { type: 'null' }] };
  if (dflt !== undefined) wrapped.default = dflt;
  return wrapped;
}

function documentFrom(openapi, id) {
  const defs = {};
  for (const [name, schema] of Object.entries(openapi.components.schemas)) defs[name] = normaliseSchema(schema, name);
  return { $schema: 'https://json-schema.org/draft/2020-12/schema', $id: id, $defs: defs };
}

// ---------------------------------------------------------------------------------------------
// Anthropic supplements (what Anthropic's current API reference has and the Nov-2024 snapshot
// lacks). Applied to the normalised document. Each entry: [schema name, what, patch(defs)].

const cacheControl = {
  type: 'object',
  properties: { type: { const: 'ephemeral' }, ttl: { enum: ['5m', '1h'] } },
  required: ['type'],
  additionalProperties: false,
};

export const ANTHROPIC_SUPPLEMENTS = [
  ['CreateMessageParams', 'output_config {format: json_schema, effort} (structured outputs)', (d) => {
    d.CreateMessageParams.properties.output_config = {
      type: 'object',
      properties: {
        format: {
          type: 'object',
          properties: { type: { const: 'json_schema' }, schema: { type: 'object' } },
          required: ['type', 'schema'],
          additionalProperties: false,
        },
        effort: { enum: ['low', 'medium', 'high', 'xhigh', 'max'] },
      },
      additionalProperties: false,
    };
  }],
  ['RequestTextBlock, RequestImageBlock, RequestToolUseBlock, RequestToolResultBlock, Tool', 'cache_control {type: ephemeral, ttl}', (d) => {
    for (const n of ['RequestTextBlock', 'RequestImageBlock', 'RequestToolUseBlock', 'RequestToolResultBlock', 'Tool']) {
      d[n].properties.cache_control = { anyOf: [cacheControl, { type: 'null' }] };
    }
  }],
  ['RequestImageBlock', 'source {type: url, url}', (d) => {
    d.RequestImageBlock.properties.source.oneOf.push({
      type: 'object',
      properties: { type: { const: 'url' }, url: { type: 'string' } },
      required: ['type', 'url'],
      additionalProperties: false,
    });
  }],
  ['Message, MessageDelta', 'stop_reason pause_turn, refusal, model_context_window_exceeded', (d) => {
    const more = ['pause_turn', 'refusal', 'model_context_window_exceeded'];
    for (const s of [d.Message.properties.stop_reason, d.MessageDelta.properties.stop_reason]) {
      const e = s.anyOf.find((b) => Array.isArray(b.enum));
      e.enum = [...e.enum, ...more];
    }
  }],
  ['PingEvent (new)', 'stream event {type: ping}', (d) => {
    d.PingEvent = { type: 'object', properties: { type: { const: 'ping' } }, required: ['type'] };
  }],
  ['ErrorResponse', 'error types billing_error, timeout_error, request_too_large; request_id', (d) => {
    const extra = ['billing_error', 'timeout_error', 'request_too_large'].map((t) => ({
      type: 'object', properties: { type: { const: t }, message: { type: 'string' } }, required: ['type', 'message'],
    }));
    d.ErrorResponse.properties.error.oneOf.push(...extra);
    d.ErrorResponse.properties.request_id = { anyOf: [{ type: 'string' }, { type: 'null' }] };
  }],
];

// ---------------------------------------------------------------------------------------------
// Loading

let loaded;

function load() {
  if (loaded) return loaded;
  const openaiYaml = readFileSync(path.join(specsDir, 'openai', 'openapi.yaml'), 'utf8');
  const openaiDoc = YAML.parse(openaiYaml, { maxAliasCount: -1 });
  const anthropicDoc = JSON.parse(readFileSync(path.join(specsDir, 'anthropic', 'hosted_spec.json'), 'utf8'));

  const openai = documentFrom(openaiDoc, 'https://meridian.test/openai.json');
  const anthropic = documentFrom(anthropicDoc, 'https://meridian.test/anthropic.json');
  for (const [, , patch] of ANTHROPIC_SUPPLEMENTS) patch(anthropic.$defs);
  const ajv = new Ajv2020({ strict: false, allErrors: true, verbose: true, allowUnionTypes: true, logger: false });
  addFormats(ajv);
  // OpenAI's timestamp format (seconds since the epoch); not a JSON Schema format.
  ajv.addFormat('unixtime', { type: 'number', validate: (x) => Number.isInteger(x) && x >= 0 });
  ajv.addSchema(openai);
  ajv.addSchema(anthropic);
  loaded = { ajv, docs: { openai, anthropic }, sources: { openai: openaiDoc, anthropic: anthropicDoc }, cache: new Map() };
  return loaded;
}

/** The normalised documents ({openai, anthropic}), e.g. to list schema names. */
export function specDocuments() {
  return load().docs;
}

/** The vendor documents as published ({openai, anthropic}), e.g. for their examples. */
export function specSources() {
  return load().sources;
}

function validatorFor(dialect, name) {
  const { ajv, docs, cache } = load();
  const key = `${dialect}#${name}`;
  let v = cache.get(key);
  if (v) return v;
  const doc = docs[dialect];
  if (!doc) throw new Error(`unknown spec ${dialect}`);
  if (!doc.$defs[name]) throw new Error(`${dialect}: no schema named ${name}`);
  v = ajv.getSchema(`${doc.$id}#/$defs/${name}`);
  cache.set(key, v);
  return v;
}

// ---------------------------------------------------------------------------------------------
// Errors

export class SpecValidationError extends assert.AssertionError {
  constructor(message, errors) {
    super({ message });
    this.name = 'SpecValidationError';
    this.errors = errors;
  }
}

function short(v) {
  const s = JSON.stringify(v);
  return s === undefined ? String(v) : (s.length > 120 ? `${s.slice(0, 117)}...` : s);
}

/** Ajv errors as lines `at /path: message {params}`, deduplicated, at most `max`. */
export function formatErrors(errors, max = 25) {
  const seen = new Set();
  const lines = [];
  for (const e of errors ?? []) {
    const p = { ...e.params };
    let extra = '';
    if (e.keyword === 'additionalProperties') extra = ` '${p.additionalProperty}'`;
    else if (e.keyword === 'enum') extra = ` ${short(p.allowedValues)}`;
    else if (e.keyword === 'const') extra = ` ${short(p.allowedValue)}`;
    else if (e.keyword === 'required') extra = ` ('${p.missingProperty}')`;
    const line = `at ${e.instancePath || '/'}: ${e.message}${extra} [${e.schemaPath}]`;
    if (seen.has(line)) continue;
    seen.add(line);
    lines.push(line);
  }
  const more = lines.length > max ? [`... and ${lines.length - max} more`] : [];
  return [...lines.slice(0, max), ...more].join('\n');
}

// ---------------------------------------------------------------------------------------------
// Unions keyed by `type`: validate against the one member whose `type` matches, so that an error
// names that member's fields instead of every member of a 50-way anyOf.

function typeConstOf(doc, schema, depth = 0) {
  if (!schema || depth > 5) return [];
  if (schema.$ref) return typeConstOf(doc, doc.$defs[schema.$ref.replace('#/$defs/', '')], depth + 1);
  const t = schema.properties?.type;
  if (t) {
    if (t.const !== undefined) return [t.const];
    if (Array.isArray(t.enum)) return t.enum;
  }
  for (const part of schema.allOf ?? []) {
    const r = typeConstOf(doc, part, depth + 1);
    if (r.length) return r;
  }
  return [];
}

function unionMembers(dialect, unionName) {
  const { docs } = load();
  const doc = docs[dialect];
  const u = doc.$defs[unionName];
  const branches = u.anyOf ?? u.oneOf;
  if (!branches) throw new Error(`${unionName} is not a union`);
  const byType = new Map();
  for (const b of branches) {
    if (!b.$ref) continue;
    const name = b.$ref.replace('#/$defs/', '');
    for (const t of typeConstOf(doc, b)) if (!byType.has(t)) byType.set(t, name);
  }
  return byType;
}

// ---------------------------------------------------------------------------------------------
// Generic check / validate

// A failed anyOf/oneOf reports every member's complaints (a 40-member union of output items
// gives hundreds of lines). focus() replaces them with the complaints of the one member meant:
// the member whose `type` const/enum holds the value's `type`, or the only non-null member of a
// nullable wrapper. Unions whose member cannot be told stay as Ajv reported them.

const branchValidators = new WeakMap();

function absolutiseRefs(schema, docId) {
  if (Array.isArray(schema)) return schema.map((x) => absolutiseRefs(x, docId));
  if (!schema || typeof schema !== 'object') return schema;
  const out = {};
  for (const [k, v] of Object.entries(schema)) {
    out[k] = k === '$ref' && typeof v === 'string' && v.startsWith('#') ? `${docId}${v}` : absolutiseRefs(v, docId);
  }
  return out;
}

function branchValidator(dialect, branch) {
  let v = branchValidators.get(branch);
  if (v) return v;
  const { ajv, docs } = load();
  const doc = docs[dialect];
  v = branch.$ref && Object.keys(branch).length === 1
    ? ajv.getSchema(`${doc.$id}${branch.$ref}`)
    : ajv.compile(absolutiseRefs(branch, doc.$id));
  branchValidators.set(branch, v);
  return v;
}

function pickBranch(dialect, branches, value) {
  const doc = load().docs[dialect];
  if (value && typeof value === 'object' && !Array.isArray(value) && typeof value.type === 'string') {
    const byType = branches.filter((b) => typeConstOf(doc, b).includes(value.type));
    if (byType.length === 1) return byType[0];
    if (byType.length > 1) return undefined;
  }
  if (value !== null) {
    const nonNull = branches.filter((b) => !(b.type === 'null' && Object.keys(b).length === 1));
    if (nonNull.length === 1 && nonNull.length < branches.length) return nonNull[0];
    // Members that say nothing about `type` cannot be told apart by it; members that name a
    // different type are ruled out.
    if (value && typeof value === 'object' && typeof value.type === 'string') {
      const open = nonNull.filter((b) => typeConstOf(doc, b).length === 0);
      if (open.length === 1) return open[0];
    }
  }
  return undefined;
}

function focus(dialect, errors, depth = 0) {
  if (depth > 8) return errors;
  const unions = errors.filter((e) => (e.keyword === 'anyOf' || e.keyword === 'oneOf')
    && !e.params?.passingSchemas && Array.isArray(e.parentSchema?.[e.keyword]));
  // Outermost first; a union inside a handled one is re-derived by the recursion.
  unions.sort((a, b) => a.instancePath.length - b.instancePath.length);
  let result = errors;
  const done = [];
  for (const u of unions) {
    const p = u.instancePath;
    if (done.some((d) => p === d || p.startsWith(`${d}/`))) continue;
    const branch = pickBranch(dialect, u.parentSchema[u.keyword], u.data);
    if (!branch) continue;
    const v = branchValidator(dialect, branch);
    if (v(u.data)) continue;
    const inner = focus(dialect, v.errors.map((e) => ({ ...e, instancePath: p + e.instancePath })), depth + 1);
    result = result.filter((e) => !(e.instancePath === p || e.instancePath.startsWith(`${p}/`)));
    result.push(...inner);
    done.push(p);
  }
  return result;
}

/** {valid, errors, message} for body against dialect's schema `name`. */
export function check(dialect, name, body) {
  const v = validatorFor(dialect, name);
  const valid = v(body);
  const errors = valid ? [] : focus(dialect, [...v.errors]);
  return { valid, errors, message: valid ? '' : `${dialect} ${name}: body does not match the schema\n${formatErrors(errors)}\nbody: ${short(body)}` };
}

/** Throws SpecValidationError unless body matches; returns body. */
export function validate(dialect, name, body, where = '') {
  const r = check(dialect, name, body);
  if (!r.valid) throw new SpecValidationError(`${where ? `${where}: ` : ''}${r.message}`, r.errors);
  return body;
}

/** Like check(), for a member of a union keyed by `type` (e.g. ResponseStreamEvent). */
export function checkUnion(dialect, unionName, body) {
  const byType = unionMembers(dialect, unionName);
  const t = body?.type;
  const member = byType.get(t);
  if (!member) {
    const errors = [{
      instancePath: '/type', keyword: 'enum', schemaPath: `#/$defs/${unionName}`, params: {},
      message: `must be one of the ${byType.size} types of ${unionName} (${[...byType.keys()].slice(0, 8).join(', ')}, ...)`,
    }];
    return { valid: false, errors, member: undefined, message: `${dialect} ${unionName}: body does not match the schema\n${formatErrors(errors)}\nbody: ${short(body)}` };
  }
  const r = check(dialect, member, body);
  if (!r.valid) return { ...r, member };
  const whole = check(dialect, unionName, body);   // the union itself must accept it too
  return { ...whole, member };
}

function validateUnion(dialect, unionName, body, where) {
  const r = checkUnion(dialect, unionName, body);
  if (!r.valid) throw new SpecValidationError(`${where ? `${where}: ` : ''}${r.message}`, r.errors);
  return body;
}

// ---------------------------------------------------------------------------------------------
// OpenAI Chat Completions

/** validateOpenAI('CreateChatCompletionResponse' | 'ErrorResponse' | ..., body) */
export function validateOpenAI(name, body, where) {
  return validate('openai', name, body, where);
}

/** One `data:` of a chat completion stream (not `[DONE]`). */
export function validateOpenAIChunk(body, where) {
  return validate('openai', 'CreateChatCompletionStreamResponse', body, where);
}

/** A request body: CreateChatCompletionRequest by default. */
export function validateOpenAIRequest(body, name = 'CreateChatCompletionRequest', where) {
  return validate('openai', name, body, where);
}

/**
 * An in-stream error of a chat completion stream, `data: {"error": {...}}`: OpenAI documents it
 * (its SDKs raise it) as the ErrorResponse body.
 */
export function validateOpenAIStreamError(body, where) {
  return validate('openai', 'ErrorResponse', body, where);
}

// ---------------------------------------------------------------------------------------------
// OpenAI Responses API

/** validateResponses('Response' | 'CreateResponse' | 'ErrorResponse', body) */
export function validateResponses(name, body, where) {
  return validate('openai', name, body, where);
}

/** One event of a Responses stream against ResponseStreamEvent (by its `type`). */
export function validateResponsesEvent(body, where) {
  return validateUnion('openai', 'ResponseStreamEvent', body, where);
}

export function validateResponsesRequest(body, where) {
  return validate('openai', 'CreateResponse', body, where);
}

// ---------------------------------------------------------------------------------------------
// Anthropic Messages

/** validateAnthropic('Message' | 'ErrorResponse' | 'BetaCountMessageTokensResponse' | ..., body) */
export function validateAnthropic(name, body, where) {
  return validate('anthropic', name, body, where);
}

/**
 * One Anthropic SSE event: `event:` name and parsed `data:`. The name must equal data.type;
 * message_* / content_block_* events are checked against MessageStreamEvent (by type), `ping`
 * against PingEvent, `error` against ErrorResponse.
 */
export function validateAnthropicEvent(eventName, data, where) {
  const w = where ? `${where}: ` : '';
  if (eventName !== undefined && eventName !== 'message' && eventName !== data?.type) {
    throw new SpecValidationError(`${w}anthropic SSE event name ${short(eventName)} differs from data.type ${short(data?.type)}`, []);
  }
  if (data?.type === 'ping') return validate('anthropic', 'PingEvent', data, where);
  if (data?.type === 'error') return validate('anthropic', 'ErrorResponse', data, where);
  return validateUnion('anthropic', 'MessageStreamEvent', data, where);
}

/** A request body: CreateMessageParams by default (BetaCountMessageTokensParams for count_tokens). */
export function validateAnthropicRequest(body, name = 'CreateMessageParams', where) {
  return validate('anthropic', name, body, where);
}

// ---------------------------------------------------------------------------------------------
// Whole exchanges

/** Parses SSE text into [{event, data}] (data lines joined by "\n"; comments dropped). */
export function parseSseText(text) {
  const events = [];
  let cur = { event: undefined, data: [] };
  const flush = () => {
    if (cur.data.length > 0 || cur.event !== undefined) events.push({ event: cur.event, data: cur.data.join('\n') });
    cur = { event: undefined, data: [] };
  };
  for (const line of text.split(/\r\n|\r|\n/)) {
    if (line === '') { flush(); continue; }
    if (line.startsWith(':')) continue;
    const c = line.indexOf(':');
    const field = c < 0 ? line : line.slice(0, c);
    let value = c < 0 ? '' : line.slice(c + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'data') cur.data.push(value);
    else if (field === 'event') cur.event = value;
  }
  flush();
  return events;
}

/**
 * Validates every event of an OpenAI chat stream (SSE text). Returns {chunks, errors, done}:
 * the parsed chunks, in-stream error bodies, and whether `[DONE]` ended it. Throws on the first
 * invalid event, or on anything after [DONE].
 */
export function validateOpenAIStreamText(text, where = 'openai stream') {
  const chunks = [];
  const errors = [];
  let done = false;
  parseSseText(text).forEach((ev, i) => {
    if (done) throw new SpecValidationError(`${where}: event ${i} after [DONE]: ${short(ev.data)}`, []);
    if (ev.data === '[DONE]') { done = true; return; }
    const body = JSON.parse(ev.data);
    if (body && typeof body === 'object' && 'error' in body && !('choices' in body)) {
      validateOpenAIStreamError(body, `${where} event ${i}`);
      errors.push(body);
    } else {
      validateOpenAIChunk(body, `${where} event ${i}`);
      chunks.push(body);
    }
  });
  return { chunks, errors, done };
}

/** Validates every event of an Anthropic stream (SSE text). Returns [{event, data}] parsed. */
export function validateAnthropicStreamText(text, where = 'anthropic stream') {
  return parseSseText(text).map((ev, i) => {
    const data = JSON.parse(ev.data);
    if (ev.event === undefined) {
      throw new SpecValidationError(`${where} event ${i}: no \`event:\` line (Anthropic names every event): ${short(data)}`, []);
    }
    validateAnthropicEvent(ev.event, data, `${where} event ${i} (${ev.event})`);
    return { event: ev.event, data };
  });
}

/** Validates every event of a Responses stream (SSE text). Returns [{event, data}] parsed. */
export function validateResponsesStreamText(text, where = 'responses stream') {
  return parseSseText(text).map((ev, i) => {
    const data = JSON.parse(ev.data);
    if (ev.event !== undefined && ev.event !== data.type) {
      throw new SpecValidationError(`${where} event ${i}: SSE event name ${short(ev.event)} differs from data.type ${short(data.type)}`, []);
    }
    validateResponsesEvent(data, `${where} event ${i} (${data.type})`);
    return { event: ev.event, data };
  });
}

/**
 * The request schema of an upstream path the simulator captured, or undefined (Gemini: no
 * schema in ../shared/specs).
 */
export function requestSchemaForPath(p) {
  const bare = p.split('?')[0];
  if (bare === '/v1/chat/completions') return ['openai', 'CreateChatCompletionRequest'];
  if (bare === '/v1/responses') return ['openai', 'CreateResponse'];
  if (bare === '/v1/messages') return ['anthropic', 'CreateMessageParams'];
  // The snapshot's own request schema of POST /v1/messages/count_tokens.
  if (bare === '/v1/messages/count_tokens') return ['anthropic', 'BetaCountMessageTokensParams'];
  return undefined;
}
