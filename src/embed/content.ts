// What is embedded for an execution. By default its task's identity: the task type and the
// description, never the outcome or the routing decision (tier, pool, success, cost), so every
// execution of one task shares one vector (and the content-hash cache embeds it once), and a
// query, which is a description, meets descriptions rather than boilerplate. The review's
// calculate_embedding_content (§2.3) stays available as the 'review' recipe.
import type { ExecutionRecord } from '../convert/record.js';

export type ContentFields = Pick<
  ExecutionRecord,
  'task_type' | 'task_description' | 'repo' | 'model_tier' | 'pool_type' | 'swarm_topology' | 'success' | 'solution_summary'
>;

export const CONTENT_COLUMNS = [
  'task_type',
  'task_description',
  'repo',
  'model_tier',
  'pool_type',
  'swarm_topology',
  'success',
  'solution_summary',
] as const satisfies readonly (keyof ContentFields)[];

/** 'task': "<task_type>: <description>" (the default); 'review': the review's full string. */
export const EMBED_CONTENTS = ['task', 'review'] as const;
export type EmbedContent = (typeof EMBED_CONTENTS)[number];
export const DEFAULT_EMBED_CONTENT: EmbedContent = 'task';

/** The task's identity: what the router knows before it picks a tier. */
export function taskContent(r: Pick<ContentFields, 'task_type' | 'task_description'>): string {
  return `${r.task_type}: ${r.task_description}`;
}

/** The review's calculate_embedding_content: task, description, repo, tier, pool, topology, outcome, solution. */
export function reviewContent(r: ContentFields): string {
  const parts = [
    `Task: ${r.task_type}`,
    `Description: ${r.task_description}`,
    `Repository: ${r.repo}`,
    `Model Tier: ${r.model_tier}`,
    `Pool: ${r.pool_type}`,
  ];
  if (r.swarm_topology) parts.push(`Topology: ${r.swarm_topology}`);
  // Python's str(bool), as the review writes it.
  parts.push(`Success: ${r.success ? 'True' : 'False'}`);
  if (r.solution_summary) parts.push(`Solution: ${r.solution_summary}`);
  return parts.join(' | ');
}

export function embeddingContent(r: ContentFields, recipe: EmbedContent = DEFAULT_EMBED_CONTENT): string {
  return recipe === 'task' ? taskContent(r) : reviewContent(r);
}

/**
 * What a query is embedded as: its description, under the same recipe as the stored vectors
 * with what a query knows (its task type, when given).
 */
export function queryContent(text: string, taskType: string | undefined, recipe: EmbedContent = DEFAULT_EMBED_CONTENT): string {
  return recipe === 'task' && taskType ? taskContent({ task_type: taskType, task_description: text }) : text;
}

/**
 * The id stored vectors carry (execution_embeddings.model_id): the model's id, and the recipe
 * unless it is the review's (whose vectors predate recipes and keep the bare id). A different
 * recipe is a different model for the store: its vectors are missing until embedded, which the
 * indexer's start-up rescan (and `orb-learn reembed`) does.
 */
export function vectorModelId(modelId: string, recipe: EmbedContent = DEFAULT_EMBED_CONTENT): string {
  return recipe === 'review' ? modelId : `${modelId}+${recipe}`;
}
