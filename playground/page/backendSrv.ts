/**
 * The BackendSrv of the playground: what @grafana/runtime's getBackendSrv() returns inside
 * Grafana, reduced to the calls the editors and DataSourceWithBackend make (fetch, and
 * get/post/put/request on top of it), sent with the browser's fetch to the playground server
 * (cmd/editor-playground), which answers them as Grafana's API would, from the plugin's backend.
 */
import { BackendSrv, BackendSrvRequest, FetchError, FetchResponse } from '@grafana/runtime';
import { from, Observable } from 'rxjs';

function urlOf(options: BackendSrvRequest): string {
  const url = new URL(options.url, window.location.origin);
  for (const [key, value] of Object.entries(options.params ?? {})) {
    if (value === undefined || value === null) {
      continue;
    }
    for (const v of Array.isArray(value) ? value : [value]) {
      url.searchParams.append(key, String(v));
    }
  }
  return url.toString();
}

async function send<T>(options: BackendSrvRequest): Promise<FetchResponse<T>> {
  const method = (options.method ?? 'GET').toUpperCase();
  const headers: Record<string, string> = { ...(options.headers ?? {}) };
  let body: string | undefined;
  if (options.data !== undefined && method !== 'GET') {
    headers['Content-Type'] = 'application/json';
    body = typeof options.data === 'string' ? options.data : JSON.stringify(options.data);
  }
  const res = await fetch(urlOf(options), { method, headers, body });
  const text = await res.text();
  let data: unknown = text;
  try {
    data = text ? JSON.parse(text) : undefined;
  } catch {
    // not JSON: keep the text, as Grafana's backendSrv does
  }
  const response = {
    data: data as T,
    status: res.status,
    statusText: res.statusText,
    ok: res.ok,
    headers: res.headers,
    redirected: res.redirected,
    type: res.type,
    url: res.url,
    config: options,
  };
  if (!res.ok) {
    const err: FetchError = { ...response, data, message: (data as { message?: string })?.message };
    throw err;
  }
  return response;
}

export const playgroundBackendSrv = {
  fetch: <T>(options: BackendSrvRequest): Observable<FetchResponse<T>> => from(send<T>(options)),
  request: async <T>(options: BackendSrvRequest): Promise<T> => (await send<T>(options)).data,
  datasourceRequest: <T>(options: BackendSrvRequest) => send<T>(options),
  get: async <T>(url: string, params?: BackendSrvRequest['params']): Promise<T> =>
    (await send<T>({ url, params, method: 'GET' })).data,
  post: async <T>(url: string, data?: unknown): Promise<T> => (await send<T>({ url, data, method: 'POST' })).data,
  put: async <T>(url: string, data?: unknown): Promise<T> => (await send<T>({ url, data, method: 'PUT' })).data,
  patch: async <T>(url: string, data?: unknown): Promise<T> => (await send<T>({ url, data, method: 'PATCH' })).data,
  delete: async <T>(url: string, data?: unknown): Promise<T> => (await send<T>({ url, data, method: 'DELETE' })).data,
  resolveCancelerIfExists: () => {},
  chunked: () => {
    throw new Error('chunked requests are not served by the playground');
  },
} as unknown as BackendSrv;
