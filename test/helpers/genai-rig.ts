// The rig both GenAI instrumentation tests share: a fake OpenAI server, an instrumented `openai`
// client aimed at it, and a real orb-learn that settles GenAI runs quickly.
import type { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import type OpenAIClass from 'openai';
import { startFakeOpenAI, type FakeOpenAI } from './fake-openai.js';
import { startTestServer, type TestServer } from './server.js';

export interface GenAIRig {
  srv: TestServer;
  fake: FakeOpenAI;
  client: OpenAIClass;
  close(): Promise<void>;
}

/** `OpenAI` must be the class loaded after the instrumentation was registered (it patches require). */
export async function startGenAIRig(OpenAI: typeof OpenAIClass, provider: NodeTracerProvider, overrides: Parameters<typeof startTestServer>[0] = {}): Promise<GenAIRig> {
  const fake = await startFakeOpenAI();
  const client = new OpenAI({ apiKey: 'sk-test', baseURL: fake.baseURL, maxRetries: 0 });
  const srv = await startTestServer({ logLevel: process.env.ORB_TEST_LOG ?? 'silent', genaiSettleMs: 300, summaryIntervalMs: 0, ...overrides });
  return {
    srv,
    fake,
    client,
    async close() {
      await srv.close();
      await fake.close();
      await provider.shutdown();
    },
  };
}
