// Lossless drop-in: the official OpenAI and Anthropic TypeScript SDKs send
// documents, files, betas, token arrays and parameters through Tollgate,
// which passes them on whole, translates them, or refuses them out loud.
// Driven by TestLosslessNode in test/sdk/go, which starts the gateway and
// fakes, sets:
//
//   TOLLGATE_URL, TOLLGATE_KEY      gateway base URL and a virtual key
//   TOLLGATE_DROP_KEY               a key allowed to drop unsupported parameters
//   TOLLGATE_REPLY                  the fakes' reply text
//   TOLLGATE_CHAT_MODEL             a model served by the OpenAI fake
//   TOLLGATE_EMBEDDING_MODEL        an embedding model served by the OpenAI fake
//   TOLLGATE_ANTHROPIC_MODEL        a model served by the Anthropic fake
//   TOLLGATE_PDF                    a small PDF, base64
//
// and then checks what the fakes received.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import OpenAI from 'openai';
import Anthropic from '@anthropic-ai/sdk';

const env = process.env;
const skip = env.TOLLGATE_DROP_KEY ? false : 'not run through TestLosslessNode';
const gpt = env.TOLLGATE_CHAT_MODEL;
const claude = env.TOLLGATE_ANTHROPIC_MODEL;
const pdf = env.TOLLGATE_PDF;
const openai = (apiKey = env.TOLLGATE_KEY) => new OpenAI({ baseURL: env.TOLLGATE_URL + '/v1', apiKey, maxRetries: 0 });
const anthropic = () => new Anthropic({ baseURL: env.TOLLGATE_URL, apiKey: env.TOLLGATE_KEY, maxRetries: 0 });

const filePart = {
  type: 'file',
  file: { file_data: `data:application/pdf;base64,${pdf}`, filename: 'report.pdf' },
};

test('Anthropic PDF document to Claude', { skip }, async () => {
  const msg = await anthropic().messages.create({
    model: claude, max_tokens: 256,
    messages: [{ role: 'user', content: [
      { type: 'document', source: { type: 'base64', media_type: 'application/pdf', data: pdf },
        title: 'report.pdf', citations: { enabled: true } },
      { type: 'text', text: 'node pdf' },
    ] }],
  });
  assert.match(msg.content[0].text, /\[document: report\.pdf\]/);
});

test('anthropic-beta through client.beta.messages', { skip }, async () => {
  const msg = await anthropic().beta.messages.create({
    model: claude, max_tokens: 64, betas: ['context-1m-2025-08-07'],
    messages: [{ role: 'user', content: 'node beta' }],
  });
  assert.equal(msg.type, 'message');
});

test('OpenAI file part to GPT', { skip }, async () => {
  const resp = await openai().chat.completions.create({
    model: gpt, messages: [{ role: 'user', content: [filePart, { type: 'text', text: 'node file to gpt' }] }],
  });
  assert.match(resp.choices[0].message.content, /\[file: report\.pdf\]/);
});

test('OpenAI file part to Claude', { skip }, async () => {
  const resp = await openai().chat.completions.create({
    model: claude, messages: [{ role: 'user', content: [filePart, { type: 'text', text: 'node file to claude' }] }],
  });
  assert.match(resp.choices[0].message.content, /\[document: report\.pdf\]/);
});

test('token-array embeddings to an OpenAI-dialect upstream', { skip }, async () => {
  const resp = await openai().embeddings.create({ model: env.TOLLGATE_EMBEDDING_MODEL, input: [[1212, 318, 257], [9906]] });
  assert.equal(resp.data.length, 2);
  assert.ok(resp.data[0].embedding.length > 0);
});

test('logprobs to Claude is refused', { skip }, async () => {
  await assert.rejects(
    openai().chat.completions.create({ model: claude, logprobs: true, messages: [{ role: 'user', content: 'hi' }] }),
    (err) => {
      assert.ok(err instanceof OpenAI.BadRequestError, `got ${err}`);
      assert.equal(err.param, 'logprobs');
      assert.match(err.message, new RegExp(claude));
      return true;
    });
});

test('logprobs to Claude is dropped with a key that allows it', { skip }, async () => {
  const { data, response } = await openai(env.TOLLGATE_DROP_KEY).chat.completions
    .create({ model: claude, logprobs: true, messages: [{ role: 'user', content: 'hi' }] })
    .withResponse();
  assert.equal(data.choices[0].message.content, env.TOLLGATE_REPLY);
  assert.equal(response.headers.get('x-tollgate-dropped-params'), 'logprobs');
});

test('json_schema to Claude is answered through a forced tool', { skip }, async () => {
  const resp = await openai().chat.completions.create({
    model: claude,
    messages: [{ role: 'user', content: 'node structured' }],
    response_format: { type: 'json_schema', json_schema: { name: 'answer', schema: {
      type: 'object', properties: { text: { type: 'string' } }, required: ['text'] } } },
  });
  const choice = resp.choices[0];
  assert.equal(choice.finish_reason, 'stop');
  assert.deepEqual(JSON.parse(choice.message.content), { text: 'node structured' });
});

test('json_schema to Claude streams the answer as text', { skip }, async () => {
  const stream = await openai().chat.completions.create({
    model: claude, stream: true,
    messages: [{ role: 'user', content: 'node structured stream' }],
    response_format: { type: 'json_schema', json_schema: { name: 'answer', schema: {
      type: 'object', properties: { text: { type: 'string' } } } } },
  });
  let text = '';
  let finish;
  for await (const chunk of stream) {
    for (const c of chunk.choices) {
      text += c.delta.content ?? '';
      assert.equal(c.delta.tool_calls, undefined);
      finish = c.finish_reason ?? finish;
    }
  }
  assert.equal(finish, 'stop');
  assert.deepEqual(JSON.parse(text), { text: 'node structured stream' });
});
