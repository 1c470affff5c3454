import {
  AdHocVariableFilter,
  CoreApp,
  createDataFrame,
  DataFrame,
  DataQueryRequest,
  DataQueryResponse,
  DataSourceGetTagKeysOptions,
  DataSourceGetTagValuesOptions,
  DataSourceInstanceSettings,
  getDefaultTimeRange,
  MetricFindValue,
  ScopedVars,
} from '@grafana/data';
import { DataSourceWithBackend, getTemplateSrv, isExpressionReference } from '@grafana/runtime';
import { map, Observable, of } from 'rxjs';

import { CapabilitiesProvider, SourceCapabilities } from './capabilities';
import { migrateQuery } from './migrations';
import { AD_HOC_KEYS, applyAdHocFilters, interpolateQuery } from './templating';
import {
  DEFAULT_ALERTING_QUERY,
  DEFAULT_PANEL_QUERY,
  editorKind,
  FILTER_FIELDS,
  FlowsDataSourceOptions,
  FlowsQuery,
  QUERY_TYPES,
  withDefaults,
} from './types';
import { FlowsVariableSupport } from './variables';

/** Most values an ad-hoc filter lists: the backend reads a time-bounded top N, never a full scan. */
export const TAG_VALUES_LIMIT = 100;

/** The body of the backend's `POST preview` resource. */
export interface PreviewRequest {
  query: FlowsQuery;
  from: number;
  to: number;
  intervalMs: number;
}

/** What the backend's `POST preview` answers: the requests a query makes for the range. */
export interface PreviewResponse {
  requests: string[];
  notes?: string[];
}

export class DataSource
  extends DataSourceWithBackend<FlowsQuery, FlowsDataSourceOptions>
  implements CapabilitiesProvider
{
  private capabilities?: Promise<SourceCapabilities>;
  /** The regions the settings name (AWS source): offered in the flow-log configurations editor. */
  readonly regions: string[];

  constructor(instanceSettings: DataSourceInstanceSettings<FlowsDataSourceOptions>) {
    super(instanceSettings);
    this.regions = instanceSettings.jsonData?.regions ?? [];
    this.variables = new FlowsVariableSupport(this);
  }

  /** Alert rules start with top talkers; panels with traffic over time by protocol. */
  getDefaultQuery(app: CoreApp): Partial<FlowsQuery> {
    return app === CoreApp.UnifiedAlerting ? { ...DEFAULT_ALERTING_QUERY } : { ...DEFAULT_PANEL_QUERY };
  }

  /** Hidden queries and queries without a known query type are not run. */
  filterQuery(query: FlowsQuery): boolean {
    if (query.hide) {
      return false;
    }
    return query.queryType !== undefined && (QUERY_TYPES as readonly string[]).includes(query.queryType);
  }

  /** One line describing a query, e.g. "Top talkers: src by bytes, top 20, protocol=tcp". */
  getQueryDisplayText(query: FlowsQuery): string {
    const q = withDefaults(query);
    let text: string;
    switch (editorKind(q)) {
      case 'timeseries': {
        const grouped =
          q.groupBy && q.groupBy !== 'none' ? ` by ${q.groupBy}, top ${q.topN}${q.other ? ' + Other' : ''}` : '';
        text = `Traffic over time: ${q.metric} ${q.unit}${grouped}`;
        break;
      }
      case 'topTalkers':
        text = `Top talkers: ${q.dim} by ${q.by}, top ${q.limit}`;
        break;
      case 'protocols':
        text = 'Protocols';
        break;
      case 'table':
        text = `Flows table: ${q.limit} rows by ${q.sort} ${q.order}`;
        break;
      case 'flowLogConfigs':
        text = `Flow-log configurations${q.format === 'alert' ? ' (alert form)' : ''}`;
        break;
      default:
        text = `Variable values: ${q.variable}, ${q.limit} at most`;
    }
    const filters = FILTER_FIELDS.flatMap((field) => {
      const value = q[field];
      const items = (Array.isArray(value) ? value : [value]).filter((v) => v !== undefined && v !== null && v !== '');
      return items.length ? [`${field}=${items.join('|')}`] : [];
    });
    return filters.length ? `${text}${text.includes(':') ? ', ' : ': '}${filters.join(', ')}` : text;
  }

  /**
   * Replaces template variables in every field and applies ad-hoc filters. A filter holding a
   * multi-value variable becomes a list (the backend sends one request per value); "All" and
   * empty values mean no filter; numeric fields that interpolate to whole numbers become numbers.
   */
  applyTemplateVariables(query: FlowsQuery, scopedVars: ScopedVars, filters?: AdHocVariableFilter[]): FlowsQuery {
    return applyAdHocFilters(interpolateQuery(migrateQuery(query), scopedVars, getTemplateSrv()), filters).query;
  }

  /**
   * Runs queries in the backend. A query that an ad-hoc filter contradicts (the panel filters
   * src 10.0.0.5, the dashboard src 10.0.0.6) can match nothing: it is answered here with an
   * empty frame and a notice saying why, instead of reading data the panel excludes.
   */
  query(request: DataQueryRequest<FlowsQuery>): Observable<DataQueryResponse> {
    if (!request.filters?.length) {
      return super.query(request);
    }
    const empty: DataFrame[] = [];
    const targets = request.targets.filter((target) => {
      if (isExpressionReference(target.datasource)) {
        return true; // server-side expressions are Grafana's, not flow queries
      }
      const { conflict } = applyAdHocFilters(
        interpolateQuery(target, request.scopedVars, getTemplateSrv()),
        request.filters
      );
      if (conflict) {
        empty.push(
          createDataFrame({
            refId: target.refId,
            fields: [],
            meta: { notices: [{ severity: 'info', text: conflict }] },
          })
        );
      }
      return !conflict;
    });
    if (empty.length === 0) {
      return super.query(request);
    }
    if (targets.length === 0) {
      return of({ data: empty });
    }
    return super.query({ ...request, targets }).pipe(map((rsp) => ({ ...rsp, data: [...rsp.data, ...empty] })));
  }

  interpolateVariablesInQueries(
    queries: FlowsQuery[],
    scopedVars: ScopedVars,
    filters?: AdHocVariableFilter[]
  ): FlowsQuery[] {
    return queries.map((q) => ({ ...this.applyTemplateVariables(q, scopedVars, filters), datasource: this.getRef() }));
  }

  /** Ad-hoc filter keys, in user terms. */
  async getTagKeys(_?: DataSourceGetTagKeysOptions<FlowsQuery>): Promise<MetricFindValue[]> {
    return AD_HOC_KEYS.map(({ key, text }) => ({ text, value: key }));
  }

  /**
   * Ad-hoc filter values: the busiest values of the dashboard's time range, from the backend
   * (a bounded top N, never a full scan). Text may carry a host name; the value is the address.
   */
  async getTagValues(options: DataSourceGetTagValuesOptions<FlowsQuery>): Promise<MetricFindValue[]> {
    const range = options.timeRange ?? getDefaultTimeRange();
    const values = await this.getResource<MetricFindValue[]>('tag-values', {
      key: options.key,
      from: range.from.valueOf(),
      to: range.to.valueOf(),
      limit: TAG_VALUES_LIMIT,
    });
    return values ?? [];
  }

  /**
   * What this data source's source can do (`GET capabilities`), asked once per instance; a
   * failure is not kept, so the next editor asks again.
   */
  getCapabilities(): Promise<SourceCapabilities> {
    if (!this.capabilities) {
      this.capabilities = this.getResource<SourceCapabilities>('capabilities', undefined, { showErrorAlert: false });
      this.capabilities.catch(() => {
        this.capabilities = undefined;
      });
    }
    return this.capabilities;
  }

  /** Asks the backend which requests a query makes for a range (the editor's "Requests"). */
  preview(body: PreviewRequest): Promise<PreviewResponse> {
    return this.postResource<PreviewResponse>('preview', body, { showErrorAlert: false });
  }
}
