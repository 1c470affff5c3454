import { CoreApp, DataSourceInstanceSettings, ScopedVars } from '@grafana/data';
import { DataSourceWithBackend, getTemplateSrv } from '@grafana/runtime';

import {
  DEFAULT_QUERY,
  FILTER_FIELDS,
  FlowsDataSourceOptions,
  FlowsQuery,
  NumberOrString,
  NumericFilterValue,
} from './types';

/** Scalar string fields of the query model that a template variable may fill. */
const STRING_FIELDS = ['format', 'sort', 'order', 'metric', 'unit', 'groupBy', 'dim', 'by', 'variable'] as const;
/** Numeric fields: numbers, or strings such as `$limit`. */
const NUMBER_FIELDS = ['limit', 'topN'] as const;

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

export class DataSource extends DataSourceWithBackend<FlowsQuery, FlowsDataSourceOptions> {
  constructor(instanceSettings: DataSourceInstanceSettings<FlowsDataSourceOptions>) {
    super(instanceSettings);
  }

  getDefaultQuery(_: CoreApp): Partial<FlowsQuery> {
    return DEFAULT_QUERY;
  }

  /** Hidden queries are not run. */
  filterQuery(query: FlowsQuery): boolean {
    return !query.hide;
  }

  /**
   * Replaces template variables in every string field. A filter holding a multi-value
   * variable becomes a list of values (the backend sends one request per value); empty values
   * are dropped, so an empty result means "no filter".
   */
  applyTemplateVariables(query: FlowsQuery, scopedVars: ScopedVars): FlowsQuery {
    const templateSrv = getTemplateSrv();
    // Only the fields below change; everything else (refId, datasource, unknown fields) is kept.
    const changes: Record<string, unknown> = {};

    for (const field of STRING_FIELDS) {
      const value = query[field];
      if (typeof value === 'string') {
        // The backend validates the result against the allowed values.
        changes[field] = templateSrv.replace(value, scopedVars);
      }
    }

    for (const field of NUMBER_FIELDS) {
      const value = query[field];
      if (typeof value === 'string') {
        changes[field] = interpolateNumber(templateSrv.replace(value, scopedVars));
      }
    }

    for (const field of FILTER_FIELDS) {
      const value = query[field];
      if (value !== undefined) {
        changes[field] = interpolateFilter(value, (text) => templateSrv.replace(text, scopedVars, formatAsList));
      }
    }

    return { ...query, ...changes };
  }

  interpolateVariablesInQueries(queries: FlowsQuery[], scopedVars: ScopedVars): FlowsQuery[] {
    return queries.map((q) => ({ ...this.applyTemplateVariables(q, scopedVars), datasource: this.getRef() }));
  }
}

/** A whole number stays a number; anything else is left for the backend to reject by name. */
function interpolateNumber(text: string): NumberOrString {
  const trimmed = text.trim();
  return /^\d+$/.test(trimmed) ? Number(trimmed) : text;
}

/**
 * Interpolates a filter (a value or a list). A single value that stays a single value keeps
 * its shape; one that expands to several values becomes a list.
 */
function interpolateFilter(value: NumericFilterValue, replace: (text: string) => string): NumericFilterValue {
  const items = Array.isArray(value) ? value : [value];
  const out: Array<number | string> = [];
  for (const item of items) {
    if (typeof item === 'number') {
      out.push(item);
      continue;
    }
    for (const part of replace(item).split(LIST_SEPARATOR)) {
      const trimmed = part.trim();
      if (trimmed !== '') {
        out.push(trimmed);
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
