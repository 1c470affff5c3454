import { DataSourceInstanceSettings, ScopedVars } from '@grafana/data';

import { DataSource } from './datasource';
import { DEFAULT_QUERY, FlowsDataSourceOptions, FlowsQuery } from './types';

/** Dashboard variables as Grafana would hold them: single values and multi-value lists. */
const variables: Record<string, string | string[]> = {
  src: '10.0.0.5',
  dsts: ['10.0.0.1', '2001:db8::1'],
  proto: ['tcp', 'udp'],
  limit: '25',
  dim: 'dst',
  empty: '',
};

const replace = jest.fn((target?: string, scopedVars?: ScopedVars, format?: unknown) => {
  return (target ?? '').replace(/\$\{?(\w+)\}?/g, (match: string, name: string) => {
    const value = scopedVars?.[name]?.value ?? variables[name];
    if (value === undefined) {
      return match;
    }
    if (typeof format === 'function') {
      return format(value);
    }
    return Array.isArray(value) ? `{${value.join(',')}}` : String(value);
  });
});

jest.mock('@grafana/runtime', () => ({
  ...jest.requireActual('@grafana/runtime'),
  getTemplateSrv: () => ({ replace }),
}));

function makeDataSource() {
  const settings = {
    id: 1,
    uid: 'flows',
    type: 'flowlens-flows-datasource',
    name: 'Flows API',
    jsonData: {},
    meta: { id: 'flowlens-flows-datasource' },
  } as unknown as DataSourceInstanceSettings<FlowsDataSourceOptions>;
  return new DataSource(settings);
}

describe('DataSource', () => {
  const ds = makeDataSource();

  it('starts new queries as top talkers', () => {
    expect(ds.getDefaultQuery!('dashboard' as never)).toEqual(DEFAULT_QUERY);
    expect(DEFAULT_QUERY).toEqual({ queryType: 'topTalkers', dim: 'src', by: 'bytes', limit: 20 });
  });

  it('skips hidden queries only', () => {
    expect(ds.filterQuery({ refId: 'A', hide: true })).toBe(false);
    expect(ds.filterQuery({ refId: 'A', hide: false })).toBe(true);
    expect(ds.filterQuery({ refId: 'A' })).toBe(true);
  });

  it('interpolates scalar, numeric and filter fields', () => {
    const query: FlowsQuery = {
      refId: 'A',
      queryType: 'topTalkers',
      dim: '$dim' as FlowsQuery['dim'],
      limit: '$limit',
      srcIp: '$src',
      dstIp: '${dsts}',
      protocol: ['$proto', 1],
      port: 443,
      exporter: '$empty',
    };

    const out = ds.applyTemplateVariables(query, {});

    expect(out).toEqual({
      refId: 'A',
      queryType: 'topTalkers',
      dim: 'dst',
      limit: 25,
      srcIp: '10.0.0.5',
      dstIp: ['10.0.0.1', '2001:db8::1'],
      protocol: ['tcp', 'udp', 1],
      port: 443,
      exporter: '',
    });
    // the input is not mutated
    expect(query.srcIp).toBe('$src');
  });

  it('prefers scoped variables and leaves unknown variables for the backend to report', () => {
    const out = ds.applyTemplateVariables(
      { refId: 'A', queryType: 'flows', srcIp: '$src', topN: '$missing' },
      { src: { text: 'repeat', value: '192.0.2.7' } }
    );

    expect(out.srcIp).toBe('192.0.2.7');
    expect(out.topN).toBe('$missing');
  });
});
