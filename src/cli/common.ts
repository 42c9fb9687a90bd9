// Shared by every command: settings from flags, ORB_* environment and an optional config file.
import type { Command } from 'commander';
import { Option } from 'commander';
import { ConfigError, flagName, loadConfig, type Config, type ConfigKey } from '../config/config.js';
import { Store } from '../store/db.js';

export type SettingFlag = [ConfigKey, string, string];

export function addSettings(cmd: Command, flags: readonly SettingFlag[]): Command {
  cmd.option('--config <FILE>', 'config file, JSON or YAML (env ORB_CONFIG)');
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

/** Opens the database for a command that writes it; a file held by a server gets a clear line. */
export async function openStoreOrFail(db: string): Promise<Store> {
  try {
    return await Store.open({ path: db });
  } catch (err) {
    const msg = (err as Error).message;
    fail(/lock/i.test(msg) ? `${db} is held by another process (a running server?): stop it first. ${msg.split('\n')[0]}` : msg);
  }
}
