// What is embedded for an execution: the review's calculate_embedding_content (§2.3).
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

export function embeddingContent(r: ContentFields): string {
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
