// A real orb-learn server on 127.0.0.1 ephemeral ports with a real DuckDB file in a temp folder.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig, type Config } from '../../src/config/config.js';
import { startServer, type RunningServer } from '../../src/server/server.js';
import { createLogger } from '../../src/telemetry/log.js';

export interface TestServer {
  server: RunningServer;
  dir: string;
  grpcUrl: string;
  httpUrl: string;
  rows(sql: string): Promise<Record<string, unknown>[]>;
  metric(name: string): Promise<number>;
  close(): Promise<void>;
}

export function tempDir(prefix = 'orb-test-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

export async function startTestServer(overrides: Partial<Record<keyof Config, unknown>> = {}): Promise<TestServer> {
  const dir = tempDir();
  const config = loadConfig({
    flags: { db: join(dir, 'learning.duckdb'), grpc: '127.0.0.1:0', http: '127.0.0.1:0', logLevel: 'silent', embed: false, archiveOlderThan: 'off', ...overrides },
  });
  const server = await startServer(config, createLogger(config.logLevel));
  const conn = await server.store.connect();
  let closed = false;
  return {
    server,
    dir,
    grpcUrl: `http://127.0.0.1:${server.grpcPort}`,
    httpUrl: `http://127.0.0.1:${server.httpPort}`,
    async rows(sql) {
      return (await conn.runAndReadAll(sql)).getRowObjectsJS() as Record<string, unknown>[];
    },
    async metric(name) {
      const m = await server.metrics.registry.getSingleMetric(name)?.get();
      return (m?.values ?? []).reduce((n, v) => n + v.value, 0);
    },
    async close() {
      if (closed) return;
      closed = true;
      conn.closeSync();
      await server.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
