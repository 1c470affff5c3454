import { DataSourceJsonData } from '@grafana/data';
import { DataQuery } from '@grafana/schema';

/**
 * The query model saved in dashboards and parsed by the backend (pkg/models).
 * docs/query-model.md is the reference: keep the two in step. New fields get defaults,
 * old fields are never repurposed.
 */

export type QueryType = 'flows' | 'topTalkers' | 'protocols' | 'variableValues' | 'flowLogConfigs';

/** Every query type the backend answers; `flowLogConfigs` only for the AWS source. */
export const QUERY_TYPES: readonly QueryType[] = [
  'flows',
  'topTalkers',
  'protocols',
  'variableValues',
  'flowLogConfigs',
];

/**
 * `nodegraph` is for top talkers by pair: who talks to whom. `alert` is the flowLogConfigs
 * alert form: one numeric instance per flow log.
 */
export type FlowsFormat = 'table' | 'timeseries' | 'nodegraph' | 'alert';
export type FlowsSort = 'timestamp' | 'bytes' | 'packets';
export type SortOrder = 'asc' | 'desc';
export type FlowsMetric = 'bytes' | 'packets' | 'flows';
/** `rate`: bps / pps / flows per second; `total`: total per bucket. */
export type FlowsUnit = 'rate' | 'total';
export type FlowsGroupBy = 'none' | 'protocol' | 'src' | 'dst' | 'pair' | 'dstPort' | 'exporter';
export type TalkerDim = 'src' | 'dst' | 'pair';
export type TalkerBy = 'bytes' | 'packets';
export type VariableKind = 'exporter' | 'srcIp' | 'dstIp' | 'protocol' | 'port';

/**
 * A filter holds one value or a list (what a multi-value template variable becomes after
 * interpolation). An empty string or an empty list means "no filter".
 */
export type FilterValue = string | string[];
/** Port and protocol filters may also be numbers (`443`, IANA protocol `6`). */
export type NumericFilterValue = number | string | Array<number | string>;

/**
 * Numeric settings accept numbers or numeric strings: a `$limit` variable interpolates to a
 * string.
 */
export type NumberOrString = number | string;

export interface FlowsQuery extends DataQuery {
  /** Query model version the query was saved in (src/migrations.ts); none before versioning. */
  version?: number;
  queryType?: QueryType;

  // Filters: apply to every query type.
  srcIp?: FilterValue;
  dstIp?: FilterValue;
  exporter?: FilterValue;
  port?: NumericFilterValue;
  protocol?: NumericFilterValue;
  /** The verdict: allow, deny (AWS also ACCEPT, REJECT). */
  action?: FilterValue;
  /** A source's own dimensions by key (AWS flowLogId, interfaceId, account, logStatus). */
  labels?: Record<string, FilterValue>;

  // AWS flowLogConfigs (docs/query-model.md): the inventory's filters.
  regions?: FilterValue;
  resourceId?: FilterValue;
  trafficType?: FilterValue;
  destinationType?: FilterValue;
  deliverLogsStatus?: FilterValue;
  tags?: FilterValue;

  // flows
  format?: FlowsFormat;
  // flows table
  sort?: FlowsSort;
  order?: SortOrder;
  /** Rows wanted (flows table, topTalkers, variableValues), ≥ 1. */
  limit?: NumberOrString;

  // flows timeseries
  metric?: FlowsMetric;
  unit?: FlowsUnit;
  groupBy?: FlowsGroupBy;
  /** Series kept, ≥ 1. */
  topN?: NumberOrString;
  /** Add an "Other" series holding the rest. */
  other?: boolean;

  // topTalkers
  dim?: TalkerDim;
  by?: TalkerBy;

  // variableValues
  variable?: VariableKind;
}

/** Filter fields, in the order the editor shows them. */
export const FILTER_FIELDS = ['srcIp', 'dstIp', 'port', 'protocol', 'exporter'] as const;
export type FilterField = (typeof FILTER_FIELDS)[number];

/** Defaults of the `flows` table query. */
export const DEFAULT_FLOWS_TABLE_QUERY: Partial<FlowsQuery> = {
  queryType: 'flows',
  format: 'table',
  sort: 'timestamp',
  order: 'desc',
  limit: 100,
};

/** Defaults of the `flows` time series query. */
export const DEFAULT_FLOWS_TIMESERIES_QUERY: Partial<FlowsQuery> = {
  queryType: 'flows',
  format: 'timeseries',
  metric: 'bytes',
  unit: 'rate',
  groupBy: 'none',
  topN: 10,
  other: true,
};

export const DEFAULT_TOP_TALKERS_QUERY: Partial<FlowsQuery> = {
  queryType: 'topTalkers',
  dim: 'src',
  by: 'bytes',
  limit: 20,
};

export const DEFAULT_PROTOCOLS_QUERY: Partial<FlowsQuery> = {
  queryType: 'protocols',
};

export const DEFAULT_VARIABLE_QUERY: Partial<FlowsQuery> = {
  queryType: 'variableValues',
  variable: 'srcIp',
  limit: 100,
};

/** The AWS source's inventory of flow-log configurations, as a table. */
export const DEFAULT_FLOW_LOG_CONFIGS_QUERY: Partial<FlowsQuery> = {
  queryType: 'flowLogConfigs',
  format: 'table',
};

/** The defaults of each query type (a `flows` query starts as a table). */
export const DEFAULT_QUERIES: Record<QueryType, Partial<FlowsQuery>> = {
  flows: DEFAULT_FLOWS_TABLE_QUERY,
  topTalkers: DEFAULT_TOP_TALKERS_QUERY,
  protocols: DEFAULT_PROTOCOLS_QUERY,
  variableValues: DEFAULT_VARIABLE_QUERY,
  flowLogConfigs: DEFAULT_FLOW_LOG_CONFIGS_QUERY,
};

/**
 * What the editor offers as query types. `flows` is two of them: a table of records, or traffic
 * over time (`format: timeseries`).
 */
export type EditorKind = 'timeseries' | 'topTalkers' | 'protocols' | 'table' | 'variableValues' | 'flowLogConfigs';

/** The editor kind of a saved query; a `flows` query without `format` is a table (the backend's default). */
export function editorKind(query: Partial<FlowsQuery>): EditorKind {
  switch (query.queryType) {
    case 'flows':
      return query.format === 'timeseries' ? 'timeseries' : 'table';
    case 'protocols':
    case 'variableValues':
    case 'flowLogConfigs':
      return query.queryType;
    default:
      // no queryType: the backend treats it as topTalkers
      return 'topTalkers';
  }
}

/** The defaults of each editor kind. */
export const DEFAULTS_BY_KIND: Record<EditorKind, Partial<FlowsQuery>> = {
  timeseries: DEFAULT_FLOWS_TIMESERIES_QUERY,
  topTalkers: DEFAULT_TOP_TALKERS_QUERY,
  protocols: DEFAULT_PROTOCOLS_QUERY,
  table: DEFAULT_FLOWS_TABLE_QUERY,
  variableValues: DEFAULT_VARIABLE_QUERY,
  flowLogConfigs: DEFAULT_FLOW_LOG_CONFIGS_QUERY,
};

/**
 * A query with the defaults of its kind filled in where it has no value. Nothing is dropped:
 * fields of other kinds and unknown fields are kept as they are.
 */
export function withDefaults<T extends Partial<FlowsQuery>>(query: T): T {
  const defaults = DEFAULTS_BY_KIND[editorKind(query)];
  const out: Record<string, unknown> = { ...query };
  for (const [key, value] of Object.entries(defaults)) {
    if (out[key] === undefined || out[key] === null || out[key] === '') {
      out[key] = value;
    }
  }
  return out as T;
}

/** What a new panel query starts as: traffic over time, bits per second by protocol. */
export const DEFAULT_PANEL_QUERY: Partial<FlowsQuery> = {
  ...DEFAULT_FLOWS_TIMESERIES_QUERY,
  groupBy: 'protocol',
};

/** What a new alert rule query starts as: top talkers by bytes, one alert instance per source. */
export const DEFAULT_ALERTING_QUERY: Partial<FlowsQuery> = DEFAULT_TOP_TALKERS_QUERY;

/** The query type the backend assumes when a query has none. */
export const DEFAULT_QUERY: Partial<FlowsQuery> = DEFAULT_TOP_TALKERS_QUERY;

/**
 * The flow-log system a data source reads (`jsonData.source`). A data source saved without it is
 * a Flows API data source. docs/sources.md says what each answers.
 */
export type SourceType = 'flowsapi' | 'trustgrid' | 'huaweiCfw' | 'calico' | 'awsFlowLogs';

/** The source of a data source saved before there was a choice. */
export const DEFAULT_SOURCE: SourceType = 'flowsapi';

/**
 * Options configured for each data source instance (jsonData). The base URL of an HTTP source
 * is the data source's standard top-level `url`, not a jsonData field. Each source reads its
 * own fields (its package under pkg/sources); the limits are common. Empty or 0 means the
 * backend's default (see DEFAULT_SETTINGS).
 */
export interface FlowsDataSourceOptions extends DataSourceJsonData {
  /** Which flow-log system; absent: the Flows API. */
  source?: SourceType;
  /**
   * HTTP timeout in seconds. Stored as `jsonData.timeout`, the key of Grafana's standard HTTP
   * settings, which the plugin SDK's HTTP client options read.
   */
  timeout?: number;
  /** Rows asked for per page of records. */
  pageSize?: number;
  /** Most flow records one query reads before it stops with a warning. */
  rowCap?: number;
  /** Most API requests in flight at once for this data source, across all panels. */
  maxConcurrency?: number;

  // Trustgrid (pkg/sources/trustgrid)
  trustgridClientId?: string;

  // Huawei Cloud Firewall (pkg/sources/huaweicfw)
  cfwRegion?: string;
  cfwProjectId?: string;
  cfwFwInstanceId?: string;
  cfwEnterpriseProjectId?: string;

  // Calico in Elasticsearch / OpenSearch (pkg/sources/calico)
  indexPattern?: string;
  timeField?: string;
  /** Calico's flow-log flush interval in seconds. */
  flushInterval?: number;
  /** Calico: none | basic | apiKey | bearer. (The AWS source uses the same key for its own.) */
  authType?: string;

  // AWS VPC flow logs (pkg/sources/awsflowlogs): grafana-aws-sdk's settings, and the regions.
  profile?: string;
  assumeRoleArn?: string;
  externalId?: string;
  defaultRegion?: string;
  endpoint?: string;
  regions?: string[];
}

/** Backend defaults and bounds (pkg/models/settings.go), shown as placeholders and limits. */
export const DEFAULT_SETTINGS = {
  timeout: { default: 30, min: 1, max: 3600 },
  pageSize: { default: 1000, min: 1, max: 100000 },
  rowCap: { default: 50000, min: 1, max: 1000000 },
  maxConcurrency: { default: 4, min: 1, max: 64 },
} as const;

/** Values sent to the backend only, never returned to the browser. */
export interface FlowsSecureJsonData {
  /** Flows API bearer token. */
  apiToken?: string;
  /** Trustgrid: the API client secret (with jsonData.trustgridClientId), or a JWT. */
  trustgridClientSecret?: string;
  trustgridJwt?: string;
  /** Huawei CFW: access key and secret key (request signing), or an IAM token. */
  cfwAccessKey?: string;
  cfwSecretKey?: string;
  cfwIamToken?: string;
  /** Calico: basic auth password (Grafana's standard key), API key, bearer token. */
  basicAuthPassword?: string;
  apiKey?: string;
  bearerToken?: string;
  /** AWS: access key ID, secret access key and session token (authType keys). */
  accessKey?: string;
  secretKey?: string;
  sessionToken?: string;
}
