// Where the page's answers come from: the server's /v1/ API (live), or the answers a report
// embedded under the same request keys (static). A token is asked once and kept for the tab.
import { requestKey, type ApiRequest, type ReportData } from '../src/dashboard/requests';

export class AuthRequired extends Error {
  override name = 'AuthRequired';
}

export class ApiError extends Error {
  override name = 'ApiError';
  constructor(
    message: string,
    readonly status: number,
  ) {
    super(message);
  }
}

export interface Source {
  readonly live: boolean;
  get<T>(r: ApiRequest): Promise<T>;
}

const TOKEN_KEY = 'orb-learn.token';

export class LiveSource implements Source {
  readonly live = true;
  private token: string | null = sessionStorage.getItem(TOKEN_KEY);

  get hasToken(): boolean {
    return this.token !== null;
  }

  setToken(token: string): void {
    this.token = token;
    sessionStorage.setItem(TOKEN_KEY, token);
  }

  async get<T>(r: ApiRequest): Promise<T> {
    const res = await fetch(requestKey(r), { headers: this.token ? { authorization: `Bearer ${this.token}` } : {}, cache: 'no-store' });
    if (res.status === 401) throw new AuthRequired(this.token ? 'the token was refused' : 'a token is needed');
    const body = (await res.json().catch(() => null)) as (T & { message?: string }) | null;
    if (!res.ok || body === null) throw new ApiError(body?.message ?? `HTTP ${res.status} from ${r.path}`, res.status);
    return body;
  }
}

export class ReportSource implements Source {
  readonly live = false;
  constructor(readonly data: ReportData) {}

  async get<T>(r: ApiRequest): Promise<T> {
    const key = requestKey(r);
    if (!(key in this.data.responses)) throw new ApiError('not included in this report', 404);
    const v = this.data.responses[key] as T | { error: string; status: number };
    if (v && typeof v === 'object' && 'error' in v && 'status' in v && Object.keys(v).length === 2) throw new ApiError(String(v.error), Number(v.status));
    return v as T;
  }
}

/** The embedded answers of a report, if this page is one. */
export function reportData(): ReportData | null {
  const el = document.getElementById('orb-report-data');
  return el?.textContent ? (JSON.parse(el.textContent) as ReportData) : null;
}
