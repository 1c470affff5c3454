import { useEffect, useState } from 'react';

/**
 * What the data source's source can do, from the backend's `GET capabilities` resource
 * (pkg/engine/describe.go). The editors offer only that.
 */
export interface SourceDimension {
  /** The dimension's key in filters, group-bys and variables. */
  key: string;
  /** The label and column name on frames. */
  label: string;
  display: string;
  filter: boolean;
  groupBy: boolean;
}

export interface SourceCapabilities {
  /** jsonData.source, and the system's name ("Flows API"). */
  source: string;
  name: string;
  queryTypes: string[];
  /** Filters offered: native ones and those the backend composes (port on either side). */
  filters: string[];
  nativeFilters: string[];
  groupBys: string[];
  talkerDims: string[];
  metrics: string[];
  variables: string[];
  sortFields: string[];
  dimensions: SourceDimension[];
  /** What the source's server aggregates; the rest is computed by the plugin from records. */
  aggregations: string[];
  windowSeconds: number;
  maxTopN: number;
  maxRowsPerRead: number;
}

/** Something that can tell what its source can do (the DataSource). */
export interface CapabilitiesProvider {
  getCapabilities(): Promise<SourceCapabilities>;
}

/**
 * Whether the source offers `value` from one of its capability lists. While the capabilities
 * are unknown (loading, or the resource failed) everything is offered: the backend still
 * refuses what the source cannot do, with a message naming the source and the capability.
 */
export function offers(caps: SourceCapabilities | undefined, list: keyof SourceCapabilities, value: string): boolean {
  const values = caps?.[list];
  return !Array.isArray(values) || (values as unknown[]).includes(value);
}

/** The capabilities of a data source's source, once loaded; undefined before or on failure. */
export function useCapabilities(datasource: CapabilitiesProvider | undefined): SourceCapabilities | undefined {
  const [caps, setCaps] = useState<SourceCapabilities | undefined>(undefined);
  useEffect(() => {
    let current = true;
    if (!datasource?.getCapabilities) {
      return;
    }
    datasource
      .getCapabilities()
      .then((c) => {
        if (current) {
          setCaps(c);
        }
      })
      .catch(() => {
        // offer everything; queries get the backend's error if the settings are wrong
      });
    return () => {
      current = false;
    };
  }, [datasource]);
  return caps;
}
