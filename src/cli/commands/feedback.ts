// orb-learn feedback add: one piece of feedback, through a running server or into the file.
import type { Command } from 'commander';
import { feedbackFromInput } from '../../pipeline/feedback-input.js';
import { Store } from '../../store/db.js';
import { addSettings, fail, settings } from '../common.js';

export function registerFeedback(program: Command): void {
  const feedback = program.command('feedback').description('feedback on executions');
  addSettings(
    feedback
      .command('add')
      .description('record feedback on an execution (it may not have arrived yet: it is linked when it does)')
      .requiredOption('--task-id <UUID>', 'the execution')
      .option('--rating <1-5>', 'user rating')
      .option('--accepted <true|false>', 'whether the result was accepted')
      .option('--type <TYPE>', 'feedback type, e.g. rating, thumbs, correction')
      .option('--comment <TEXT>')
      .option('--user-id <ID>')
      .option('--feedback-id <UUID>', 'idempotency key')
      .option('--db <PATH>', 'DuckDB file, when no server runs'),
    [['http', 'HOST:PORT', "a running server's HTTP address (default 127.0.0.1:4318)"]],
  ).action(async (opts: Record<string, unknown>) => {
    const config = settings(opts);
    const input: Record<string, unknown> = { task_id: opts.taskId };
    if (opts.rating !== undefined) input.rating = Number(opts.rating);
    if (opts.accepted !== undefined) {
      if (opts.accepted !== 'true' && opts.accepted !== 'false') fail('--accepted takes true or false');
      input.accepted = opts.accepted === 'true';
    }
    if (opts.type !== undefined) input.feedback_type = opts.type;
    if (opts.comment !== undefined) input.comment = opts.comment;
    if (opts.userId !== undefined) input.user_id = opts.userId;
    if (opts.feedbackId !== undefined) input.feedback_id = opts.feedbackId;
    let row;
    try {
      row = feedbackFromInput(input);
    } catch (err) {
      fail((err as Error).message);
    }
    const res = await fetch(`http://${config.http}/v1/feedback`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ ...input, feedback_id: row.feedback_id }) }).catch(() => null);
    if (res) {
      const body = (await res.json()) as { message?: string; stored?: boolean };
      if (!res.ok) fail(body.message ?? `HTTP ${res.status}`);
      process.stdout.write(`feedback ${row.feedback_id} on ${row.task_id}: ${body.stored ? 'stored' : 'already stored'} (server)\n`);
      return;
    }
    const store = await Store.open({ path: config.db });
    try {
      const r = await store.writer.commit({ executions: [], rejected: [], feedback: [row] });
      process.stdout.write(`feedback ${row.feedback_id} on ${row.task_id}: ${r.feedbackStored ? 'stored' : 'already stored'}\n`);
    } finally {
      await store.close();
    }
  });
}
