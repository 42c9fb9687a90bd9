// /healthz and /readyz tell an orchestrator the truth about the store. An invalidated DuckDB instance (a
// checkpoint that failed on a full disk or a read-only folder) refuses every write until it is reopened,
// which recovery.ts does by itself once the cause is gone: meanwhile readiness fails with the cause and
// exports get UNAVAILABLE, but liveness holds, since a restart would do no better than the next attempt.
// Liveness fails only when recovery has given up (the file is corrupt, or attempts ran out).
import type { HttpReply } from '../receiver/errors.js';
import type { StoreState } from './recovery.js';

const reply = (status: number, body: unknown): HttpReply => ({
  status,
  headers: { 'content-type': 'application/json' },
  body: Buffer.from(`${JSON.stringify(body)}\n`),
});

export const REOPEN_ADVICE = 'reopening the database by itself with back-off (which replays the WAL); free space on its disk or make its folder writable';
export const RESTART_ADVICE = 'recovery gave up: fix the cause (see lastError), then restart the process; reopening the file replays the WAL';

/** What the probes need of recovery: its state, looked at now. */
export interface StateSource {
  check(): Promise<StoreState>;
}

export class StoreProbes {
  constructor(private readonly recovery: StateSource) {}

  async healthz(): Promise<HttpReply> {
    const state = await this.state();
    return state.kind === 'failed' ? reply(503, this.describe(state)) : reply(200, { status: 'ok' });
  }

  async readyz(ready: boolean): Promise<HttpReply> {
    const state = await this.state();
    if (state.kind !== 'open') return reply(503, this.describe(state));
    return ready ? reply(200, { status: 'ready' }) : reply(503, { status: 'starting' });
  }

  private describe(state: Exclude<StoreState, { kind: 'open' }> | { kind: 'probe-failed'; reason: string }): Record<string, unknown> {
    if (state.kind === 'probe-failed') return { status: 'unavailable', reason: state.reason, recovery: 'retry' };
    const { kind, reason, since, attempts, lastError } = state;
    return { status: kind, reason, since: since.toISOString(), attempts, lastError, recovery: kind === 'failed' ? RESTART_ADVICE : REOPEN_ADVICE };
  }

  private async state(): Promise<StoreState | { kind: 'probe-failed'; reason: string }> {
    try {
      return await this.recovery.check();
    } catch (err) {
      // Another kind of failure of the probe statement: not ready, but not known to be fatal.
      return { kind: 'probe-failed', reason: `store probe failed: ${(err as Error).message}` };
    }
  }
}
