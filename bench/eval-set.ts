// The eval set: one JSON line per group of task descriptions that mean the same kind of task.
// Benchmarks default to the copy in the repository (bench/eval/similar-tasks.jsonl, the project's
// shared paraphrase set); `--eval FILE` or ORB_EVAL_SET reads another, e.g. the dev set.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PACKAGE_ROOT } from '../src/paths.js';

export const DEFAULT_EVAL_SET = process.env.ORB_EVAL_SET || join(PACKAGE_ROOT, 'bench', 'eval', 'similar-tasks.jsonl');

export interface EvalGroup {
  group: string;
  texts: string[];
}

export interface EvalSet {
  groups: EvalGroup[];
  /** Every text with its group, in file order. */
  items: { group: string; text: string }[];
}

export function readEvalSet(path: string): EvalSet {
  const groups = readFileSync(path, 'utf8')
    .split('\n')
    .filter((l) => l.trim())
    .map((l) => JSON.parse(l) as EvalGroup);
  return { groups, items: groups.flatMap((g) => g.texts.map((text) => ({ group: g.group, text }))) };
}

/** The set's texts, or two stand-ins where the set is not there (benchmarks that only need realistic text). */
export function evalTexts(path: string): string[] {
  try {
    return readEvalSet(path).items.map((i) => i.text);
  } catch {
    return ['Refactor the authentication middleware to use JWT validation', 'Fix flaky integration tests that fail intermittently on CI'];
  }
}
