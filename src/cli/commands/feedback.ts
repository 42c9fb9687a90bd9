// orb-learn feedback add: one piece of feedback, through a running server or into the file.
import { existsSync } from 'node:fs';
import type { Command } from 'commander';
import { feedbackFromInput } from '../../pipeline/feedback-input.js';
import { addDeprecatedHttp, fail, openStoreOrFail, settings, warnDeprecatedHttp } from '../common.js';
import { addServerOptions, callServer, okJson, serverTarget, ServerUnreachableError } from '../server-client.js';

export function registerFeedback(program: Command): void {
  const feedback = program.command('feedback').description('feedback on executions');
  const add = addServerOptions(
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
      .option('--db <PATH>', 'write into this DuckDB file (no server may hold it) instead of sending to a server'),
    'the running server to send it to (default http://127.0.0.1:4318; when nothing listens there, the default database file is written, if it exists)',
  );
  addDeprecatedHttp(add).action(async (opts: Record<string, unknown>) => {
    const config = settings(opts);
    warnDeprecatedHttp(opts);
    if (opts.db !== undefined && opts.server !== undefined) fail('give --db or --server, not both');
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
    let fellBack: ServerUnreachableError | null = null;
    if (opts.db === undefined) {
      try {
        const target = serverTarget(opts, config);
        try {
          const answer = await callServer(target, 'POST', '/v1/feedback', { ...input, feedback_id: row.feedback_id });
          const body = okJson(target, 'POST', '/v1/feedback', answer) as { stored?: boolean };
          process.stdout.write(`feedback ${row.feedback_id} on ${row.task_id}: ${body.stored ? 'stored' : 'already stored'} (server)\n`);
          return;
        } catch (err) {
          // Only "nothing listens at the address nobody named" lets the command write the file instead.
          if (!(err instanceof ServerUnreachableError && err.refused && !target.explicit)) throw err;
          fellBack = err;
        }
      } catch (err) {
        fail((err as Error).message);
      }
    }
    // Without --db, a missing default file means the server is not where it was looked for: say so
    // rather than start a database nobody serves.
    if (fellBack && !existsSync(config.db)) fail(`${fellBack.message} There is no database at ${config.db} to write instead either: start \`orb-learn serve\`, or give --server URL or --db PATH.`);
    const store = await openStoreOrFail(config.db);
    try {
      const r = await store.writer.commit({ executions: [], rejected: [], feedback: [row] });
      process.stdout.write(`feedback ${row.feedback_id} on ${row.task_id}: ${r.feedbackStored ? 'stored' : 'already stored'}\n`);
    } finally {
      await store.close();
    }
  });
}
