// eval-routing, served: reads the history (executions with their vectors of the active model) and
// reports the replay (eval.ts) overall and per task type, against always-largest, always-cheapest
// and the logged policy, with RouteLLM's figures: cost saving and the share of the success gap recovered.
import { JSDuckDBValueConverter, type DuckDBConnection } from '@duckdb/node-api';
import { headline, replay, type PolicyValue, type ReplayExecution } from './eval.js';
import type { RouterSettings } from './posterior.js';
import { ROUTER_K, ROUTER_TASKS } from './recommend.js';

export interface EvalParams {
  repo?: string;
  quality_target: number;
  success_target: number;
  k?: number;
  tasks?: number;
  min_similarity: number;
  confidence: number;
  prior_strength: number;
  half_life_days: number;
  kernel_width: number;
  days: number;
  max_executions: number;
}

const SWEEP = [0.5, 0.6, 0.7, 0.8, 0.9, 0.95];
const r4 = (x: number | null) => (x === null ? null : Math.round(x * 1e4) / 1e4);
const r6 = (x: number | null) => (x === null ? null : Math.round(x * 1e6) / 1e6);

async function* chunks(conn: DuckDBConnection, sql: string, values: (string | number)[]) {
  const result = await conn.stream(sql, values);
  for (let c = await result.fetchChunk(); c && c.rowCount > 0; c = await result.fetchChunk()) yield c.convertRows(JSDuckDBValueConverter) as unknown[][];
}

export async function evalRouting(
  withConn: <T>(fn: (conn: DuckDBConnection) => Promise<T>) => Promise<T>,
  p: EvalParams,
  modelId: string | null,
  now: Date,
  onProgress?: (done: number, total: number) => void,
): Promise<{ rows: Record<string, unknown>[]; answer: Record<string, unknown>; notes: string[] }> {
  const notes: string[] = [];
  const model =
    modelId ??
    (await withConn(async (conn) => (await conn.runAndReadAll('SELECT model_id FROM execution_embeddings GROUP BY model_id ORDER BY count(*) DESC LIMIT 1')).getRows()[0]?.[0] as string | undefined)) ??
    null;
  const vectors: Int8Array[] = [];
  const byHash = new Map<string, number>();
  const executions: ReplayExecution[] = [];
  await withConn(async (conn) => {
    if (model) {
      for await (const rows of chunks(conn, 'SELECT content_hash, any_value(embedding) FROM execution_embeddings WHERE model_id = $1 GROUP BY content_hash', [model])) {
        for (const r of rows) {
          byHash.set(r[0] as string, vectors.length);
          vectors.push(Int8Array.from(r[1] as number[]));
        }
      }
    } else notes.push('no execution has a vector: the replay judges by history levels alone');
    const values: (string | number)[] = [model ?? ''];
    if (p.repo) values.push(p.repo);
    for await (const rows of chunks(
      conn,
      `SELECT epoch_ms(e.timestamp)::DOUBLE, e.repo, e.task_type, e.model_tier, e.success, e.quality_score, e.actual_cost, e.cost_estimate, e.routing_propensity, v.content_hash
        FROM executions e LEFT JOIN execution_embeddings v ON v.task_id = e.task_id AND v.model_id = $1
        ${p.repo ? 'WHERE e.repo = $2' : ''} ORDER BY e.timestamp`,
      values,
    )) {
      for (const r of rows) {
        executions.push({
          timestampMs: Number(r[0]),
          repo: r[1] as string,
          task_type: r[2] as string,
          model_tier: r[3] as string,
          success: r[4] as boolean,
          quality_score: r[5] as number | null,
          actual_cost: r[6] as number,
          cost_estimate: (r[7] as number | null) ?? 0,
          routing_propensity: (r[8] as number | null) ?? null,
          vector: r[9] == null ? -1 : (byHash.get(r[9] as string) ?? -1),
          scored: false,
        });
      }
    }
  });
  const dim = vectors[0]?.length ?? 0;
  const since = now.getTime() - p.days * 86_400_000;
  let window = 0;
  for (let i = executions.length - 1; i >= 0 && window < p.max_executions; i--) {
    if (executions[i]!.timestampMs < since) break;
    executions[i]!.scored = true;
    window++;
  }
  const settings: RouterSettings = { priorStrength: p.prior_strength, halfLifeDays: p.half_life_days, kernelWidth: p.kernel_width, minSimilarity: p.min_similarity, qualitySd: 15 };
  const r = await replay(executions, vectors, dim, { settings, targets: { success: p.success_target, quality: p.quality_target }, confidence: p.confidence, k: p.k ?? ROUTER_K, neighbourLists: p.tasks ?? ROUTER_TASKS, sweep: SWEEP, onProgress });
  if (r.scored === 0) {
    return { rows: [], answer: { executions_scored: 0, reason: executions.length ? 'no execution in the window has earlier history to be judged by' : 'the database has no executions' }, notes };
  }
  const logged = r.withPropensity > 0;
  const method = logged ? 'doubly_robust' : 'direct_method';
  const of = (name: string, v: PolicyValue | undefined) => {
    if (!v) return null;
    // The logged policy's own value is what happened.
    if (name === 'logged') return { success: v.observed_success!, cost: v.observed_cost! };
    return headline(v, logged);
  };
  const get = (name: string, type?: string) => (type ? r.policies.get(name)?.byType.get(type) : r.policies.get(name)?.all);
  const figures = (type?: string) => {
    const router = of('router', get('router', type));
    const log = of('logged', get('logged', type));
    const largest = of('always-largest', get('always-largest', type));
    const cheapest = of('always-cheapest', get('always-cheapest', type));
    const rv = get('router', type)!;
    const n = type ? r.byTypeCount.get(type)! : r.scored;
    return { router, log, largest, cheapest, rv, n };
  };
  const rowOf = (label: string, type?: string) => {
    const f = figures(type);
    return {
      task_type: label,
      executions: f.n,
      agreement: r4(f.rv.agree / f.n),
      observed_success_where_agrees: r4(f.rv.observed_success),
      observed_cost_where_agrees: r6(f.rv.observed_cost),
      router_success: r4(f.router?.success ?? null),
      router_cost: r6(f.router?.cost ?? null),
      logged_success: r4(f.log?.success ?? null),
      logged_cost: r6(f.log?.cost ?? null),
      largest_success: r4(f.largest?.success ?? null),
      largest_cost: r6(f.largest?.cost ?? null),
      cheapest_success: r4(f.cheapest?.success ?? null),
      cheapest_cost: r6(f.cheapest?.cost ?? null),
    };
  };
  const rows = [rowOf('(all)'), ...[...r.byTypeCount.keys()].sort().map((t) => rowOf(t, t))];
  const f = figures();
  const gap = f.largest && f.cheapest ? f.largest.success - f.cheapest.success : 0;
  // Cost saving at equal success: the cheapest confidence whose success is at least the logged policy's.
  const swept = SWEEP.map((c) => ({ c, v: of(`router@${c}`, get(c === p.confidence ? 'router' : `router@${c}`)) })).filter((x) => x.v);
  const equal = f.log ? swept.filter((x) => x.v!.success >= f.log!.success - 1e-9).sort((a, b) => a.v!.cost - b.v!.cost)[0] : undefined;
  const policy = (v: { success: number; cost: number } | null) => (v ? { success: r4(v.success), cost: r6(v.cost) } : null);
  if (!logged) notes.push('no execution logged routing_propensity: estimates are the direct method (the replay\'s own posterior), biased toward the router; log execution.routing_propensity for doubly robust estimates');
  else if (r.withPropensity < r.scored) notes.push(`${r.scored - r.withPropensity} of ${r.scored} scored executions logged no propensity: the doubly robust estimates use the ${r.withPropensity} that did`);
  notes.push('replayed by cosine over the stored vectors (no BM25 blend), each execution seeing only strictly earlier ones; success is the outcome judged (quality enters through the targets)');
  if (r.withVector < r.scored) notes.push(`${r.scored - r.withVector} scored executions have no vector of ${model ?? 'any model'}: judged by history levels alone`);
  return {
    rows,
    answer: {
      executions_scored: r.scored,
      executions_replayed: executions.length,
      with_propensity: r.withPropensity,
      method,
      model_id: model,
      largest_tier: r.largest,
      cheapest_tier: r.cheapest,
      agreement: r4(f.rv.agree / f.n),
      router: policy(f.router),
      logged: policy(f.log),
      always_largest: policy(f.largest),
      always_cheapest: policy(f.cheapest),
      cost_saving_vs_largest: f.router && f.largest && f.largest.cost > 0 ? r4(1 - f.router.cost / f.largest.cost) : null,
      success_gap_recovered: f.router && f.cheapest && gap > 0 ? r4((f.router.success - f.cheapest.success) / gap) : null,
      cost_saving_vs_logged: f.router && f.log && f.log.cost > 0 ? r4(1 - f.router.cost / f.log.cost) : null,
      cost_saving_at_equal_success: equal && f.log && f.log.cost > 0 ? { confidence: equal.c, saving: r4(1 - equal.v!.cost / f.log.cost), success: r4(equal.v!.success) } : null,
      confidence_sweep: swept.map((x) => ({ confidence: x.c, success: r4(x.v!.success), cost: r6(x.v!.cost) })),
    },
    notes,
  };
}
