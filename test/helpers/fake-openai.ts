// A fake OpenAI-compatible server on 127.0.0.1: POST /v1/chat/completions answers as the real
// API does, with realistic usage (cached prompt tokens, reasoning tokens). A model named
// `gpt-broken` answers 500, as an overloaded provider would.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface FakeUsage {
  prompt_tokens: number;
  completion_tokens: number;
  cached_tokens: number;
  reasoning_tokens: number;
}

/** What each model reports; the response names the dated snapshot that answered, as OpenAI does. */
export const FAKE_MODELS: Record<string, { response_model: string; usage: FakeUsage }> = {
  'gpt-4o-mini': { response_model: 'gpt-4o-mini-2024-07-18', usage: { prompt_tokens: 1200, completion_tokens: 300, cached_tokens: 400, reasoning_tokens: 0 } },
  'o4-mini': { response_model: 'o4-mini-2025-04-16', usage: { prompt_tokens: 2000, completion_tokens: 900, cached_tokens: 1024, reasoning_tokens: 640 } },
  'gpt-4o': { response_model: 'gpt-4o-2024-08-06', usage: { prompt_tokens: 5000, completion_tokens: 800, cached_tokens: 0, reasoning_tokens: 0 } },
  'house-model-7b': { response_model: 'house-model-7b', usage: { prompt_tokens: 700, completion_tokens: 100, cached_tokens: 0, reasoning_tokens: 0 } },
};

export interface FakeOpenAI {
  baseURL: string;
  requests: { model: string }[];
  close(): Promise<void>;
}

export async function startFakeOpenAI(): Promise<FakeOpenAI> {
  const requests: { model: string }[] = [];
  let n = 0;
  const server: Server = createServer((req, res) => {
    let body = '';
    req.on('data', (d: Buffer) => (body += d.toString()));
    req.on('end', () => {
      const send = (status: number, obj: unknown) => {
        res.writeHead(status, { 'content-type': 'application/json', 'x-request-id': `req_${++n}` });
        res.end(JSON.stringify(obj));
      };
      if (req.method !== 'POST' || req.url !== '/v1/chat/completions') return send(404, { error: { message: `no route ${req.method} ${req.url}`, type: 'invalid_request_error' } });
      const parsed = JSON.parse(body) as { model: string };
      requests.push({ model: parsed.model });
      if (parsed.model === 'gpt-broken') return send(500, { error: { message: 'The server had an error while processing your request.', type: 'server_error', code: null } });
      const m = FAKE_MODELS[parsed.model];
      if (!m) return send(404, { error: { message: `The model \`${parsed.model}\` does not exist`, type: 'invalid_request_error', code: 'model_not_found' } });
      const u = m.usage;
      send(200, {
        id: `chatcmpl-${n}`,
        object: 'chat.completion',
        created: Math.floor(Date.now() / 1000),
        model: m.response_model,
        system_fingerprint: 'fp_test',
        choices: [{ index: 0, message: { role: 'assistant', content: 'Done: extracted the validator and updated the call sites.', refusal: null }, logprobs: null, finish_reason: 'stop' }],
        usage: {
          prompt_tokens: u.prompt_tokens,
          completion_tokens: u.completion_tokens,
          total_tokens: u.prompt_tokens + u.completion_tokens,
          prompt_tokens_details: { cached_tokens: u.cached_tokens, audio_tokens: 0 },
          completion_tokens_details: { reasoning_tokens: u.reasoning_tokens, audio_tokens: 0, accepted_prediction_tokens: 0, rejected_prediction_tokens: 0 },
        },
      });
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return {
    baseURL: `http://127.0.0.1:${port}/v1`,
    requests,
    close: () => new Promise((r) => server.close(() => r())),
  };
}

/** Waits until `f` returns a value other than undefined/false (polling), or fails after `ms`. */
export async function eventually<T>(f: () => Promise<T | undefined | false>, ms = 15_000, what = 'condition'): Promise<T> {
  const until = Date.now() + ms;
  for (;;) {
    const v = await f();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
