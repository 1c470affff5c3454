/**
 * Test helpers: a data source instance and a template service that behaves like Grafana's for
 * the calls this plugin makes (replace with a custom formatter, getVariables). Used by jest only.
 */
import { DataSourceInstanceSettings, ScopedVars, TypedVariableModel } from '@grafana/data';
import { setTemplateSrv, TemplateSrv } from '@grafana/runtime';

import { DataSource } from './datasource';
import { FlowsDataSourceOptions } from './types';

export interface TestVariable {
  /** The current value: one value, several, or '$__all' for "All". */
  current: string | string[];
  /** Every option of the variable ("All" without a custom all value expands to these). */
  options?: string[];
  /** The custom all value, if the variable has one. */
  allValue?: string;
}

const REFERENCE = /\$([A-Za-z_]\w*)|\$\{([A-Za-z_]\w*)(?::[^}]*)?\}|\[\[([A-Za-z_]\w*)(?::[^\]]*)?\]\]/g;

/** Installs a template service holding `variables` (as Grafana's would for a dashboard). */
export function setTemplateVariables(variables: Record<string, TestVariable>): TemplateSrv {
  const valueOf = (v: TestVariable): string | string[] => {
    const all = v.current === '$__all' || (Array.isArray(v.current) && v.current.includes('$__all'));
    if (!all) {
      return v.current;
    }
    return v.allValue !== undefined ? v.allValue : (v.options ?? []);
  };
  const srv: TemplateSrv = {
    getVariables: () =>
      Object.entries(variables).map(
        ([name, v]) =>
          ({
            name,
            type: 'custom',
            multi: true,
            includeAll: true,
            allValue: v.allValue,
            current: { text: v.current, value: v.current },
            options: (v.options ?? []).map((o) => ({ text: o, value: o, selected: false })),
          }) as unknown as TypedVariableModel
      ),
    replace: (target?: string, scopedVars?: ScopedVars, format?: string | Function) =>
      (target ?? '').replace(REFERENCE, (match: string, a?: string, b?: string, c?: string) => {
        const name = (a ?? b ?? c)!;
        const scoped = scopedVars?.[name];
        const variable = variables[name];
        if (!scoped && !variable) {
          return match;
        }
        const value = scoped ? scoped.value : valueOf(variable);
        if (typeof format === 'function') {
          return format(value, { name, multi: true, includeAll: true });
        }
        return Array.isArray(value) ? `{${value.join(',')}}` : String(value);
      }),
    containsTemplate: (target?: string) => Boolean(target && new RegExp(REFERENCE.source).test(target)),
    updateTimeRange: () => {},
  };
  setTemplateSrv(srv);
  return srv;
}

export function makeDataSource(jsonData: Partial<FlowsDataSourceOptions> = {}): DataSource {
  const settings = {
    id: 1,
    uid: 'flows',
    type: 'flowlens-flows-datasource',
    name: 'Flows API',
    access: 'proxy',
    jsonData,
    meta: { id: 'flowlens-flows-datasource' },
    readOnly: false,
  } as unknown as DataSourceInstanceSettings<FlowsDataSourceOptions>;
  return new DataSource(settings);
}
