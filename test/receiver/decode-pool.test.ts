// The decode pool bounds the body bytes it decodes at once (a share of --memory-limit): past it an
// export is pushed back as overloaded, and an idle pool admits any one body. Real worker threads.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { OverloadedError, TooLargeError } from '../../src/errors.js';
import { DecodePool } from '../../src/receiver/decode-pool.js';
import { createLogger } from '../../src/telemetry/log.js';
import { encodeRequest, otlpRequest } from '../helpers/raw.js';
import { minimalExecution } from '../helpers/spans.js';

describe('decode pool bytes in flight', () => {
  it('refuses a body past the bound while others decode, admits one into an idle pool, and frees the bytes after', async () => {
    const body = encodeRequest(otlpRequest([{ attrs: minimalExecution() as Record<string, unknown> }]));
    const pool = new DecodePool(1, createLogger('silent'), { maxInFlightBytes: body.length + 10, retryAfterSeconds: 2 });
    try {
      const big = Buffer.concat([body]);
      const first = pool.decode(big, 'protobuf', new Date());
      assert.equal(pool.bytesInFlight, body.length);
      await assert.rejects(pool.decode(body, 'protobuf', new Date()), (err: unknown) => {
        assert.ok(err instanceof OverloadedError);
        assert.equal(err.retryAfterSeconds, 2);
        assert.match(err.message, /decode pool full \(\d+ bytes being decoded, limit \d+, from --memory-limit\)/);
        return true;
      });
      assert.equal((await first).executions.length, 1);
      assert.equal(pool.bytesInFlight, 0);
      const alone = new Uint8Array(body.length * 3);
      await assert.rejects(pool.decode(alone, 'protobuf', new Date()), /malformed|protobuf/i, 'a larger body still reaches the decoder when the pool is idle');
      assert.equal(pool.bytesInFlight, 0, 'freed after a failure too');
    } finally {
      await pool.close();
    }
  });

  it('refuses as too large a request whose decoding outgrows the worker heap, and replaces the worker', async () => {
    const attrs: Record<string, unknown> = minimalExecution() as Record<string, unknown>;
    for (let i = 0; i < 400_000; i++) attrs[`execution.metadata.${i.toString(36)}`] = `v${i}`;
    const fat = encodeRequest(otlpRequest([{ attrs }]));
    const pool = new DecodePool(1, createLogger('silent'), { maxHeapBytes: 32 * 2 ** 20 });
    try {
      await assert.rejects(pool.decode(fat, 'protobuf', new Date()), (err: unknown) => err instanceof TooLargeError && /decode heap of 32 MiB/.test(err.message));
      const small = encodeRequest(otlpRequest([{ attrs: minimalExecution() as Record<string, unknown> }]));
      assert.equal((await pool.decode(small, 'protobuf', new Date())).executions.length, 1, 'a new worker takes the next request');
    } finally {
      await pool.close();
    }
  });
});
