// `orb-learn report`: asks every panel's questions ahead of time, from a database file (the
// query library) or a running server (its API), and writes one self-contained HTML file with the
// page, the chart library and the answers inline, so it opens anywhere without a network.
import type { DuckDBConnection } from '@duckdb/node-api';
import { listPolicies, policyHistory } from '../policy/policies.js';
import type { QueryLibrary } from '../query/library.js';
import { isQueryName } from '../query/params.js';
import { loadAssets, reportPage } from './assets.js';
import { dashboardHealth } from './health.js';
import { facetsRequest, HEALTH_PATH, PANELS, panelRequests, requestKey, type ApiRequest, type Filters, type ReportData } from './requests.js';

/** Answers one of the page's requests. */
export type Answerer = (r: ApiRequest) => Promise<unknown>;

/** The requests a report answers: the filters' facets and every panel (route-a-task needs a live server). */
export function reportRequests(f: Filters): ApiRequest[] {
  const byPanel = panelRequests(f);
  return [facetsRequest(f.days), ...PANELS.flatMap((p) => byPanel[p])];
}

/** Answers from a database file: the same functions the server's routes call. */
export function fileAnswerer(library: QueryLibrary, withConnection: <T>(fn: (c: DuckDBConnection) => Promise<T>) => Promise<T>): Answerer {
  return async (r) => {
    if (r.path.startsWith('/v1/query/')) {
      const name = r.path.slice('/v1/query/'.length);
      if (!isQueryName(name)) throw new Error(`no query ${name}`);
      return library.run(name, r.params);
    }
    if (r.path === '/v1/policies') return withConnection(listPolicies);
    if (r.path === '/v1/policies/history') return withConnection((c) => policyHistory(c, { limit: Number(r.params.limit) }));
    if (r.path === HEALTH_PATH) return dashboardHealth(library, null);
    throw new Error(`a report cannot answer ${r.path}`);
  };
}

/** Answers from a running server's API. */
export function serverAnswerer(base: string, token: string | undefined): Answerer {
  return async (r) => {
    const res = await fetch(`${base}${requestKey(r)}`, { headers: token ? { authorization: `Bearer ${token}` } : {}, signal: AbortSignal.timeout(120_000) });
    const body = (await res.json().catch(() => null)) as { message?: string } | null;
    if (res.status === 401) throw new Error(`the server at ${base} wants a bearer token (give --auth-token or ORB_AUTH_TOKEN)`);
    if (!res.ok || body === null) throw new Error(`${r.path}: HTTP ${res.status}${body?.message ? `: ${body.message}` : ''}`);
    return body;
  };
}

export interface ReportOptions {
  filters: Filters;
  source: string;
  answer: Answerer;
  onStep?(done: number, total: number, what: string): void;
  now?: Date;
}

/** Every answer, in order; a question that fails is kept with its error, and the panel says so. */
export async function collectReport(o: ReportOptions): Promise<ReportData> {
  const requests = reportRequests(o.filters);
  const responses: Record<string, unknown> = {};
  let done = 0;
  for (const r of requests) {
    o.onStep?.(done, requests.length, r.path);
    try {
      // Through JSON now, so the file holds exactly what the page would have fetched.
      responses[requestKey(r)] = JSON.parse(JSON.stringify(await o.answer(r)));
    } catch (err) {
      if (/bearer token/.test((err as Error).message)) throw err;
      responses[requestKey(r)] = { error: (err as Error).message, status: 500 };
    }
    o.onStep?.(++done, requests.length, r.path);
  }
  return { generated_at: (o.now ?? new Date()).toISOString(), source: o.source, filters: o.filters, responses };
}

export function reportHtml(data: ReportData): string {
  return reportPage(loadAssets(), data);
}
