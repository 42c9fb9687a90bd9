// The eval set: one JSON line per group of task descriptions that mean the same kind of task.
// Benchmarks default to the copy in the repository (bench/eval/similar-tasks.jsonl, the project's
// shared paraphrase set); `--eval FILE` or ORB_EVAL_SET reads another, e.g. the dev set.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PACKAGE_ROOT } from '../src/paths.js';

export const DEFAULT_EVAL_SET = process.env.ORB_EVAL_SET || join(PACKAGE_ROOT, 'bench', 'eval', 'similar-tasks.jsonl');
/** The development set (36 groups): the router's world is built from it. */
export const DEV_EVAL_SET = join(PACKAGE_ROOT, 'bench', 'eval', 'similar-tasks-dev.jsonl');
/** The dev set (36 groups) then the public set, as the cross-validating benchmarks take them. */
export const DEV_AND_PUBLIC_EVAL_SETS = `${DEV_EVAL_SET},${join(PACKAGE_ROOT, 'bench', 'eval', 'similar-tasks.jsonl')}`;

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

// The eval set as execution history: one task per group, so every wording of a group shares its
// task_type and its repo. Four repos, each holding many subsystems: a group's repo is drawn from
// its subsystem (the name up to its first "-"; the dev set's near-miss pairs share one), so the
// repo narrows the search about fourfold but never names the group. The task type is drawn once
// per group. Both are seeded hashes, independent of the wording. Tier, pool and outcome are drawn
// per execution.
export const EVAL_TASK_TYPES = ['feature', 'bugfix', 'refactor', 'test', 'docs', 'chore'] as const;
export const EVAL_REPOS = ['api', 'web', 'infra', 'data'] as const;

function hash32(s: string): number {
  let h = 2166136261;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 16777619);
  return h >>> 0;
}

export function groupTaskType(group: string): string {
  return EVAL_TASK_TYPES[hash32(`type:${group}`) % EVAL_TASK_TYPES.length]!;
}

export function groupRepo(group: string): string {
  return EVAL_REPOS[hash32(`repo:${group.split('-')[0]!}`) % EVAL_REPOS.length]!;
}
