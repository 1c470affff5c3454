import React, { useEffect, useMemo, useState } from 'react';
import { PanelData, TimeRange } from '@grafana/data';
import { Collapse, Stack, Text } from '@grafana/ui';

import type { DataSource, PreviewResponse } from '../datasource';
import { FlowsQuery } from '../types';
import { validateQuery } from '../validation';

/** Wait this long after the last change before asking the backend. */
export const PREVIEW_DEBOUNCE_MS = 400;

/** When the panel has not run yet, the interval the preview assumes. */
const DEFAULT_INTERVAL_MS = 60_000;

interface Props {
  datasource: DataSource;
  query: FlowsQuery;
  range?: TimeRange;
  data?: PanelData;
}

interface State {
  /** The request body the answer is for. */
  body?: string;
  response?: PreviewResponse;
  error?: string;
}

/** The backend's message for a failed resource call: `{ "error": "…" }`, or the HTTP status. */
export function errorMessage(err: unknown): string {
  if (err && typeof err === 'object') {
    const e = err as {
      data?: { error?: unknown; message?: unknown };
      status?: number;
      statusText?: string;
      message?: unknown;
    };
    if (typeof e.data?.error === 'string' && e.data.error) {
      return e.data.error;
    }
    if (typeof e.data?.message === 'string' && e.data.message) {
      return e.data.message;
    }
    if (typeof e.message === 'string' && e.message) {
      return e.message;
    }
    if (e.status) {
      return `HTTP ${e.status}${e.statusText ? ` ${e.statusText}` : ''}`;
    }
  }
  return typeof err === 'string' && err ? err : 'The preview failed';
}

/**
 * "Requests": what the query will ask the Flows API for the current time range, and why. The
 * backend works it out (`POST preview`), by the rules it runs queries with; the editor never
 * computes requests itself. Fetched while open, again after the query or range changes.
 */
export function RequestsPreview({ datasource, query, range, data }: Props) {
  const [isOpen, setIsOpen] = useState(false);
  const [state, setState] = useState<State>({});

  const scopedVars = data?.request?.scopedVars;
  const filters = data?.request?.filters;
  const intervalMs = data?.request?.intervalMs || DEFAULT_INTERVAL_MS;
  const from = range?.from.valueOf();
  const to = range?.to.valueOf();

  // What the preview depends on, as one comparable value.
  const body = useMemo(() => {
    if (from === undefined || to === undefined) {
      return undefined;
    }
    const interpolated = datasource.applyTemplateVariables(query, scopedVars ?? {}, filters);
    return JSON.stringify({ query: interpolated, from, to, intervalMs });
  }, [datasource, query, scopedVars, filters, from, to, intervalMs]);

  const localErrors = Object.values(validateQuery(query));
  const localError = localErrors.length ? localErrors.join('\n') : undefined;

  useEffect(() => {
    if (!isOpen || body === undefined || localError) {
      return;
    }
    let cancelled = false;
    const timer = setTimeout(() => {
      datasource
        .preview(JSON.parse(body))
        .then((response) => !cancelled && setState({ body, response }))
        .catch((err) => !cancelled && setState({ body, error: errorMessage(err) }));
    }, PREVIEW_DEBOUNCE_MS);
    return () => {
      cancelled = true;
      clearTimeout(timer);
    };
  }, [isOpen, body, localError, datasource]);

  const error = localError ?? state.error;
  const loading = isOpen && !localError && body !== undefined && state.body !== body;

  return (
    <Collapse label="Requests" isOpen={isOpen} onToggle={setIsOpen} loading={loading}>
      <Stack direction="column" gap={0.5}>
        {body === undefined && <Text color="secondary">Shown for the time range of a panel or Explore.</Text>}
        {error && (
          <Text color="error" element="p">
            {error}
          </Text>
        )}
        {!error &&
          state.response?.requests?.map((r, i) => (
            <Text key={`r${i}`} variant="code" element="p">
              {r}
            </Text>
          ))}
        {!error &&
          state.response?.notes?.map((n, i) => (
            <Text key={`n${i}`} color="secondary" element="p">
              {n}
            </Text>
          ))}
      </Stack>
    </Collapse>
  );
}
