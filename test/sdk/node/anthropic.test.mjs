// The official Anthropic TypeScript SDK against a running Tollgate gateway,
// with only the base URL and key changed. Driven by TestAnthropicNode in
// test/sdk/go, which starts the gateway and fakes and sets:
//
//   TOLLGATE_URL, TOLLGATE_KEY          gateway base URL and virtual key
//   TOLLGATE_REPLY                      the fakes' reply text
//   TOLLGATE_CHAT_MODEL                 a model served by the OpenAI fake
//   TOLLGATE_ANTHROPIC_MODEL            a model served by the Anthropic fake (optional)
//   TOLLGATE_FAIL429_MODEL, TOLLGATE_FAIL500_MODEL  models whose upstream always fails
import { test } from 'node:test';
import assert from 'node:assert/strict';
import Anthropic from '@anthropic-ai/sdk';

const env = process.env;
const baseURL = env.TOLLGATE_URL;
const skip = baseURL ? false : 'TOLLGATE_URL not set (run through TestAnthropicNode)';
const reply = env.TOLLGATE_REPLY;
const client = (apiKey = env.TOLLGATE_KEY) => new Anthropic({ baseURL, apiKey, maxRetries: 0 });

const models = [env.TOLLGATE_CHAT_MODEL ?? 'gpt-4o-mini'];
if (env.TOLLGATE_ANTHROPIC_MODEL) models.push(env.TOLLGATE_ANTHROPIC_MODEL);

const lookup = {
  name: 'lookup',
  description: 'looks things up',
  input_schema: { type: 'object', properties: { text: { type: 'string' } } },
};

for (const model of models) {
  test(`${model}: unary`, { skip }, async () => {
    const msg = await client().messages.create({
      model, max_tokens: 256, system: 'be brief',
      messages: [{ role: 'user', content: 'hi' }],
    });
    assert.equal(msg.type, 'message');
    assert.equal(msg.model, model);
    assert.equal(msg.content.length, 1);
    assert.equal(msg.content[0].text, reply);
    assert.equal(msg.stop_reason, 'end_turn');
    assert.ok(msg.usage.input_tokens > 0 && msg.usage.output_tokens > 0);
  });

  test(`${model}: stream`, { skip }, async () => {
    const stream = client().messages.stream({
      model, max_tokens: 256, messages: [{ role: 'user', content: 'hi' }],
    });
    let text = '';
    stream.on('text', (t) => { text += t; });
    const final = await stream.finalMessage();
    assert.equal(text, reply);
    assert.equal(final.content[0].text, reply);
    assert.equal(final.stop_reason, 'end_turn');
    assert.ok(final.usage.output_tokens > 0);
  });

  test(`${model}: tool round trip`, { skip }, async () => {
    const c = client();
    const messages = [{ role: 'user', content: 'please call lookup' }];
    const msg = await c.messages.create({ model, max_tokens: 256, tools: [lookup], messages });
    assert.equal(msg.stop_reason, 'tool_use');
    const call = msg.content.find((b) => b.type === 'tool_use');
    assert.equal(call.name, 'lookup');
    assert.match(call.input.text, /please call lookup/);

    const streamed = await c.messages.stream({ model, max_tokens: 256, tools: [lookup], messages }).finalMessage();
    const sCall = streamed.content.find((b) => b.type === 'tool_use');
    assert.deepEqual(sCall.input, call.input);
    assert.equal(sCall.id, call.id);

    const answer = await c.messages.create({
      model, max_tokens: 256, tools: [lookup],
      messages: [...messages, { role: 'assistant', content: msg.content },
        { role: 'user', content: [{ type: 'tool_result', tool_use_id: call.id, content: '42 apples' }] }],
    });
    assert.match(answer.content[0].text, /42 apples/);
  });

  test(`${model}: count tokens`, { skip }, async () => {
    const n = await client().messages.countTokens({ model, messages: [{ role: 'user', content: 'count me' }] });
    assert.ok(n.input_tokens > 0);
  });
}

test('models list', { skip }, async () => {
  const ids = [];
  for await (const m of client().models.list()) ids.push(m.id);
  for (const model of models) assert.ok(ids.includes(model), `${model} in ${ids}`);
});

const failures = [
  ['invalid key', () => client('tg-invalid'), models[0], Anthropic.AuthenticationError, 401, 'authentication_error'],
  ['upstream 429', () => client(), env.TOLLGATE_FAIL429_MODEL ?? 'fail-429', Anthropic.RateLimitError, 429, 'rate_limit_error'],
  ['upstream 500', () => client(), env.TOLLGATE_FAIL500_MODEL ?? 'fail-500', Anthropic.InternalServerError, 500, 'api_error'],
  ['unknown model', () => client(), 'no-such-model', Anthropic.NotFoundError, 404, 'not_found_error'],
];
for (const [name, mk, model, cls, status, type] of failures) {
  test(`error: ${name}`, { skip }, async () => {
    await assert.rejects(
      mk().messages.create({ model, max_tokens: 16, messages: [{ role: 'user', content: 'hi' }] }),
      (err) => {
        assert.ok(err instanceof cls, `${err} is not a ${cls.name}`);
        assert.equal(err.status, status);
        assert.equal(err.error.type, 'error');
        assert.equal(err.error.error.type, type);
        assert.ok(err.requestID, 'request id');
        return true;
      },
    );
  });
}
