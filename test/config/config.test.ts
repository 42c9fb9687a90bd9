import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { ConfigError, envName, flagName, loadConfig } from '../../src/config/config.js';
import { splitHostPort } from '../../src/host.js';
import { memoryBudget } from '../../src/memory-budget.js';
import { parseSize } from '../../src/size.js';
import { tempDir } from '../helpers/server.js';

describe('configuration', () => {
  it('has the documented defaults', () => {
    const c = loadConfig();
    assert.equal(c.db, './data/learning.duckdb');
    assert.equal(c.grpc, '127.0.0.1:4317');
    assert.equal(c.http, '127.0.0.1:4318');
    assert.equal(c.maxMessageBytes, 16 * 1024 * 1024);
  });

  it('layers file < ORB_* env < flags', () => {
    const dir = tempDir();
    const yaml = join(dir, 'orb.yaml');
    writeFileSync(yaml, 'db: /from/file.duckdb\nbatchMaxRows: 100\nqueueMaxRows: 7\n');
    const c = loadConfig({ file: yaml, env: { ORB_BATCH_MAX_ROWS: '200', ORB_QUEUE_MAX_ROWS: '9' }, flags: { queueMaxRows: '11' } });
    assert.equal(c.db, '/from/file.duckdb');
    assert.equal(c.batchMaxRows, 200);
    assert.equal(c.queueMaxRows, 11);
    const json = join(dir, 'orb.json');
    writeFileSync(json, JSON.stringify({ http: '0.0.0.0:9999' }));
    assert.equal(loadConfig({ env: { ORB_CONFIG: json } }).http, '0.0.0.0:9999');
  });

  it('takes --memory-limit as a size (default 512MB) and shares it out in bytes', () => {
    assert.equal(loadConfig().memoryLimit, '512MB');
    const c = loadConfig({ env: { ORB_MEMORY_LIMIT: '1GiB' } });
    assert.equal(parseSize(c.memoryLimit), 1024 ** 3);
    const b = memoryBudget(c.memoryLimit);
    assert.ok(b.duckdbBytes + b.queueBytes + b.decodeBytes < b.totalBytes, 'the shares leave room for the rest of the process');
    assert.throws(() => loadConfig({ flags: { memoryLimit: '10MB' } }), /invalid setting memoryLimit \(from --memory-limit\): expected a size of at least 64MiB/);
    assert.throws(() => loadConfig({ flags: { memoryLimit: 'lots' } }), /invalid setting memoryLimit/);
  });

  it('derives env names and flags from the setting names', () => {
    assert.equal(envName('batchMaxWaitMs'), 'ORB_BATCH_MAX_WAIT_MS');
    assert.equal(flagName('batchMaxWaitMs'), 'batch-max-wait-ms');
    assert.deepEqual(splitHostPort('[::1]:4317'), { host: '::1', port: 4317 });
  });

  it('gives one line naming the setting and where it came from', () => {
    const dir = tempDir();
    const file = join(dir, 'bad.yaml');
    writeFileSync(file, 'grcp: 127.0.0.1:1\n');
    assert.throws(() => loadConfig({ file }), (e: unknown) => e instanceof ConfigError && /^invalid setting grcp \(from config file .*bad\.yaml\): unknown setting/.test(e.message));
    assert.throws(() => loadConfig({ env: { ORB_GRPC: '127.0.0.1:99999' } }), /invalid setting grpc \(from ORB_GRPC\): port must be ≤ 65535/);
    assert.throws(() => loadConfig({ flags: { logLevel: 'loud' } }), /invalid setting logLevel \(from --log-level\)/);
    assert.throws(() => loadConfig({ file: join(dir, 'missing.yaml') }), /config file .*missing\.yaml: ENOENT/);
  });
});
