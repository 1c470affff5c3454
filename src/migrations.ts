import { FlowsQuery } from './types';

/**
 * The version of the query model this plugin saves (docs/query-model.md, "Versions and
 * migration"). The backend's models.QueryModelVersion is the same number: the shared cases in
 * pkg/models/testdata/migrations.json check both.
 */
export const QUERY_MODEL_VERSION = 1;

type Fields = Record<string, unknown>;

/**
 * MIGRATIONS[v] brings a query saved in version v to v + 1. Version 0 is a query without
 * `version` (saved before the model was versioned); version 1 is the same model, so its step
 * only records the version.
 */
const MIGRATIONS: Array<(query: Fields) => Fields> = [(query) => query];

/** The version a query was saved in: none is 0; undefined when it is not a version at all. */
function savedVersion(value: unknown): number | undefined {
  if (value === undefined || value === null) {
    return 0;
  }
  const n = typeof value === 'string' && value.trim() !== '' ? Number(value) : value;
  return typeof n === 'number' && Number.isInteger(n) && n >= 1 ? n : undefined;
}

/**
 * A saved query brought to QUERY_MODEL_VERSION. Fields a step does not change are kept as they
 * are, unknown ones included. A query this plugin cannot migrate (saved by a newer plugin, or
 * with a version that is not one) is returned unchanged: the backend answers it with an error
 * naming the version, where the editor would otherwise save over it.
 */
export function migrateQuery<T extends Partial<FlowsQuery>>(query: T): T {
  const version = savedVersion((query as Fields).version);
  if (version === undefined || version > QUERY_MODEL_VERSION) {
    return query;
  }
  if (version === QUERY_MODEL_VERSION && (query as Fields).version === QUERY_MODEL_VERSION) {
    return query;
  }
  let out: Fields = { ...query };
  for (let v = version; v < QUERY_MODEL_VERSION; v++) {
    out = MIGRATIONS[v](out);
  }
  return { ...out, version: QUERY_MODEL_VERSION } as T;
}

/** Whether the editor can edit a query: one saved by a newer plugin is left as it is. */
export function isMigratable(query: Partial<FlowsQuery>): boolean {
  const version = savedVersion((query as Fields).version);
  return version !== undefined && version <= QUERY_MODEL_VERSION;
}
