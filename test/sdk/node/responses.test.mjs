// The official OpenAI Node SDK's Responses API against a running Tollgate
// gateway, with only the base URL and key changed. Driven by
// TestResponsesNode in test/sdk/go, which starts the gateway and fake
// upstreams (OpenAI, Anthropic, Gemini) and sets:
//
//   TOLLGATE_URL        gateway base URL, e.g. http://127.0.0.1:43123
//   TOLLGATE_KEY        a virtual key allowed to use every model
//   TOLLGATE_OTHER_KEY  a key of another team
//   TOLLGATE_MODELS     comma-separated models, one per upstream dialect
//
// Every fake answers "echo: <last user text>", calls the tool the text
// names as "call <tool>" with {"text": <last user text>}, answers a tool
// result with "The tool <name> returned: <output>" and structured output
// with {"text": <last user text>}.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import OpenAI from 'openai';

function env(name) {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set; run these tests through TestResponsesNode (test/sdk/go)`);
  return v;
}

const baseURL = env('TOLLGATE_URL') + '/v1';
const client = new OpenAI({ baseURL, apiKey: env('TOLLGATE_KEY'), maxRetries: 0 });
const other = new OpenAI({ baseURL, apiKey: env('TOLLGATE_OTHER_KEY'), maxRetries: 0 });
const models = env('TOLLGATE_MODELS').split(',');

const tools = [{
  type: 'function',
  name: 'lookup',
  description: 'looks things up',
  parameters: { type: 'object', properties: { text: { type: 'string' } }, required: ['text'], additionalProperties: false },
  strict: true,
}];

// streamed runs responses.stream, checks the typed events (sequence
// numbers, created first, completed last) and returns the final response
// and the concatenated text deltas.
async function streamed(params) {
  const stream = client.responses.stream(params);
  const types = [];
  let deltas = '';
  stream.on('response.output_text.delta', (e) => { deltas += e.delta; });
  for await (const event of stream) {
    assert.equal(event.sequence_number, types.length, `sequence_number of ${event.type}`);
    types.push(event.type);
  }
  const final = await stream.finalResponse();
  assert.equal(types[0], 'response.created');
  assert.equal(types[1], 'response.in_progress');
  assert.equal(types.at(-1), 'response.completed');
  return { final, deltas, types };
}

function assertUsage(r) {
  assert.ok(r.usage.input_tokens > 0 && r.usage.output_tokens > 0, JSON.stringify(r.usage));
  assert.equal(r.usage.total_tokens, r.usage.input_tokens + r.usage.output_tokens);
}

for (const model of models) {
  test(`${model}: unary text`, async () => {
    const r = await client.responses.create({ model, instructions: 'be brief', input: 'hello there' });
    assert.equal(r.status, 'completed');
    assert.equal(r.output_text, 'echo: hello there');
    assert.match(r.id, /^resp_/);
    assertUsage(r);
  });

  test(`${model}: streamed text`, async () => {
    const { final, deltas, types } = await streamed({ model, input: 'stream please' });
    assert.equal(final.output_text, 'echo: stream please');
    assert.equal(deltas, 'echo: stream please');
    for (const t of ['response.output_item.added', 'response.content_part.added', 'response.output_text.delta',
      'response.output_text.done', 'response.content_part.done', 'response.output_item.done']) {
      assert.ok(types.includes(t), `${t} missing from ${types}`);
    }
    assertUsage(final);
  });

  test(`${model}: function call round trip`, async () => {
    const input = [{ role: 'user', content: 'please call lookup' }];
    const { final } = await streamed({ model, tools, input });
    const call = final.output.find((it) => it.type === 'function_call');
    assert.ok(call, JSON.stringify(final.output));
    assert.equal(call.name, 'lookup');
    assert.deepEqual(JSON.parse(call.arguments), { text: 'please call lookup' });
    const r = await client.responses.create({
      model, tools,
      input: [...input, call, { type: 'function_call_output', call_id: call.call_id, output: '42 apples' }],
    });
    assert.match(r.output_text, /42 apples/);
  });

  test(`${model}: structured output`, async () => {
    const text = {
      format: {
        type: 'json_schema', name: 'answer', strict: true,
        schema: { type: 'object', properties: { text: { type: 'string' } }, required: ['text'], additionalProperties: false },
      },
    };
    const r = await client.responses.create({ model, input: 'Paris', text });
    assert.deepEqual(JSON.parse(r.output_text), { text: 'Paris' });
    const { final } = await streamed({ model, input: 'Paris', text });
    assert.deepEqual(JSON.parse(final.output_text), { text: 'Paris' });
  });

  test(`${model}: three turns by previous_response_id`, async () => {
    const r1 = await client.responses.create({ model, input: 'my name is Ada' });
    const { final: r2 } = await streamed({ model, previous_response_id: r1.id, input: 'what is my name?' });
    const r3 = await client.responses.create({ model, previous_response_id: r2.id, input: 'and again?' });
    assert.equal(r3.output_text, 'echo: and again?');
    assert.equal(r3.previous_response_id, r2.id);
    assert.ok(r3.usage.input_tokens > r1.usage.input_tokens);
    const texts = [];
    for await (const item of client.responses.inputItems.list(r3.id, { order: 'asc' })) {
      for (const part of item.content ?? []) texts.push(part.text);
    }
    assert.deepEqual(texts, ['my name is Ada', 'echo: my name is Ada', 'what is my name?', 'echo: what is my name?', 'and again?']);
    const got = await client.responses.retrieve(r2.id);
    assert.equal(got.output_text, r2.output_text);
  });
}

test('another team and deleted responses: 404', async () => {
  const r = await client.responses.create({ model: models[0], input: 'secret of team a' });
  await assert.rejects(other.responses.retrieve(r.id), (e) => e instanceof OpenAI.NotFoundError);
  await assert.rejects(other.responses.create({ model: models[0], previous_response_id: r.id, input: 'tell me' }),
    (e) => e instanceof OpenAI.NotFoundError && e.param === 'previous_response_id');
  await client.responses.delete(r.id);
  await assert.rejects(client.responses.retrieve(r.id), (e) => e instanceof OpenAI.NotFoundError);
  await assert.rejects(client.responses.create({ model: models[0], previous_response_id: r.id, input: 'again' }),
    (e) => e instanceof OpenAI.NotFoundError);
});
