// Shared by every command: settings from flags, ORB_* environment and an optional config file.
import type { Command } from 'commander';
import { Option } from 'commander';
import { ConfigError, flagName, loadConfig, type Config, type ConfigKey } from '../config/config.js';
import { MissingDatabaseError, Store } from '../store/db.js';

export type SettingFlag = [ConfigKey, string, string];

export function addSettings(cmd: Command, flags: readonly SettingFlag[]): Command {
  // Called more than once on a command (its own flags, the server's): --config once.
  if (!cmd.options.some((o) => o.long === '--config')) cmd.option('--config <FILE>', 'config file, JSON or YAML (env ORB_CONFIG)');
  for (const [key, arg, help] of flags) cmd.addOption(new Option(`--${flagName(key)} <${arg}>`, help));
  return cmd;
}

/** The merged, validated settings; a bad one ends the process with one line and exit code 2. */
export function settings(opts: Record<string, unknown>): Config {
  try {
    return loadConfig({ flags: opts, env: process.env, file: opts.config as string | undefined });
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`orb-learn: ${err.message}\n`);
      process.exit(2);
    }
    throw err;
  }
}

/** Ends a command with a one-line error and exit code 1. */
export function fail(message: string): never {
  process.stderr.write(`orb-learn: ${message}\n`);
  process.exit(1);
}

export const MODEL_FLAGS: SettingFlag[] = [
  ['modelDir', 'DIR', 'sentence-transformers ONNX export to use (env ORB_MODEL_DIR)'],
  ['modelCacheDir', 'DIR', 'where pulled and built models are kept (default ~/.cache/orb-learn/models)'],
  ['embedContent', 'task|review', "what a vector is of: 'task' = task type + description (default), 'review' = the review's content string with tier, pool and outcome; a change re-embeds"],
];

const LOCKED = /Could not set lock on file|Conflicting lock is held/i;

/** True for DuckDB's error when another process (a running server) holds the file. */
export function isLockError(err: unknown): boolean {
  return err instanceof Error && LOCKED.test(err.message);
}

/**
 * `--http HOST:PORT` named the server before `--server URL` did (query, feedback add): still
 * taken, hidden from the help, with a line saying what to write instead.
 */
export function addDeprecatedHttp(cmd: Command): Command {
  return cmd.addOption(new Option('--http <HOST:PORT>').hideHelp());
}

export function warnDeprecatedHttp(opts: Record<string, unknown>): void {
  if (opts.http !== undefined) process.stderr.write(`orb-learn: --http is deprecated here: write --server http://${String(opts.http)}\n`);
}

/**
 * Opens the database for a command that writes it; a file held by a server gets a clear line.
 * `mustExist`: the command works on what is there (archive), so a missing file is refused.
 */
export async function openStoreOrFail(db: string, mustExist = false): Promise<Store> {
  try {
    return await Store.open({ path: db, mustExist });
  } catch (err) {
    if (err instanceof MissingDatabaseError) fail(`${err.message}: give --db PATH of an existing database (nothing was created)`);
    const msg = (err as Error).message;
    fail(/lock/i.test(msg) ? `${db} is held by another process (a running server?): stop it first. ${msg.split('\n')[0]}` : msg);
  }
}
