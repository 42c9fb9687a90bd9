import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { embeddingContent, queryContent, reviewContent, taskContent, vectorModelId, type ContentFields } from '../../src/embed/content.js';

const run: ContentFields = {
  task_type: 'refactor',
  task_description: 'Move token checks into the auth middleware',
  repo: 'api',
  model_tier: 'small',
  pool_type: 'local',
  swarm_topology: 'mesh',
  success: true,
  solution_summary: 'Extracted JWT validation',
};

describe('what is embedded for an execution', () => {
  it("by default the task's identity: task type and description, nothing of the outcome or the routing", () => {
    assert.equal(embeddingContent(run), 'refactor: Move token checks into the auth middleware');
    assert.equal(taskContent(run), embeddingContent(run, 'task'));
    // Another run of the same task: other tier, pool, repo, topology, outcome, solution.
    const other: ContentFields = { ...run, repo: 'web', model_tier: 'large', pool_type: 'gpu', swarm_topology: null, success: false, solution_summary: null };
    assert.equal(embeddingContent(other), embeddingContent(run), 'one task, one content, one vector');
    for (const leak of ['small', 'local', 'mesh', 'True', 'Success', 'Tier', 'Pool', 'api', 'JWT']) assert.ok(!embeddingContent(run).includes(leak), leak);
    assert.notEqual(embeddingContent({ ...run, task_type: 'test' }), embeddingContent(run), 'the task type is part of the identity');
  });

  it("keeps the review's calculate_embedding_content as the 'review' recipe, unchanged", () => {
    assert.equal(
      embeddingContent(run, 'review'),
      'Task: refactor | Description: Move token checks into the auth middleware | Repository: api | Model Tier: small | Pool: local | Topology: mesh | Success: True | Solution: Extracted JWT validation',
    );
    assert.equal(reviewContent({ ...run, swarm_topology: null, success: false, solution_summary: null }), 'Task: refactor | Description: Move token checks into the auth middleware | Repository: api | Model Tier: small | Pool: local | Success: False');
  });

  it('embeds a query as the stored vectors are: its text, with its task type when known', () => {
    assert.equal(queryContent('Move token checks', undefined), 'Move token checks');
    assert.equal(queryContent('Move token checks', 'refactor'), 'refactor: Move token checks');
    assert.equal(queryContent('Move token checks', 'refactor', 'review'), 'Move token checks');
  });

  it('a recipe is part of the vectors\' model id (the review\'s keeps the bare id its vectors always had)', () => {
    assert.equal(vectorModelId('orb-offline-use-lite-v1'), 'orb-offline-use-lite-v1+task');
    assert.equal(vectorModelId('orb-offline-use-lite-v1', 'review'), 'orb-offline-use-lite-v1');
  });
});
