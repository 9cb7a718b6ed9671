// The official OpenAI Node SDK's legacy completions (client.completions)
// against a running Tollgate gateway. Driven by TestCompletionsNode in
// test/sdk/go, which starts the gateway and fake upstreams and sets:
//
//   TOLLGATE_URL              gateway base URL
//   TOLLGATE_KEY              a virtual key allowed to use every model
//   TOLLGATE_CHAT_MODEL       a model of an OpenAI-compatible fake serving /v1/completions
//   TOLLGATE_ANTHROPIC_MODEL  a Claude model (Anthropic fake): translated to chat
//   TOLLGATE_REPLY            the text the fakes answer
import { test } from 'node:test';
import assert from 'node:assert/strict';
import OpenAI from 'openai';

function env(name) {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set; run these tests through TestCompletionsNode (test/sdk/go)`);
  return v;
}

const baseURL = env('TOLLGATE_URL') + '/v1';
const apiKey = env('TOLLGATE_KEY');
const gptModel = env('TOLLGATE_CHAT_MODEL');
const claudeModel = env('TOLLGATE_ANTHROPIC_MODEL');
const reply = env('TOLLGATE_REPLY');

const client = new OpenAI({ baseURL, apiKey, maxRetries: 0 });

for (const model of [gptModel, claudeModel]) {
  test(`unary completion to ${model}`, async () => {
    const resp = await client.completions.create({ model, prompt: 'Say something', max_tokens: 256, stop: ['\n\n'] });
    assert.equal(resp.object, 'text_completion');
    assert.equal(resp.choices.length, 1);
    assert.equal(resp.choices[0].text, reply);
    assert.equal(resp.choices[0].finish_reason, 'stop');
    assert.ok(resp.usage.prompt_tokens > 0 && resp.usage.completion_tokens > 0);
    assert.equal(resp.usage.total_tokens, resp.usage.prompt_tokens + resp.usage.completion_tokens);
  });

  test(`streamed completion to ${model}`, async () => {
    const stream = await client.completions.create({
      model, prompt: 'Stream something', max_tokens: 256, stream: true, stream_options: { include_usage: true },
    });
    let text = '';
    let events = 0;
    let usage = null;
    let finish = null;
    for await (const chunk of stream) {
      assert.equal(chunk.object, 'text_completion');
      events++;
      for (const c of chunk.choices) {
        text += c.text;
        finish = c.finish_reason ?? finish;
      }
      if (chunk.usage) usage = chunk.usage;
    }
    assert.equal(text, reply);
    assert.equal(finish, 'stop');
    assert.ok(events >= 2, `${events} events`);
    assert.ok(usage && usage.completion_tokens > 0, 'usage at the end');
  });

  test(`max_tokens cuts the answer of ${model}`, async () => {
    const resp = await client.completions.create({ model, prompt: 'Be long', max_tokens: 2 });
    assert.equal(resp.choices[0].finish_reason, 'length');
    assert.ok(resp.choices[0].text.length < reply.length);
  });
}

test('echo, logprobs, several prompts and n pass through to an OpenAI-compatible upstream', async () => {
  const resp = await client.completions.create({
    model: gptModel, prompt: ['first prompt ', 'second prompt '], n: 2, echo: true, logprobs: 1, max_tokens: 256,
  });
  assert.equal(resp.choices.length, 4);
  assert.ok(resp.choices[0].text.startsWith('first prompt '), resp.choices[0].text);
  assert.ok(resp.choices[3].text.startsWith('second prompt '), resp.choices[3].text);
  assert.ok(resp.choices[0].logprobs.tokens.length > 0);
  assert.deepEqual(resp.choices.map((c) => c.index), [0, 1, 2, 3]);
});

test('token-id prompts pass through to an OpenAI-compatible upstream', async () => {
  const resp = await client.completions.create({ model: gptModel, prompt: [1, 2, 3], max_tokens: 256 });
  assert.equal(resp.choices[0].text, reply);
});

for (const [name, params] of [
  ['echo', { echo: true }],
  ['logprobs', { logprobs: 2 }],
  ['suffix', { suffix: ' the end' }],
  ['prompt', { prompt: ['one', 'two'] }],
]) {
  test(`${name} to a Claude model is refused clearly`, async () => {
    await assert.rejects(
      client.completions.create({ model: claudeModel, prompt: 'x', max_tokens: 16, ...params }),
      (err) => {
        assert.equal(err.status, 400);
        assert.equal(err.param, name);
        assert.match(err.message, new RegExp(`${name}.*${claudeModel}`));
        return true;
      },
    );
  });
}

test('errors in OpenAI shape: unknown model, bad key', async () => {
  await assert.rejects(client.completions.create({ model: 'no-such-model', prompt: 'x' }), (err) => {
    assert.equal(err.status, 404);
    return true;
  });
  const bad = new OpenAI({ baseURL, apiKey: 'tg-not-a-key', maxRetries: 0 });
  await assert.rejects(bad.completions.create({ model: gptModel, prompt: 'x' }), (err) => {
    assert.equal(err.status, 401);
    return true;
  });
});
