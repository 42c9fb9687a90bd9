// One function per panel: the answers it asked for in, the nodes to show out. Every chart has
// its numbers in a table beside it (the same values, raw in data-value).
import { chart, Plot, seriesColor, tierDomain, utcDay } from './charts';
import { count, dataTable, el, emptyPanel, fixed, kpi, money, pct, seconds, signedMoney, table, text, when, type Column } from './dom';

export type Row = Record<string, unknown>;
export interface QueryAnswer {
  rows: Row[];
  answer?: Record<string, unknown>;
  notes?: string[];
}

/** Names a table for the tests and for styling. */
const tagged = (t: HTMLTableElement, name: string) => {
  t.dataset.table = name;
  return t;
};


export function renderTiers(totals: QueryAnswer, daily: QueryAnswer): Node[] {
  if (totals.rows.length === 0) return [emptyPanel('No executions in this window for these filters.')];
  const tiers = tierDomain(totals.rows.map((r) => r.model_tier));
  const rows = daily.rows.map((r) => ({ ...r, day: utcDay(r.date) }));
  const x: Plot.ScaleOptions = { type: 'utc', label: null };
  const tip = { channels: { executions: 'total' }, tip: true } as const;
  const kpiTable = tagged(table(
    'Per tier over the window',
    [
      { key: 'model_tier', label: 'Tier' },
      { key: 'total', label: 'Executions', format: count, num: true },
      { key: 'success_rate', label: 'Success rate', format: pct, num: true },
      { key: 'avg_cost', label: 'Avg cost', format: money, num: true },
      { key: 'avg_quality', label: 'Avg quality', format: fixed(1), num: true },
      { key: 'p95_duration', label: 'p95 duration', format: seconds, num: true },
    ],
    totals.rows,
  ), 'tiers');
  const line = (y: string, label: string, title: string, legend = false, extra: Plot.Markish[] = []) =>
    chart({
      title,
      x,
      y: { label, grid: true, ...(y === 'success_rate' ? { domain: [0, 1], tickFormat: '%' } : {}) },
      color: seriesColor(tiers, legend),
      marks: [...extra, Plot.lineY(rows, { x: 'day', y, stroke: 'model_tier' }), Plot.dot(rows, { x: 'day', y, fill: 'model_tier', r: 2, ...tip })],
    });
  return [
    kpiTable,
    el(
      'div',
      { class: 'charts' },
      line('success_rate', 'success rate', 'Success rate by day', true, [Plot.areaY(rows, { x: 'day', y1: 'success_low', y2: 'success_high', fill: 'model_tier', fillOpacity: 0.15 })]),
      line('avg_cost', 'avg cost ($)', 'Average cost by day'),
      line('avg_quality', 'avg quality', 'Average quality by day'),
      line('p95_duration', 'p95 duration (s)', 'p95 duration by day'),
      chart({
        title: 'Executions by day',
        x,
        y: { label: 'executions', grid: true },
        color: seriesColor(tiers, false),
        marks: [Plot.rectY(rows, { x: 'day', interval: 'day', y: 'total', fill: 'model_tier', tip: true }), Plot.ruleY([0])],
      }),
    ),
    dataTable(
      'Tiers by day',
      [
        { key: 'date', label: 'Day' },
        { key: 'model_tier', label: 'Tier' },
        { key: 'total', label: 'Executions', format: count, num: true },
        { key: 'success_rate', label: 'Success', format: pct, num: true },
        { key: 'success_low', label: '95% low', format: pct, num: true },
        { key: 'success_high', label: '95% high', format: pct, num: true },
        { key: 'avg_cost', label: 'Avg cost', format: money, num: true },
        { key: 'avg_quality', label: 'Avg quality', format: fixed(1), num: true },
        { key: 'p95_duration', label: 'p95 duration', format: seconds, num: true },
      ],
      daily.rows,
    ),
  ];
}

export function renderCost(a: QueryAnswer, by: 'tier' | 'task_type'): Node[] {
  if (a.rows.length === 0) return [emptyPanel('No executions in this window for these filters.')];
  const rows: Row[] = a.rows.map((r) => ({ ...r, day: utcDay(r.date) }));
  const domain = by === 'tier' ? tierDomain(rows.map((r) => r.tier)) : [...new Set(rows.map((r) => String(r.task_type)))].sort();
  const x: Plot.ScaleOptions = { type: 'utc', label: null };
  const series = (y: string, title: string, label: string, legend: boolean, zero: boolean) =>
    chart({
      title,
      x,
      y: { label, grid: true },
      color: seriesColor(domain, legend),
      marks: [
        ...(zero ? [Plot.ruleY([0], { strokeOpacity: 0.6 })] : []),
        Plot.lineY(rows, { x: 'day', y, stroke: by }),
        Plot.dot(rows, { x: 'day', y, fill: by, r: 2, channels: { executions: 'executions' }, tip: true }),
      ],
    });
  return [
    el('div', { class: 'charts' }, series('mean_error', 'Signed error (actual − estimate) by day', 'mean error ($)', true, true), series('mean_abs_error', 'Absolute error by day', 'mean |error| ($)', false, false)),
    dataTable(
      `Cost error by day and ${by === 'tier' ? 'tier' : 'task type'}`,
      [
        { key: 'date', label: 'Day' },
        { key: by, label: by === 'tier' ? 'Tier' : 'Task type' },
        { key: 'executions', label: 'Executions', format: count, num: true },
        { key: 'avg_estimate', label: 'Avg estimate', format: money, num: true },
        { key: 'avg_actual', label: 'Avg actual', format: money, num: true },
        { key: 'mean_error', label: 'Signed error', format: signedMoney, num: true },
        { key: 'mean_abs_error', label: 'Abs error', format: money, num: true },
        { key: 'abs_error_pct', label: 'Abs error %', format: (v) => (v === null ? '–' : `${Number(v).toFixed(1)}%`), num: true },
      ],
      a.rows,
    ),
  ];
}

export function renderPools(a: QueryAnswer): Node[] {
  if (a.rows.length === 0) return [emptyPanel('No executions in this window for these filters.')];
  const rows = a.rows;
  const bars = (y: string, title: string, label: string, extra: Plot.Markish[] = []) =>
    chart({
      title,
      height: 200,
      x: { label: null, domain: rows.map((r) => String(r.pool_type)) },
      y: { label, grid: true, ...(y === 'success_rate' ? { domain: [0, 1], tickFormat: '%' } : {}) },
      marks: [Plot.barY(rows, { x: 'pool_type', y, fill: 'var(--accent)', fillOpacity: 0.75, channels: { executions: 'total_tasks' }, tip: true }), ...extra, Plot.ruleY([0])],
    });
  return [
    el(
      'div',
      { class: 'charts' },
      bars('success_rate', 'Success rate', 'success rate', [Plot.ruleX(rows, { x: 'pool_type', y1: 'success_low', y2: 'success_high', strokeWidth: 2 }), Plot.text(rows, { x: 'pool_type', y: 0, text: (d: Row) => `n=${count(d.total_tasks)}`, dy: -6, fill: 'currentColor' })]),
      bars('avg_duration', 'Average duration', 'seconds'),
      bars('avg_cost', 'Average cost', '$'),
    ),
    table(
      'Pools over the window',
      [
        { key: 'pool_type', label: 'Pool' },
        { key: 'total_tasks', label: 'Executions', format: count, num: true },
        { key: 'success_rate', label: 'Success', format: pct, num: true },
        { key: 'avg_duration', label: 'Avg duration', format: seconds, num: true },
        { key: 'avg_cost', label: 'Avg cost', format: money, num: true },
      ],
      rows,
    ),
  ];
}

const short = (s: unknown, max = 34) => {
  const t = String(s);
  return t.length > max ? `${t.slice(0, max - 1)}…` : t;
};

export function renderPatterns(a: QueryAnswer): Node[] {
  if (a.rows.length === 0) return [emptyPanel('No solution patterns yet: executions with execution.solution_summary feed them.')];
  const rows = a.rows.map((r, i) => ({ ...r, label: `${i + 1}. ${short(r.solution_summary)}` }));
  return [
    chart({
      title: 'Usage of the top patterns',
      height: 28 + rows.length * 22,
      marginLeft: 230,
      x: { label: 'executions', grid: true },
      y: { label: null, domain: rows.map((r) => r.label) },
      color: { scheme: 'viridis', domain: [0, 1], legend: true, label: 'success rate', tickFormat: '%' },
      marks: [Plot.barX(rows, { y: 'label', x: 'usage_count', fill: 'success_rate', channels: { quality: 'avg_quality' }, tip: true }), Plot.ruleX([0])],
    }),
    table(
      'Top solution patterns',
      [
        { key: 'solution_summary', label: 'Pattern' },
        { key: 'usage_count', label: 'Usage', format: count, num: true },
        { key: 'success_rate', label: 'Success', format: pct, num: true },
        { key: 'avg_quality', label: 'Quality', format: fixed(1), num: true },
        { key: 'task_types', label: 'Task types' },
      ],
      a.rows,
    ),
  ];
}

export function renderFeedback(a: QueryAnswer): Node[] {
  if (a.rows.length === 0) return [emptyPanel('No feedback in this window. Feedback arrives as feedback.* spans, GenAI evaluation events, POST /v1/feedback or orb-learn feedback add.')];
  const rows: Row[] = a.rows.map((r) => ({ ...r, day: utcDay(r.date) }));
  const x: Plot.ScaleOptions = { type: 'utc', label: null };
  const rated = rows.filter((r) => r.avg_rating !== null);
  const judged = rows.filter((r) => r.acceptance_rate !== null);
  return [
    el(
      'div',
      { class: 'charts' },
      chart({
        title: 'Average rating by day',
        x,
        y: { label: 'rating', domain: [1, 5], grid: true },
        marks: [Plot.lineY(rated, { x: 'day', y: 'avg_rating', stroke: 'var(--accent)' }), Plot.dot(rated, { x: 'day', y: 'avg_rating', fill: 'var(--accent)', r: 2, channels: { ratings: 'ratings' }, tip: true })],
      }),
      chart({
        title: 'Acceptance rate by day',
        x,
        y: { label: 'accepted', domain: [0, 1], tickFormat: '%', grid: true },
        marks: [
          Plot.areaY(judged, { x: 'day', y1: 'acceptance_low', y2: 'acceptance_high', fill: 'var(--ok)', fillOpacity: 0.15 }),
          Plot.lineY(judged, { x: 'day', y: 'acceptance_rate', stroke: 'var(--ok)' }),
          Plot.dot(judged, { x: 'day', y: 'acceptance_rate', fill: 'var(--ok)', r: 2, channels: { judged: 'judged' }, tip: true }),
        ],
      }),
      chart({
        title: 'Feedback received by day',
        x,
        y: { label: 'pieces', grid: true },
        marks: [Plot.rectY(rows, { x: 'day', interval: 'day', y: 'feedback', fill: 'var(--muted)', tip: true }), Plot.ruleY([0])],
      }),
    ),
    dataTable(
      'Feedback by day',
      [
        { key: 'date', label: 'Day' },
        { key: 'feedback', label: 'Feedback', format: count, num: true },
        { key: 'ratings', label: 'Ratings', format: count, num: true },
        { key: 'avg_rating', label: 'Avg rating', format: fixed(2), num: true },
        { key: 'judged', label: 'Judged', format: count, num: true },
        { key: 'accepted', label: 'Accepted', format: count, num: true },
        { key: 'acceptance_rate', label: 'Acceptance', format: pct, num: true },
      ],
      a.rows,
    ),
  ];
}

export function renderPolicies(current: Row[], history: Row[]): Node[] {
  if (current.length === 0 && history.length === 0)
    return [emptyPanel('No quality policies yet: orb-learn policy set --repo R (or PUT /v1/policies/R) creates one; orb-learn policy adjust proposes changes from the evidence.')];
  const changes: Row[] = history.map((h) => ({ ...h, at: new Date(String(h.changed_at)) }));
  const out: Node[] = [
    table(
      'Current thresholds per repository',
      [
        { key: 'repo', label: 'Repository' },
        { key: 'project_maturity', label: 'Maturity' },
        { key: 'coverage_threshold', label: 'Coverage ≥', format: (v) => (v === null ? '–' : `${Number(v)}%`), num: true },
        { key: 'strictness_level', label: 'Strictness' },
        { key: 'last_adjusted', label: 'Last adjusted', format: when },
        { key: 'adjustment_reason', label: 'Why' },
      ],
      current,
    ),
  ];
  if (changes.length > 0)
    out.push(
      chart({
        title: 'Coverage threshold changes',
        height: 60 + new Set(changes.map((c) => c.repo)).size * 28,
        marginLeft: 110,
        x: { type: 'utc', label: null },
        y: { label: null },
        color: { domain: ['manual', 'adjustment'], scheme: 'observable10', legend: true },
        marks: [Plot.dot(changes, { x: 'at', y: 'repo', fill: 'source', r: 5, channels: { coverage: 'coverage_threshold_after', reason: 'reason' }, tip: true })],
      }),
      dataTable(
        'Adjustment history',
        [
          { key: 'changed_at', label: 'When', format: when },
          { key: 'repo', label: 'Repository' },
          { key: 'source', label: 'By' },
          { key: 'coverage_threshold_before', label: 'Coverage before', num: true },
          { key: 'coverage_threshold_after', label: 'after', num: true },
          { key: 'strictness_level_after', label: 'Strictness' },
          { key: 'reason', label: 'Reason' },
        ],
        history,
      ),
    );
  return out;
}

interface Health {
  generated_at: string;
  store: QueryAnswer & { answer: { rejected_by_reason: Row[]; archive_runs: Row[]; hot_executions?: number } };
  live: {
    uptime_seconds: number;
    metrics: Record<string, number>;
    ingest_per_second: number;
    embedding: { model_id: string; indexed: number } | null;
    snapshot: { age_seconds: number; bytes: number; seconds: number; published_at: string } | null;
  } | null;
}

export function renderHealth(h: Health): Node[] {
  const out: Node[] = [];
  const m = h.live?.metrics;
  const hot = h.store.answer.hot_executions;
  if (h.live && m) {
    const indexed = h.live.embedding?.indexed;
    out.push(
      el(
        'div',
        { class: 'kpis' },
        kpi('accepted spans/s (last minute)', fixed(1)(h.live.ingest_per_second), h.live.ingest_per_second, 'ingest_per_second'),
        kpi('accepted since start', count(m.orb_spans_accepted_total), m.orb_spans_accepted_total, 'orb_spans_accepted_total'),
        kpi('rejected since start', count(m.orb_spans_rejected_total), m.orb_spans_rejected_total, 'orb_spans_rejected_total'),
        kpi('write queue (rows)', count(m.orb_queue_depth_rows), m.orb_queue_depth_rows, 'orb_queue_depth_rows'),
        kpi('embedding backlog', count(m.orb_embedding_backlog_rows), m.orb_embedding_backlog_rows, 'orb_embedding_backlog_rows'),
        kpi(
          h.live.embedding ? `vectors indexed (${h.live.embedding.model_id})` : 'vectors: no model loaded',
          indexed === undefined ? '–' : hot ? `${count(indexed)} · ${pct(Math.min(1, indexed / hot))}` : count(indexed),
          indexed ?? null,
          'indexed',
        ),
        kpi('snapshot age', h.live.snapshot ? seconds(h.live.snapshot.age_seconds) : 'none yet', h.live.snapshot?.age_seconds ?? null, 'snapshot_age_seconds'),
        kpi('up for', seconds(h.live.uptime_seconds), h.live.uptime_seconds, 'uptime_seconds'),
      ),
    );
  } else {
    out.push(el('p', { class: 'hint', text: 'Live figures (rates, queue, backlog, snapshot) come from a running server; this view has the store’s only.' }));
  }
  const hourly = h.store.rows.map((r) => ({ ...r, at: new Date(String(r.hour)) }));
  if (hourly.length > 0)
    out.push(
      chart({
        title: 'Executions per hour (last 48 h, by start time)',
        height: 180,
        x: { type: 'utc', label: null },
        y: { label: 'executions', grid: true },
        marks: [Plot.rectY(hourly, { x: 'at', interval: 'hour', y: 'executions', fill: 'var(--accent)', tip: true }), Plot.ruleY([0])],
      }),
    );
  else out.push(emptyPanel('No executions in the last 48 hours.'));
  const rejected = h.store.answer.rejected_by_reason;
  if (rejected.length > 0)
    out.push(
      chart({
        title: 'Rejected spans by reason (last 48 h)',
        height: 40 + rejected.length * 24,
        marginLeft: 220,
        x: { label: 'spans', grid: true },
        y: { label: null, domain: rejected.map((r) => String(r.reason)) },
        marks: [Plot.barX(rejected, { y: 'reason', x: 'spans', fill: 'var(--error)', channels: { example: 'example' }, tip: true }), Plot.ruleX([0])],
      }),
      table('Rejected spans by reason', [{ key: 'reason', label: 'Reason' }, { key: 'spans', label: 'Spans', format: count, num: true }, { key: 'last_seen', label: 'Last', format: when }], rejected),
    );
  else out.push(el('p', { class: 'hint', 'data-field': 'no-rejections', text: 'No rejected spans in the last 48 hours.' }));
  const runs = h.store.answer.archive_runs;
  out.push(el('h3', { text: 'Archive runs' }));
  out.push(
    runs.length > 0
      ? table(
          'Archive runs',
          [
            { key: 'started_at', label: 'Started', format: when },
            { key: 'status', label: 'Status' },
            { key: 'executions_archived', label: 'Executions', format: count, num: true },
            { key: 'feedback_archived', label: 'Feedback', format: count, num: true },
            { key: 'bytes', label: 'Bytes', format: count, num: true },
            { key: 'error', label: 'Error' },
          ],
          runs,
        )
      : el('p', { class: 'hint', text: 'No archive run yet.' }),
  );
  return out;
}

const KNOWN_EVIDENCE: Column[] = [
  { key: 'model_tier', label: 'Tier' },
  { key: 'evidence', label: 'Evidence', format: count, num: true },
  { key: 'success_rate', label: 'Success', format: pct, num: true },
  { key: 'success_interval', label: '95% interval', format: (v) => (Array.isArray(v) ? `${pct(v[0])} – ${pct(v[1])}` : text(v)) },
  { key: 'avg_quality', label: 'Quality', format: fixed(1), num: true },
  { key: 'avg_cost', label: 'Avg cost', format: money, num: true },
];

/** Any value, for fields this page does not know yet (a newer server's answer). */
function anyValue(v: unknown): string {
  if (v === null || v === undefined) return '–';
  if (typeof v === 'number') return Number.isInteger(v) ? count(v) : String(Math.round(v * 1e4) / 1e4);
  if (Array.isArray(v) && v.every((x) => typeof x === 'number')) return v.map(anyValue).join(' – ');
  if (Array.isArray(v)) return v.map(anyValue).join(', ');
  if (typeof v === 'object') return Object.entries(v as Record<string, unknown>).map(([k, x]) => `${k.replaceAll('_', ' ')}: ${anyValue(x)}`).join(' · ');
  return String(v);
}

export function renderRoute(rec: QueryAnswer, similar: QueryAnswer, filterBy: (taskType: string) => void): Node[] {
  const a = rec.answer ?? {};
  const tier = a.recommended_tier as string | null | undefined;
  const out: Node[] = [
    el(
      'p',
      { class: 'verdict', 'data-field': 'recommended_tier', 'data-value': JSON.stringify(tier ?? null) },
      tier ? 'Recommended tier: ' : 'No recommendation',
      tier ? el('strong', { text: tier }) : null,
    ),
  ];
  const shown = Object.entries(a).filter(([k]) => k !== 'recommended_tier');
  out.push(el('dl', { class: 'answer' }, ...shown.flatMap(([k, v]) => [el('dt', { text: k.replaceAll('_', ' ') }), el('dd', { 'data-field': k, 'data-value': JSON.stringify(v ?? null), text: anyValue(v) })])));
  const types = [...new Set([a.task_type, ...similar.rows.map((r) => r.task_type)].filter((t): t is string => typeof t === 'string'))];
  if (types.length > 0) {
    const links = el('p', { class: 'hint' }, 'Filter the page by task type: ');
    types.forEach((t, i) => {
      const b = el('button', { type: 'button', 'data-filter-task-type': t, text: t });
      b.addEventListener('click', () => filterBy(t));
      links.append(i ? ' ' : '', b);
    });
    out.push(links);
  }
  const rows = rec.rows;
  if (rows.length > 0) {
    const tiers = tierDomain(rows.map((r) => r.model_tier));
    const extra = [...new Set(rows.flatMap((r) => Object.keys(r)))].filter((k) => !KNOWN_EVIDENCE.some((c) => c.key === k));
    out.push(
      chart({
        title: 'Success rate per tier, with its 95% interval',
        height: 50 + tiers.length * 34,
        marginLeft: 80,
        x: { domain: [0, 1], tickFormat: '%', label: 'success rate', grid: true },
        y: { domain: tiers, label: null },
        color: seriesColor(tiers, false),
        marks: [
          Plot.ruleY(rows, { y: 'model_tier', x1: (d: Row) => (d.success_interval as number[])[0], x2: (d: Row) => (d.success_interval as number[])[1], stroke: 'model_tier', strokeWidth: 3 }),
          Plot.dot(rows, { y: 'model_tier', x: 'success_rate', fill: 'model_tier', r: 5, channels: { evidence: 'evidence' }, tip: true }),
        ],
      }),
      tagged(table('Per-tier evidence', KNOWN_EVIDENCE, rows), 'evidence'),
    );
    // A newer server's per-tier fields (posterior probabilities, counts per level…), as they come.
    if (extra.length > 0) out.push(dataTable('Every per-tier field', [{ key: 'model_tier', label: 'Tier' }, ...extra.map((k) => ({ key: k, label: k.replaceAll('_', ' '), format: anyValue }))], rows));
  }
  out.push(el('h3', { text: `Similar executions behind it (top ${similar.rows.length})` }));
  out.push(
    similar.rows.length > 0
      ? tagged(table(
          'Similar executions',
          [
            { key: 'similarity', label: 'Similarity', format: fixed(3), num: true },
            { key: 'task_type', label: 'Task type' },
            { key: 'repo', label: 'Repository' },
            { key: 'model_tier', label: 'Tier' },
            { key: 'success', label: 'Success', format: (v) => (v ? 'yes' : 'no') },
            { key: 'quality_score', label: 'Quality', num: true },
            { key: 'duration_seconds', label: 'Duration', format: seconds, num: true },
            { key: 'timestamp', label: 'When', format: when },
          ],
          similar.rows,
        ), 'similar')
      : emptyPanel('No past execution is similar enough (cosine ≥ 0.5).'),
  );
  for (const note of rec.notes ?? []) out.push(el('p', { class: 'hint', text: `note: ${note}` }));
  return out;
}
