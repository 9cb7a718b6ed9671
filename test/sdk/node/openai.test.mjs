// The official OpenAI Node SDK against a running Tollgate gateway, with only
// the base URL and key changed. Driven by TestNodeSDK in test/sdk/go, which
// starts the gateway and fake upstreams and sets:
//
//   TOLLGATE_URL              gateway base URL, e.g. http://127.0.0.1:43123
//   TOLLGATE_KEY              a virtual key allowed to use every model
//   TOLLGATE_CHAT_MODEL       a chat model served by the working fake
//   TOLLGATE_EMBEDDING_MODEL  an embedding model served by the working fake
//   TOLLGATE_REPLY            the text the working fake answers
//   TOLLGATE_FAIL_429_MODEL   a model whose upstream always answers 429
//   TOLLGATE_FAIL_500_MODEL   a model whose upstream always answers 500
import { test } from 'node:test';
import assert from 'node:assert/strict';
import OpenAI from 'openai';

function env(name) {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set; run these tests through TestNodeSDK (test/sdk/go)`);
  return v;
}

const baseURL = env('TOLLGATE_URL') + '/v1';
const apiKey = env('TOLLGATE_KEY');
const chatModel = env('TOLLGATE_CHAT_MODEL');
const embeddingModel = env('TOLLGATE_EMBEDDING_MODEL');
const reply = env('TOLLGATE_REPLY');
const fail429 = env('TOLLGATE_FAIL_429_MODEL');
const fail500 = env('TOLLGATE_FAIL_500_MODEL');

const client = new OpenAI({ baseURL, apiKey });
const noRetry = new OpenAI({ baseURL, apiKey, maxRetries: 0 });

const tools = [{
  type: 'function',
  function: {
    name: 'lookup',
    description: 'looks things up',
    parameters: { type: 'object', properties: { text: { type: 'string' } } },
  },
}];

test('unary chat completion', async () => {
  const resp = await client.chat.completions.create({
    model: chatModel,
    messages: [{ role: 'developer', content: 'be brief' }, { role: 'user', content: 'hi' }],
  });
  assert.equal(resp.object, 'chat.completion');
  assert.equal(resp.model, chatModel);
  assert.equal(resp.choices[0].message.content, reply);
  assert.equal(resp.choices[0].finish_reason, 'stop');
  assert.equal(resp.usage.total_tokens, resp.usage.prompt_tokens + resp.usage.completion_tokens);
});

test('raw response carries the request id', async () => {
  const { response } = await client.chat.completions
    .create({ model: chatModel, messages: [{ role: 'user', content: 'hi' }] })
    .withResponse();
  assert.match(response.headers.get('x-request-id') ?? '', /^req_/);
});

test('streaming chat completion', async () => {
  const stream = await client.chat.completions.create({
    model: chatModel,
    messages: [{ role: 'user', content: 'hi' }],
    stream: true,
    stream_options: { include_usage: true },
  });
  let text = '';
  let chunks = 0;
  let usage = null;
  let finish = null;
  for await (const chunk of stream) {
    chunks++;
    if (chunk.usage) usage = chunk.usage;
    for (const c of chunk.choices) {
      text += c.delta.content ?? '';
      if (c.finish_reason) finish = c.finish_reason;
    }
  }
  assert.ok(chunks >= 3, `only ${chunks} chunks`);
  assert.equal(text, reply);
  assert.equal(finish, 'stop');
  assert.ok(usage && usage.total_tokens > 0, 'no usage chunk');
});

test('stream helper assembles the completion', async () => {
  const runner = client.chat.completions.stream({ model: chatModel, messages: [{ role: 'user', content: 'hi' }] });
  const final = await runner.finalChatCompletion();
  assert.equal(final.choices[0].message.content, reply);
});

test('tools round trip', async () => {
  const messages = [{ role: 'user', content: 'call lookup' }];
  const first = await client.chat.completions.create({ model: chatModel, messages, tools });
  const msg = first.choices[0].message;
  assert.equal(first.choices[0].finish_reason, 'tool_calls');
  assert.equal(msg.tool_calls.length, 1);
  assert.equal(msg.tool_calls[0].function.name, 'lookup');
  JSON.parse(msg.tool_calls[0].function.arguments);

  messages.push(msg, { role: 'tool', tool_call_id: msg.tool_calls[0].id, content: '42 apples' });
  const second = await client.chat.completions.create({ model: chatModel, messages, tools });
  assert.match(second.choices[0].message.content, /42 apples/);

  // Streamed, the SDK's helper assembles the same call from the deltas.
  const runner = client.chat.completions.stream({ model: chatModel, messages: messages.slice(0, 1), tools });
  const final = await runner.finalChatCompletion();
  const call = final.choices[0].message.tool_calls[0];
  assert.equal(call.function.name, 'lookup');
  assert.equal(call.function.arguments, msg.tool_calls[0].function.arguments);
});

test('embeddings (the SDK asks for base64 by default)', async () => {
  const resp = await client.embeddings.create({ model: embeddingModel, input: ['a', 'bb'] });
  assert.equal(resp.data.length, 2);
  assert.equal(resp.data[1].index, 1);
  assert.ok(Array.isArray(resp.data[0].embedding));
  assert.equal(resp.data[0].embedding.length, 8);
  const norm = Math.hypot(...resp.data[0].embedding);
  assert.ok(Math.abs(norm - 1) < 1e-3, `vector norm ${norm}, want a unit vector`);

  const floats = await client.embeddings.create({ model: embeddingModel, input: 'a', encoding_format: 'float' });
  // The float answer is the shortest text of each float32; base64 holds the
  // exact float32 values.
  assert.deepEqual(floats.data[0].embedding.map(Math.fround), resp.data[0].embedding);
});

test('models list', async () => {
  const ids = [];
  for await (const m of client.models.list()) ids.push(m.id);
  assert.ok(ids.includes(chatModel), `models ${ids}`);
  const m = await client.models.retrieve(chatModel);
  assert.equal(m.object, 'model');
});

test('upstream 429 is a RateLimitError', async () => {
  await assert.rejects(
    noRetry.chat.completions.create({ model: fail429, messages: [{ role: 'user', content: 'hi' }] }),
    (err) => {
      assert.ok(err instanceof OpenAI.RateLimitError, `${err?.constructor?.name}: ${err}`);
      assert.equal(err.status, 429);
      assert.equal(err.code, 'rate_limit_exceeded');
      assert.ok(err.headers.get('retry-after'), 'retry-after not passed on');
      return true;
    },
  );
});

test('upstream 500 is an InternalServerError', async () => {
  await assert.rejects(
    noRetry.chat.completions.create({ model: fail500, messages: [{ role: 'user', content: 'hi' }] }),
    (err) => {
      assert.ok(err instanceof OpenAI.InternalServerError, `${err?.constructor?.name}: ${err}`);
      assert.ok(err.status >= 500);
      assert.equal(err.type, 'server_error');
      return true;
    },
  );
});

test('upstream 429 on a stream is a RateLimitError', async () => {
  await assert.rejects(
    noRetry.chat.completions.create({ model: fail429, messages: [{ role: 'user', content: 'hi' }], stream: true }),
    OpenAI.RateLimitError,
  );
});

test('invalid key is an AuthenticationError', async () => {
  const bad = new OpenAI({ baseURL, apiKey: 'tg-invalid', maxRetries: 0 });
  await assert.rejects(
    bad.chat.completions.create({ model: chatModel, messages: [{ role: 'user', content: 'hi' }] }),
    (err) => {
      assert.ok(err instanceof OpenAI.AuthenticationError, `${err?.constructor?.name}: ${err}`);
      assert.equal(err.code, 'invalid_api_key');
      return true;
    },
  );
});

test('unknown model is a NotFoundError', async () => {
  await assert.rejects(
    noRetry.chat.completions.create({ model: 'no-such-model', messages: [{ role: 'user', content: 'hi' }] }),
    OpenAI.NotFoundError,
  );
});
