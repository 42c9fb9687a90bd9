// What each dashboard panel asks for, shared by the page (web/app.ts, bundled for the browser)
// and `orb-learn report` (which asks the same questions ahead of time and embeds the answers under
// the same keys). Pure: no Node or DOM APIs.

export const WINDOWS = [7, 30, 90] as const;
export type WindowDays = (typeof WINDOWS)[number];

export interface Filters {
  days: WindowDays;
  task_type?: string;
  repo?: string;
}

export interface ApiRequest {
  path: string;
  params: Record<string, string>;
}

export const PANELS = ['tiers', 'cost', 'pools', 'patterns', 'feedback', 'policies', 'health'] as const;
export type PanelId = (typeof PANELS)[number];

export const HEALTH_PATH = '/v1/dashboard/health';

/** A stable key for a request: the path and its parameters in name order, undefined ones left out. */
export function requestKey(r: ApiRequest): string {
  const qs = Object.entries(r.params)
    .filter(([, v]) => v !== undefined && v !== '')
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`)
    .join('&');
  return qs ? `${r.path}?${qs}` : r.path;
}

const q = (name: string, params: Record<string, string | number | undefined>): ApiRequest => ({
  path: `/v1/query/${name}`,
  params: Object.fromEntries(Object.entries(params).filter((e): e is [string, string | number] => e[1] !== undefined && e[1] !== '').map(([k, v]) => [k, String(v)])),
});

export function facetsRequest(days: WindowDays): ApiRequest {
  return q('facets', { days });
}

/** Per panel, the requests it renders from, in order. */
export function panelRequests(f: Filters): Record<PanelId, ApiRequest[]> {
  const scope = { task_type: f.task_type, repo: f.repo, days: f.days };
  return {
    tiers: [q('tiers', scope), q('tiers-daily', scope)],
    cost: [q('cost-error-daily', { ...scope, by: 'tier' }), q('cost-error-daily', { ...scope, by: 'task_type' })],
    pools: [q('pools-summary', { repo: f.repo, days: f.days })],
    patterns: [q('patterns', { repo: f.repo, min_usage: 1, limit: 15 })],
    feedback: [q('feedback-daily', { days: f.days })],
    policies: [{ path: '/v1/policies', params: {} }, { path: '/v1/policies/history', params: { limit: '50' } }],
    health: [{ path: HEALTH_PATH, params: {} }],
  };
}

export function routeRequests(text: string, f: Pick<Filters, 'repo' | 'task_type'>): { recommend: ApiRequest; similar: ApiRequest } {
  return {
    // An analyst's look-up is never Thompson-sampled, whatever the server's --router-mode.
    recommend: q('recommend', { text, repo: f.repo, task_type: f.task_type, mode: 'exploit' }),
    similar: q('similar', { text, repo: f.repo, limit: 10, threshold: 0.5 }),
  };
}

/** The report's embedded data: answers by request key, and what it was made from. */
export interface ReportData {
  generated_at: string;
  source: string;
  filters: Filters;
  responses: Record<string, unknown>;
}
