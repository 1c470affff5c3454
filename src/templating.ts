/**
 * Template variables and ad-hoc filters: how a saved query becomes the query the backend gets.
 * docs/frontend.md describes the rules; the backend (pkg/models) parses the result.
 */
import { AdHocVariableFilter, ScopedVars } from '@grafana/data';
import { TemplateSrv } from '@grafana/runtime';

import { parseProtocol } from './protocols';
import { canonicalIP, hasTemplateVariable } from './validation';
import { FILTER_FIELDS, FilterField, FlowsQuery, NumberOrString, NumericFilterValue } from './types';

/** Scalar string fields a template variable may fill. */
const STRING_FIELDS = ['format', 'sort', 'order', 'metric', 'unit', 'groupBy', 'dim', 'by', 'variable'] as const;
/** Numeric fields: numbers, or strings such as `$limit`. */
const NUMBER_FIELDS = ['limit', 'topN'] as const;

/** The value Grafana gives the "All" option of a variable, and its custom-all-value marker. */
export const ALL_VALUE = '$__all';

/**
 * Joins the values of a multi-value variable with a character no IP, port or protocol holds,
 * so the interpolated text can be split back into a list.
 */
const LIST_SEPARATOR = '\u001f';

function formatAsList(value: unknown): string {
  if (Array.isArray(value)) {
    return value.map((v) => String(v)).join(LIST_SEPARATOR);
  }
  return value === undefined || value === null ? '' : String(value);
}

/** `$name`, `${name}`, `${name:format}` or `[[name]]` alone, with the variable's name. */
const SINGLE_VARIABLE =
  /^\s*(?:\$([A-Za-z_]\w*)|\$\{([A-Za-z_]\w*)(?::[^}]*)?\}|\[\[([A-Za-z_]\w*)(?::[^\]]*)?\]\])\s*$/;

/**
 * Whether `text` is one variable reference whose current value is "All". Such a filter means
 * "no filter", whatever the variable's options are: without a custom all value, Grafana would
 * expand it to every option (one API request each).
 */
function isAllSelection(text: string, scopedVars: ScopedVars, templateSrv: TemplateSrv): boolean {
  const m = SINGLE_VARIABLE.exec(text);
  const name = m?.[1] ?? m?.[2] ?? m?.[3];
  if (!name || scopedVars?.[name]) {
    return false;
  }
  const variable = templateSrv.getVariables?.().find((v) => v.name === name);
  const current = (variable as { current?: { value?: unknown } } | undefined)?.current?.value;
  return current === ALL_VALUE || (Array.isArray(current) && current.includes(ALL_VALUE));
}

/** A whole number becomes a number; anything else is left for the backend to reject by name. */
function toNumberIfWhole(text: string): NumberOrString {
  const trimmed = text.trim();
  return /^\d+$/.test(trimmed) ? Number(trimmed) : text;
}

/**
 * Interpolates a filter (a value or a list). A single value that stays a single value keeps its
 * shape; one that expands to several values becomes a list; "All" and empty values are dropped,
 * and nothing left is "no filter" ('' for a single value, [] for a list).
 */
/** List fields of a source's own query types (AWS flowLogConfigs) and the action filter. */
const LIST_FIELDS = [
  'action',
  'regions',
  'resourceId',
  'trafficType',
  'destinationType',
  'deliverLogsStatus',
  'tags',
] as const;

function interpolateFilter(
  field: FilterField | (typeof LIST_FIELDS)[number] | 'labels',
  value: NumericFilterValue,
  scopedVars: ScopedVars,
  templateSrv: TemplateSrv
): NumericFilterValue {
  const items = Array.isArray(value) ? value : [value];
  const out: Array<number | string> = [];
  for (const item of items) {
    if (typeof item === 'number') {
      out.push(item);
      continue;
    }
    if (typeof item !== 'string' || isAllSelection(item, scopedVars, templateSrv)) {
      continue;
    }
    const parts = templateSrv.replace(item, scopedVars, formatAsList).split(LIST_SEPARATOR);
    if (parts.some((p) => p.trim() === ALL_VALUE)) {
      // a custom all value of `$__all`: no filter
      continue;
    }
    for (const part of parts) {
      const trimmed = part.trim();
      if (trimmed !== '') {
        out.push(field === 'port' ? toNumberIfWhole(trimmed) : trimmed);
      }
    }
  }
  if (!Array.isArray(value)) {
    if (out.length === 0) {
      return '';
    }
    if (out.length === 1) {
      return out[0];
    }
  }
  return out;
}

/** Replaces template variables in every field. The input is not changed. */
export function interpolateQuery(query: FlowsQuery, scopedVars: ScopedVars, templateSrv: TemplateSrv): FlowsQuery {
  // Only these fields change; everything else (refId, datasource, unknown fields) is kept.
  const changes: Record<string, unknown> = {};

  for (const field of STRING_FIELDS) {
    const value = query[field];
    if (typeof value === 'string') {
      // the backend checks the result against the allowed values
      changes[field] = templateSrv.replace(value, scopedVars);
    }
  }
  for (const field of NUMBER_FIELDS) {
    const value = query[field];
    if (typeof value === 'string') {
      changes[field] = toNumberIfWhole(templateSrv.replace(value, scopedVars));
    }
  }
  for (const field of FILTER_FIELDS) {
    const value = query[field];
    if (value !== undefined && value !== null) {
      changes[field] = interpolateFilter(field, value, scopedVars, templateSrv);
    }
  }
  for (const field of LIST_FIELDS) {
    const value = query[field];
    if (value !== undefined && value !== null) {
      changes[field] = interpolateFilter(field, value, scopedVars, templateSrv);
    }
  }
  if (query.labels) {
    const labels: Record<string, NumericFilterValue> = {};
    for (const [key, value] of Object.entries(query.labels)) {
      if (value !== undefined && value !== null) {
        labels[key] = interpolateFilter('labels', value, scopedVars, templateSrv);
      }
    }
    changes.labels = labels;
  }
  return { ...query, ...changes };
}

// --- ad-hoc filters -----------------------------------------------------------------------------

/** Ad-hoc filter keys, as getTagKeys offers them, and the query field each one sets. */
export const AD_HOC_KEYS: ReadonlyArray<{ key: string; field: FilterField; text: string }> = [
  { key: 'src_ip', field: 'srcIp', text: 'Source IP' },
  { key: 'dst_ip', field: 'dstIp', text: 'Destination IP' },
  { key: 'port', field: 'port', text: 'Port' },
  { key: 'protocol', field: 'protocol', text: 'Protocol' },
  { key: 'exporter', field: 'exporter', text: 'Exporter' },
];

/** The operators an ad-hoc filter may use: the API matches exact values only. */
export const AD_HOC_OPERATORS = ['=', '=|'] as const;

/** The same value however it is written: `TCP`/`tcp`/`6`, `2001:DB8::1`/`2001:db8::1`, `080`/`80`. */
function sameValueKey(field: FilterField, value: number | string): string {
  const text = String(value).trim();
  if (hasTemplateVariable(text)) {
    return text;
  }
  switch (field) {
    case 'port':
      return /^\d+$/.test(text) ? String(Number(text)) : text;
    case 'protocol': {
      const n = parseProtocol(text);
      return n === undefined ? text : String(n);
    }
    default:
      return canonicalIP(text) ?? text;
  }
}

export interface AdHocResult {
  query: FlowsQuery;
  /**
   * Set when an ad-hoc filter and the query's own filter on the same field have no value in
   * common: no flow can match, and query() answers with no data (this says why).
   */
  conflict?: string;
}

/**
 * Applies ad-hoc filters to an interpolated query. Filters narrow: each `=` (or `=|`, one of
 * several values) filter is ANDed with the query's own filters. On a field the query leaves
 * empty, the filter's values are set. On a field the query sets, only the values both allow are
 * kept; when there are none, `conflict` says so (and the field holds the ad-hoc values, so the
 * query never reads more than the dashboard filter allows). Other operators cannot be expressed
 * to the API and are ignored with a console warning.
 */
export function applyAdHocFilters(query: FlowsQuery, filters: AdHocVariableFilter[] | undefined): AdHocResult {
  if (!filters?.length) {
    return { query };
  }
  const out: Record<string, unknown> = { ...query };
  const conflicts: string[] = [];

  for (const { key, field } of AD_HOC_KEYS) {
    const relevant = filters.filter((f) => f.key === key);
    let allowed: Array<number | string> | undefined;
    let described: string[] = [];
    for (const f of relevant) {
      if (!(AD_HOC_OPERATORS as readonly string[]).includes(f.operator)) {
        console.warn(`Flows API: ad-hoc filter "${f.key} ${f.operator} ${f.value}" ignored: only = is supported`);
        continue;
      }
      const values = (f.operator === '=|' && f.values?.length ? f.values : [f.value])
        .map((v) => String(v ?? '').trim())
        .filter((v) => v !== '')
        .map((v) => (field === 'port' ? toNumberIfWhole(v) : v));
      if (values.length === 0) {
        continue;
      }
      described.push(`${key} ${f.operator} ${values.join('|')}`);
      allowed = allowed === undefined ? values : intersect(field, allowed, values);
    }
    if (allowed === undefined) {
      continue;
    }
    const own = ownValues(out[field]);
    const result = own.length === 0 ? allowed : intersect(field, own, allowed);
    if (result.length === 0) {
      conflicts.push(
        own.length === 0
          ? `the ad-hoc filters ${described.join(' and ')} exclude each other`
          : `the ad-hoc filter ${described.join(' and ')} excludes this query's ${field} ${own.join(', ')}`
      );
      out[field] = allowed.length === 1 ? allowed[0] : allowed;
      continue;
    }
    out[field] = result.length === 1 ? result[0] : result;
  }

  const result: AdHocResult = { query: out as unknown as FlowsQuery };
  if (conflicts.length) {
    result.conflict = `No flows can match: ${conflicts.join('; ')}.`;
  }
  return result;
}

function ownValues(value: unknown): Array<number | string> {
  const items = Array.isArray(value) ? value : [value];
  return items.filter((v): v is number | string => typeof v === 'number' || (typeof v === 'string' && v.trim() !== ''));
}

function intersect(field: FilterField, a: Array<number | string>, b: Array<number | string>): Array<number | string> {
  const keys = new Set(b.map((v) => sameValueKey(field, v)));
  return a.filter((v) => keys.has(sameValueKey(field, v)));
}
