import {
  AdHocVariableFilter,
  CoreApp,
  DataQueryRequest,
  DataQueryResponse,
  dateTime,
  FieldType,
  LoadingState,
  toDataFrame,
} from '@grafana/data';
import { BackendSrv, BackendSrvRequest, setBackendSrv } from '@grafana/runtime';
import { lastValueFrom, of } from 'rxjs';

import { makeDataSource, setTemplateVariables } from './testing';
import { FlowsQuery } from './types';

const range = {
  from: dateTime(1_700_000_000_000),
  to: dateTime(1_700_003_600_000),
  raw: { from: 'now-1h', to: 'now' },
};

function request(targets: FlowsQuery[], filters?: AdHocVariableFilter[]): DataQueryRequest<FlowsQuery> {
  return {
    requestId: 'r1',
    interval: '1m',
    intervalMs: 60_000,
    range,
    scopedVars: {},
    targets,
    timezone: 'utc',
    app: CoreApp.Dashboard,
    startTime: 0,
    filters,
  };
}

/** A Grafana backend that records the queries it is sent and answers each with one frame. */
function fakeBackend() {
  const sent: Array<{ url?: string; queries: FlowsQuery[]; from?: string; to?: string }> = [];
  const srv = {
    fetch: (options: BackendSrvRequest) => {
      sent.push({ url: options.url, ...options.data });
      const results: Record<string, unknown> = {};
      for (const q of options.data.queries as FlowsQuery[]) {
        results[q.refId] = { status: 200, frames: [] };
      }
      return of({
        data: { results },
        status: 200,
        ok: true,
        headers: new Headers(),
        redirected: false,
        statusText: 'OK',
        type: 'basic',
        url: options.url,
        config: options,
      });
    },
  } as unknown as BackendSrv;
  setBackendSrv(srv);
  return sent;
}

describe('DataSource defaults and summaries', () => {
  const ds = makeDataSource();

  it('starts alert rules with top talkers by bytes per source, and panels with traffic by protocol', () => {
    expect(ds.getDefaultQuery(CoreApp.UnifiedAlerting)).toEqual({
      queryType: 'topTalkers',
      dim: 'src',
      by: 'bytes',
      limit: 20,
    });
    expect(ds.getDefaultQuery(CoreApp.Dashboard)).toEqual({
      queryType: 'flows',
      format: 'timeseries',
      metric: 'bytes',
      unit: 'rate',
      groupBy: 'protocol',
      topN: 10,
      other: true,
    });
  });

  it('skips hidden queries and queries without a query type', () => {
    expect(ds.filterQuery({ refId: 'A', queryType: 'protocols', hide: true })).toBe(false);
    expect(ds.filterQuery({ refId: 'A' })).toBe(false);
    expect(ds.filterQuery({ refId: 'A', queryType: 'nonsense' as FlowsQuery['queryType'] })).toBe(false);
    // a query saved with only its type runs: the backend fills the defaults
    expect(ds.filterQuery({ refId: 'A', queryType: 'topTalkers' })).toBe(true);
    expect(ds.filterQuery({ refId: 'A', queryType: 'flows', hide: false })).toBe(true);
    // the AWS source's own type runs too (the provisioned AWS dashboard's inventory panel)
    expect(ds.filterQuery({ refId: 'A', queryType: 'flowLogConfigs' })).toBe(true);
  });

  it('summarises a query in one line', () => {
    expect(ds.getQueryDisplayText({ refId: 'A', queryType: 'topTalkers', protocol: 'tcp' })).toBe(
      'Top talkers: src by bytes, top 20, protocol=tcp'
    );
    expect(
      ds.getQueryDisplayText({ refId: 'A', queryType: 'flows', format: 'timeseries', groupBy: 'dst', topN: 5 })
    ).toBe('Traffic over time: bytes rate by dst, top 5 + Other');
    expect(ds.getQueryDisplayText({ refId: 'A', queryType: 'flows', srcIp: ['10.0.0.1', '10.0.0.2'] })).toBe(
      'Flows table: 100 rows by timestamp desc, srcIp=10.0.0.1|10.0.0.2'
    );
    expect(ds.getQueryDisplayText({ refId: 'A', queryType: 'protocols', port: 443 })).toBe('Protocols: port=443');
  });
});

describe('applyTemplateVariables', () => {
  const ds = makeDataSource();

  beforeEach(() => {
    setTemplateVariables({
      src: { current: '10.0.0.5' },
      dsts: { current: ['10.0.0.1', '2001:db8::1'] },
      proto: { current: ['tcp', 'udp'] },
      ports: { current: ['443', '8443'] },
      rows: { current: '25' },
      top: { current: '7' },
      dim: { current: 'dst' },
      anySrc: { current: '$__all', options: ['10.0.0.1', '10.0.0.2', '10.0.0.3'] },
      anyDst: { current: ['$__all'], allValue: '', options: ['10.0.0.1'] },
      anyProto: { current: '$__all', allValue: '$__all', options: ['tcp'] },
      word: { current: 'many' },
    });
  });

  it('replaces a single value', () => {
    const out = ds.applyTemplateVariables(
      { refId: 'A', queryType: 'topTalkers', srcIp: '$src', dim: '$dim' as FlowsQuery['dim'] },
      {}
    );
    expect(out).toEqual({ refId: 'A', queryType: 'topTalkers', srcIp: '10.0.0.5', dim: 'dst', version: 1 });
  });

  it('turns a multi-value variable into a list the backend fans out', () => {
    const out = ds.applyTemplateVariables(
      { refId: 'A', queryType: 'flows', dstIp: '${dsts}', protocol: ['$proto', 1], port: '$ports' },
      {}
    );
    expect(out.dstIp).toEqual(['10.0.0.1', '2001:db8::1']);
    expect(out.protocol).toEqual(['tcp', 'udp', 1]);
    // ports become numbers
    expect(out.port).toEqual([443, 8443]);
  });

  it('sends no filter for "All", whatever the variable\'s all value', () => {
    const out = ds.applyTemplateVariables(
      { refId: 'A', queryType: 'topTalkers', srcIp: '$anySrc', dstIp: '${anyDst}', protocol: ['$anyProto'] },
      {}
    );
    // without a custom all value Grafana would expand to every option: still no filter
    expect(out.srcIp).toBe('');
    expect(out.dstIp).toBe('');
    expect(out.protocol).toEqual([]);
  });

  it("fills a source's dimension filters, the action and the AWS inventory filters", () => {
    const out = ds.applyTemplateVariables(
      {
        refId: 'A',
        queryType: 'flows',
        action: '$word',
        labels: { flowLogId: '$dsts', interfaceId: '$anySrc' },
        regions: ['$dsts'],
        deliverLogsStatus: '$src',
      },
      {}
    );
    expect(out.action).toBe('many');
    // a multi-value variable fans out, "All" means no filter
    expect(out.labels).toEqual({ flowLogId: ['10.0.0.1', '2001:db8::1'], interfaceId: '' });
    expect(out.regions).toEqual(['10.0.0.1', '2001:db8::1']);
    expect(out.deliverLogsStatus).toBe('10.0.0.5');
  });

  it('makes numeric fields numbers when they interpolate to whole numbers', () => {
    const out = ds.applyTemplateVariables(
      { refId: 'A', queryType: 'flows', format: 'timeseries', limit: '$rows', topN: '${top}', port: '[[src]]' },
      {}
    );
    expect(out.limit).toBe(25);
    expect(out.topN).toBe(7);
    // not a number: left as text for the backend to reject by name
    expect(ds.applyTemplateVariables({ refId: 'A', limit: '$word' }, {}).limit).toBe('many');
    expect(out.port).toBe('10.0.0.5');
  });

  it('prefers scoped variables (repeated panels), keeps unknown variables and does not change the input', () => {
    const query: FlowsQuery = {
      refId: 'A',
      queryType: 'flows',
      srcIp: '$src',
      topN: '$missing',
      future: 'kept',
    } as FlowsQuery;
    const out = ds.applyTemplateVariables(query, { src: { text: 'repeat', value: '192.0.2.7' } });

    expect(out.srcIp).toBe('192.0.2.7');
    expect(out.topN).toBe('$missing');
    expect((out as FlowsQuery & { future: string }).future).toBe('kept');
    expect(query.srcIp).toBe('$src');
  });
});

describe('ad-hoc filters', () => {
  const ds = makeDataSource();
  beforeEach(() => setTemplateVariables({ srcs: { current: ['10.0.0.5', '10.0.0.6'] } }));

  const eq = (key: string, value: string): AdHocVariableFilter => ({ key, operator: '=', value });

  it('set the fields a query leaves empty, on every query type', () => {
    for (const queryType of ['flows', 'topTalkers', 'protocols'] as const) {
      const out = ds.applyTemplateVariables({ refId: 'A', queryType }, {}, [
        eq('src_ip', '10.0.0.5'),
        eq('dst_ip', '2001:db8::1'),
        eq('port', '443'),
        eq('protocol', 'tcp'),
        eq('exporter', '192.0.2.1'),
      ]);
      expect(out).toEqual({
        version: 1,
        refId: 'A',
        queryType,
        srcIp: '10.0.0.5',
        dstIp: '2001:db8::1',
        port: 443,
        protocol: 'tcp',
        exporter: '192.0.2.1',
      });
    }
  });

  it('narrow a field the query already sets to the values both allow', () => {
    const out = ds.applyTemplateVariables({ refId: 'A', queryType: 'topTalkers', srcIp: '$srcs', protocol: 6 }, {}, [
      eq('src_ip', '10.0.0.6'),
      eq('protocol', 'TCP'),
    ]);
    expect(out.srcIp).toBe('10.0.0.6');
    expect(out.protocol).toBe(6);
  });

  it('take "one of" filters as a list, and ignore operators the API cannot express', () => {
    const warn = jest.spyOn(console, 'warn').mockImplementation(() => {});
    const out = ds.applyTemplateVariables({ refId: 'A', queryType: 'flows' }, {}, [
      { key: 'dst_ip', operator: '=|', value: '', values: ['10.0.0.1', '10.0.0.2'] },
      { key: 'src_ip', operator: '!=', value: '10.0.0.9' },
      { key: 'unknown', operator: '=', value: 'x' },
    ]);
    expect(out).toEqual({ refId: 'A', queryType: 'flows', dstIp: ['10.0.0.1', '10.0.0.2'], version: 1 });
    expect(warn).toHaveBeenCalledWith(expect.stringContaining('src_ip != 10.0.0.9'));
    warn.mockRestore();
  });

  it('answer a query they contradict with no data, without asking the backend', async () => {
    const sent = fakeBackend();
    const rsp: DataQueryResponse = await lastValueFrom(
      ds.query(
        request(
          [
            { refId: 'A', queryType: 'topTalkers', srcIp: '10.0.0.5' },
            { refId: 'B', queryType: 'protocols' },
          ],
          [eq('src_ip', '10.0.0.6')]
        )
      )
    );

    // only B reached the backend, narrowed by the ad-hoc filter
    expect(sent).toHaveLength(1);
    expect(sent[0].queries).toEqual([
      expect.objectContaining({ refId: 'B', queryType: 'protocols', srcIp: '10.0.0.6' }),
    ]);
    const a = rsp.data.find((f) => f.refId === 'A');
    expect(a.fields).toEqual([]);
    expect(a.meta.notices[0].text).toBe(
      "No flows can match: the ad-hoc filter src_ip = 10.0.0.6 excludes this query's srcIp 10.0.0.5."
    );
  });
});

describe('running queries', () => {
  const ds = makeDataSource();

  it('sends interpolated queries and the dashboard range to the backend', async () => {
    setTemplateVariables({ dsts: { current: ['10.0.0.1', '10.0.0.2'] }, rows: { current: '25' } });
    const sent = fakeBackend();

    await lastValueFrom(ds.query(request([{ refId: 'A', queryType: 'flows', dstIp: '$dsts', limit: '$rows' }])));

    expect(sent[0].url).toContain('/api/ds/query');
    expect(sent[0].from).toBe('1700000000000');
    expect(sent[0].to).toBe('1700003600000');
    expect(sent[0].queries[0]).toMatchObject({
      refId: 'A',
      queryType: 'flows',
      dstIp: ['10.0.0.1', '10.0.0.2'],
      limit: 25,
    });
  });
});

describe('ad-hoc keys and values', () => {
  const ds = makeDataSource();

  it('offers the five filter keys in user terms', async () => {
    expect(await ds.getTagKeys()).toEqual([
      { text: 'Source IP', value: 'src_ip' },
      { text: 'Destination IP', value: 'dst_ip' },
      { text: 'Port', value: 'port' },
      { text: 'Protocol', value: 'protocol' },
      { text: 'Exporter', value: 'exporter' },
    ]);
  });

  it('asks the backend for the busiest values of the time range', async () => {
    const answer = [{ text: '10.0.0.5 (nas.lab.internal)', value: '10.0.0.5' }];
    const getResource = jest.spyOn(ds, 'getResource').mockResolvedValue(answer);

    const values = await ds.getTagValues({ key: 'src_ip', filters: [], timeRange: range });

    expect(getResource).toHaveBeenCalledWith('tag-values', {
      key: 'src_ip',
      from: 1_700_000_000_000,
      to: 1_700_003_600_000,
      limit: 100,
    });
    expect(values).toEqual(answer);
  });
});

describe('template variable queries', () => {
  it('run as variableValues queries over the dashboard range and return the backend frames', async () => {
    const ds = makeDataSource();
    const frame = toDataFrame({
      fields: [
        { name: 'text', type: FieldType.string, values: ['10.0.0.5 (nas)'] },
        { name: 'value', type: FieldType.string, values: ['10.0.0.5'] },
      ],
    });
    const query = jest.spyOn(ds, 'query').mockReturnValue(of({ data: [frame], state: LoadingState.Done }));

    const rsp = await lastValueFrom(
      (ds.variables as unknown as { query: (r: DataQueryRequest<FlowsQuery>) => ReturnType<typeof ds.query> }).query(
        request([{ refId: 'V', variable: 'dstIp' } as FlowsQuery])
      )
    );

    expect(query).toHaveBeenCalledWith(
      expect.objectContaining({
        range,
        targets: [{ refId: 'V', queryType: 'variableValues', variable: 'dstIp', limit: 100 }],
      })
    );
    expect(rsp.data[0]).toBe(frame);
  });
});
