// /healthz and /readyz tell an orchestrator the truth about the store. An invalidated DuckDB instance (a
// checkpoint that failed on a full disk or a read-only folder) refuses every write for ever, so a retrying
// collector would never get through: readiness fails with the reason, and so does liveness, because this
// process cannot reopen the file while its readers, writer and indexes hold connections on the dead
// instance. A restart reopens the file, which replays the WAL: everything acknowledged comes back.
import type { HttpReply } from '../receiver/errors.js';
import type { Store } from '../store/db.js';
import type { Logger } from '../telemetry/log.js';

const reply = (status: number, body: unknown): HttpReply => ({
  status,
  headers: { 'content-type': 'application/json' },
  body: Buffer.from(`${JSON.stringify(body)}\n`),
});

const RETRY = 'retry';
export const RESTART_ADVICE = 'restart the process once the disk has room and the folder is writable: reopening the file replays the WAL';

export class StoreProbes {
  private logged = false;
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly store: Store,
    private readonly log: Logger,
  ) {}

  /** Checks now and then, so the fault is logged even when nobody probes. */
  start(intervalMs = 5_000): void {
    this.timer = setInterval(() => void this.fault(), intervalMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
  }

  async healthz(): Promise<HttpReply> {
    const fault = await this.fault();
    return fault && fault.recovery !== RETRY ? reply(503, { status: 'failed', ...fault }) : reply(200, { status: 'ok' });
  }

  async readyz(ready: boolean): Promise<HttpReply> {
    const fault = await this.fault();
    if (fault) return reply(503, { status: 'unavailable', ...fault });
    return ready ? reply(200, { status: 'ready' }) : reply(503, { status: 'starting' });
  }

  private async fault(): Promise<{ reason: string; since: string; recovery: string } | null> {
    let health;
    try {
      health = await this.store.health();
    } catch (err) {
      // Another kind of failure of the probe statement: not ready, but not known to be fatal.
      return { reason: `store probe failed: ${(err as Error).message}`, since: new Date().toISOString(), recovery: RETRY };
    }
    if (health.ok) return null;
    if (!this.logged) {
      this.logged = true;
      this.log.error({ reason: health.reason }, `database invalidated; every write is refused: ${RESTART_ADVICE}`);
    }
    return { reason: health.reason, since: health.since.toISOString(), recovery: RESTART_ADVICE };
  }
}
