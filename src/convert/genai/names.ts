// The attribute names orb-learn reads from the two conventions agents already emit:
// OpenTelemetry GenAI (open-telemetry/semantic-conventions-genai, status "development") and
// Arize OpenInference. One list, so the mapping, the README table and the tests agree.

export const GEN_AI = {
  operation: 'gen_ai.operation.name',
  provider: 'gen_ai.provider.name',
  /** Replaced by gen_ai.provider.name; still emitted by older instrumentations. */
  system: 'gen_ai.system',
  requestModel: 'gen_ai.request.model',
  responseModel: 'gen_ai.response.model',
  inputTokens: 'gen_ai.usage.input_tokens',
  outputTokens: 'gen_ai.usage.output_tokens',
  /** Deprecated names of the two above. */
  promptTokens: 'gen_ai.usage.prompt_tokens',
  completionTokens: 'gen_ai.usage.completion_tokens',
  cacheReadTokens: 'gen_ai.usage.cache_read.input_tokens',
  cacheCreationTokens: 'gen_ai.usage.cache_creation.input_tokens',
  reasoningTokens: 'gen_ai.usage.reasoning.output_tokens',
  agentName: 'gen_ai.agent.name',
  agentId: 'gen_ai.agent.id',
  agentDescription: 'gen_ai.agent.description',
  inputMessages: 'gen_ai.input.messages',
  errorType: 'error.type',
} as const;

export const OPENINFERENCE = {
  kind: 'openinference.span.kind',
  modelName: 'llm.model_name',
  provider: 'llm.provider',
  system: 'llm.system',
  promptTokens: 'llm.token_count.prompt',
  completionTokens: 'llm.token_count.completion',
  cacheReadTokens: 'llm.token_count.prompt_details.cache_read',
  cacheWriteTokens: 'llm.token_count.prompt_details.cache_write',
  reasoningTokens: 'llm.token_count.completion_details.reasoning',
  costTotal: 'llm.cost.total',
  inputValue: 'input.value',
  /** llm.input_messages.<i>.message.role / .content, flattened. */
  inputMessagesPrefix: 'llm.input_messages.',
  agentName: 'agent.name',
} as const;

export const RESOURCE = {
  repoName: 'vcs.repository.name',
  repoUrl: 'vcs.repository.url.full',
  serviceName: 'service.name',
} as const;

/** Operations that spend tokens on a model: their spans are a run's inference calls. */
export const INFERENCE_OPERATIONS = new Set(['chat', 'text_completion', 'generate_content', 'embeddings']);
export const INFERENCE_KINDS = new Set(['LLM', 'EMBEDDING']);
export const AGENT_OPERATION = 'invoke_agent';
export const AGENT_KIND = 'AGENT';

/** Attributes too large or too private to keep on a pending agent span once their use is extracted. */
export const BULKY_ATTRIBUTES = new Set(['gen_ai.input.messages', 'gen_ai.output.messages', 'gen_ai.system_instructions', 'input.value', 'output.value']);
export const BULKY_PREFIXES = ['llm.input_messages.', 'llm.output_messages.'];
