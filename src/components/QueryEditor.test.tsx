import React, { useState } from 'react';
import { act, render, screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { CoreApp, dateTime, LoadingState, PanelData } from '@grafana/data';

import { QueryEditor } from './QueryEditor';
import { DataSource } from '../datasource';
import { makeDataSource, setTemplateVariables } from '../testing';
import { SourceCapabilities } from '../capabilities';
import { FlowsQuery } from '../types';

const range = {
  from: dateTime(1_700_000_000_000),
  to: dateTime(1_700_003_600_000),
  raw: { from: 'now-1h', to: 'now' },
};

interface Options {
  app?: CoreApp;
  datasource?: DataSource;
  data?: PanelData;
}

/** Renders the editor as Grafana does: the query held in state, every change fed back. */
function renderEditor(initial: FlowsQuery, { app, datasource = makeDataSource(), data }: Options = {}) {
  const onChange = jest.fn();
  const onRunQuery = jest.fn();
  function Harness() {
    const [query, setQuery] = useState(initial);
    return (
      <QueryEditor
        datasource={datasource}
        query={query}
        range={range}
        data={data}
        app={app}
        onRunQuery={onRunQuery}
        onChange={(next) => {
          onChange(next);
          setQuery(next);
        }}
      />
    );
  }
  render(<Harness />);
  const last = (): FlowsQuery => onChange.mock.calls[onChange.mock.calls.length - 1][0];
  return { onChange, onRunQuery, last, datasource };
}

const field = (label: string) => screen.getByRole('textbox', { name: label });

/** Types into a text field and leaves it, as a user does. */
async function typeAndLeave(label: string, text: string) {
  await userEvent.clear(field(label));
  await userEvent.type(field(label), text);
  await userEvent.tab();
}

/** Types into a tag field and presses Enter, as a user adds one value. */
async function typeAndEnter(label: string, text: string) {
  await userEvent.click(field(label));
  await userEvent.paste(text);
  await userEvent.keyboard('{Enter}');
}

async function pick(comboboxLabel: string, option: string) {
  await userEvent.click(screen.getByRole('combobox', { name: comboboxLabel }));
  await userEvent.click(await screen.findByRole('option', { name: new RegExp(`^${option}`) }));
}

beforeEach(() => setTemplateVariables({}));

describe('QueryEditor: query types', () => {
  it('offers the four query types in user terms, and switching keeps filters and unknown fields', async () => {
    const query = {
      refId: 'A',
      queryType: 'topTalkers',
      dim: 'dst',
      srcIp: '10.0.0.5',
      future: { x: 1 },
    } as FlowsQuery;
    const { onChange, onRunQuery, last } = renderEditor(query);

    const types = within(screen.getByRole('radiogroup', { name: 'Query type' }))
      .getAllByRole('radio')
      .map((r) => r.getAttribute('aria-label') ?? r.closest('div')?.textContent);
    expect(screen.getByRole('radio', { name: 'Traffic over time' })).toBeInTheDocument();
    expect(screen.getByRole('radio', { name: 'Flows table' })).toBeInTheDocument();
    expect(types).toHaveLength(4);

    await userEvent.click(screen.getByRole('radio', { name: 'Protocols' }));

    expect(onChange).toHaveBeenCalledTimes(1);
    expect(last()).toEqual({
      version: 1,
      refId: 'A',
      queryType: 'protocols',
      dim: 'dst',
      by: 'bytes',
      limit: 20,
      srcIp: '10.0.0.5',
      future: { x: 1 },
    });
    expect(onRunQuery).toHaveBeenCalledTimes(1);
    expect(screen.queryByRole('radio', { name: 'Pair' })).not.toBeInTheDocument();
  });

  it('builds a traffic over time query: metric, unit, group by, top N and Other', async () => {
    const { onRunQuery, last } = renderEditor({ refId: 'A', queryType: 'topTalkers' });

    await userEvent.click(screen.getByRole('radio', { name: 'Traffic over time' }));
    expect(last()).toMatchObject({
      queryType: 'flows',
      format: 'timeseries',
      metric: 'bytes',
      unit: 'rate',
      groupBy: 'none',
    });
    // nothing to rank without a grouping
    expect(screen.queryByRole('textbox', { name: 'Top N' })).not.toBeInTheDocument();

    await userEvent.click(screen.getByRole('radio', { name: 'Packets' }));
    await userEvent.click(screen.getByRole('radio', { name: 'Total' }));
    await pick('Group by', 'Destination port');
    await typeAndLeave('Top N', '5');
    await userEvent.click(screen.getByRole('switch', { name: 'Other' }));

    expect(last()).toEqual({
      version: 1,
      refId: 'A',
      queryType: 'flows',
      format: 'timeseries',
      metric: 'packets',
      unit: 'total',
      groupBy: 'dstPort',
      topN: 5,
      other: false,
      dim: 'src',
      by: 'bytes',
      limit: 20,
    });
    // the type, each pick, the blurred input and the switch each ran the query once
    expect(onRunQuery).toHaveBeenCalledTimes(6);
  });

  it('builds a top talkers query: dim, ranking and limit', async () => {
    const { onChange, onRunQuery, last } = renderEditor({ refId: 'A', queryType: 'protocols' });

    await userEvent.click(screen.getByRole('radio', { name: 'Top talkers' }));
    await userEvent.click(screen.getByRole('radio', { name: 'Pair' }));
    await userEvent.click(screen.getByRole('radio', { name: 'Packets' }));

    // typing changes nothing until the user leaves the field
    const calls = onChange.mock.calls.length;
    await userEvent.clear(field('Limit'));
    await userEvent.type(field('Limit'), '50');
    expect(onChange).toHaveBeenCalledTimes(calls);
    await userEvent.tab();

    expect(last()).toEqual({ refId: 'A', queryType: 'topTalkers', dim: 'pair', by: 'packets', limit: 50, version: 1 });
    expect(onRunQuery).toHaveBeenCalledTimes(4);
  });

  it('shows top pairs as a node graph, and goes back to a table when rows are no longer pairs', async () => {
    const { last, onRunQuery } = renderEditor({ refId: 'A', queryType: 'topTalkers' });

    // only pairs have edges: the choice appears with them
    expect(screen.queryByRole('radio', { name: 'Node graph' })).not.toBeInTheDocument();
    await userEvent.click(screen.getByRole('radio', { name: 'Pair' }));
    await userEvent.click(screen.getByRole('radio', { name: 'Node graph' }));
    expect(last()).toMatchObject({ queryType: 'topTalkers', dim: 'pair', format: 'nodegraph' });
    expect(onRunQuery).toHaveBeenCalledTimes(2);

    await userEvent.click(screen.getByRole('radio', { name: 'Source' }));
    expect(last()).toMatchObject({ dim: 'src', format: 'table' });
    expect(screen.queryByRole('radio', { name: 'Node graph' })).not.toBeInTheDocument();
  });

  it('builds a flows table query: sort, order and rows', async () => {
    const { last } = renderEditor({ refId: 'A', queryType: 'topTalkers' });

    await userEvent.click(screen.getByRole('radio', { name: 'Flows table' }));
    await userEvent.click(screen.getByRole('radio', { name: 'Bytes' }));
    await userEvent.click(screen.getByRole('radio', { name: 'Ascending' }));
    await typeAndLeave('Rows', '500');

    expect(last()).toMatchObject({ queryType: 'flows', format: 'table', sort: 'bytes', order: 'asc', limit: 500 });
  });

  it('keeps a $variable in a number field as text', async () => {
    const { last, onRunQuery } = renderEditor({ refId: 'A', queryType: 'topTalkers' });

    await typeAndLeave('Limit', '$rows');

    expect(last().limit).toBe('$rows');
    expect(onRunQuery).toHaveBeenCalledTimes(1);
  });
});

describe('QueryEditor: filters', () => {
  it('sets a source IP when the user leaves the field, and runs the query', async () => {
    const { onChange, onRunQuery, last } = renderEditor({
      refId: 'A',
      queryType: 'topTalkers',
      dim: 'src',
      by: 'bytes',
      limit: 20,
    });

    await userEvent.type(field('Source IP'), '10.0.0.5');
    expect(onChange).not.toHaveBeenCalled();
    await userEvent.tab();

    expect(last()).toEqual({
      version: 1,
      refId: 'A',
      queryType: 'topTalkers',
      dim: 'src',
      by: 'bytes',
      limit: 20,
      srcIp: '10.0.0.5',
    });
    expect(onRunQuery).toHaveBeenCalledTimes(1);
  });

  it("shows the backend's message for an invalid IP and does not run the query until it is fixed", async () => {
    const { onRunQuery, last } = renderEditor({ refId: 'A', queryType: 'topTalkers' });

    await typeAndLeave('Destination IP', '10.0.0.300');

    expect(
      screen.getByText("dstIp: '10.0.0.300' is not an IP address (IPv4 like 10.0.0.5 or IPv6 like 2001:db8::1)")
    ).toBeInTheDocument();
    expect(last().dstIp).toBe('10.0.0.300');
    expect(onRunQuery).not.toHaveBeenCalled();

    // other changes are kept but not run while the field is invalid
    await userEvent.click(screen.getByRole('radio', { name: 'Pair' }));
    expect(onRunQuery).not.toHaveBeenCalled();

    // another address beside the bad one: still not run
    await typeAndEnter('Destination IP', '2001:db8::1');
    expect(last().dstIp).toEqual(['10.0.0.300', '2001:db8::1']);
    expect(screen.getByText(/'10.0.0.300' is not an IP address/)).toBeInTheDocument();
    expect(onRunQuery).not.toHaveBeenCalled();

    await userEvent.click(screen.getByRole('button', { name: 'Remove tag: 10.0.0.300' }));

    expect(screen.queryByText(/is not an IP address/)).not.toBeInTheDocument();
    expect(last()).toMatchObject({ dstIp: '2001:db8::1', dim: 'pair' });
    expect(onRunQuery).toHaveBeenCalledTimes(1);
  });

  it('takes several addresses, one tag each, saved as a list; a pasted comma-separated list is split', async () => {
    const { onRunQuery, last } = renderEditor({ refId: 'A', queryType: 'protocols' });

    await typeAndEnter('Source IP', '10.0.0.1');
    expect(last().srcIp).toBe('10.0.0.1');
    await typeAndEnter('Source IP', '10.0.0.2');
    expect(last().srcIp).toEqual(['10.0.0.1', '10.0.0.2']);
    expect(onRunQuery).toHaveBeenCalledTimes(2);

    await userEvent.click(field('Source IP'));
    await userEvent.paste('10.0.0.3, $more');
    await userEvent.keyboard('{Enter}');
    expect(last().srcIp).toEqual(['10.0.0.1', '10.0.0.2', '10.0.0.3', '$more']);
    for (const tag of ['10.0.0.1', '10.0.0.2', '10.0.0.3', '$more']) {
      expect(screen.getByRole('button', { name: `Remove tag: ${tag}` })).toBeInTheDocument();
    }

    // removing tags down to one saves a single value again, as the query model always had it
    for (const tag of ['10.0.0.1', '10.0.0.3', '$more']) {
      await userEvent.click(screen.getByRole('button', { name: `Remove tag: ${tag}` }));
    }
    expect(last().srcIp).toBe('10.0.0.2');
    expect(field('Source IP')).toHaveValue('');
  });

  it('shows a saved list as tags and keeps it unchanged until edited', () => {
    const { onChange } = renderEditor({
      refId: 'A',
      queryType: 'protocols',
      dstIp: ['10.0.0.1', '2001:db8::1'],
      port: [53, '$port'],
    });
    for (const tag of ['10.0.0.1', '2001:db8::1', '53', '$port']) {
      expect(screen.getByRole('button', { name: `Remove tag: ${tag}` })).toBeInTheDocument();
    }
    expect(onChange).not.toHaveBeenCalled();
  });

  it('picks a protocol by name from the list', async () => {
    const { onRunQuery, last } = renderEditor({ refId: 'A', queryType: 'protocols' });

    await pick('Protocol', 'UDP');
    expect(last()).toEqual({ refId: 'A', queryType: 'protocols', protocol: 'udp', version: 1 });
    expect(onRunQuery).toHaveBeenCalledTimes(1);
  });

  it('takes a typed protocol number or $variable, and flags an unknown name', async () => {
    const { onChange, onRunQuery, last } = renderEditor({ refId: 'A', queryType: 'protocols' });
    const protocol = screen.getByRole('combobox', { name: 'Protocol' });

    await userEvent.type(protocol, '47');
    await userEvent.click(await screen.findByRole('option', { name: /^47/ }));
    expect(last().protocol).toBe(47);
    // shown by name
    expect(screen.getByRole('button', { name: 'Remove GRE' })).toBeInTheDocument();
    expect(onRunQuery).toHaveBeenCalledTimes(1);

    // the clear button removes the filter
    await userEvent.click(screen.getByTitle('Clear all'));
    expect(last().protocol).toBeUndefined();
    expect(onRunQuery).toHaveBeenCalledTimes(2);

    await userEvent.clear(protocol);
    await userEvent.type(protocol, '$proto');
    await userEvent.click(await screen.findByRole('option', { name: /\$proto/ }));
    expect(last().protocol).toBe('$proto');
    expect(onRunQuery).toHaveBeenCalledTimes(3);

    await userEvent.click(screen.getByTitle('Clear all'));
    await userEvent.clear(protocol);
    await userEvent.type(protocol, 'tcpx');
    await userEvent.click(await screen.findByRole('option', { name: /^tcpx/ }));
    expect(last().protocol).toBe('tcpx');
    expect(
      screen.getByText(
        "protocol: 'tcpx' is not a protocol name (tcp, udp, icmp, gre, esp, icmpv6, sctp, …) or an IANA number from 0 to 255"
      )
    ).toBeInTheDocument();
    // the clear ran (no filter is valid); the bad name did not
    expect(onRunQuery).toHaveBeenCalledTimes(4);
    expect(onChange).toHaveBeenCalledTimes(5);
  });

  it('shows a saved protocol number by name', () => {
    renderEditor({ refId: 'A', queryType: 'protocols', protocol: 6 });
    expect(screen.getByRole('button', { name: 'Remove TCP' })).toBeInTheDocument();
  });

  it('checks ports as the backend does', async () => {
    const { onRunQuery, last } = renderEditor({ refId: 'A', queryType: 'protocols' });

    await typeAndLeave('Port', '70000');
    expect(screen.getByText("port: '70000' is not a port number from 0 to 65535")).toBeInTheDocument();
    expect(last().port).toBe(70000);
    expect(onRunQuery).not.toHaveBeenCalled();

    await userEvent.click(screen.getByRole('button', { name: 'Remove tag: 70000' }));
    await typeAndLeave('Port', '443');
    expect(last().port).toBe(443);
    expect(onRunQuery).toHaveBeenCalledTimes(2);
  });

  it('removes a filter when its last tag is removed', async () => {
    const { last } = renderEditor({ refId: 'A', queryType: 'protocols', exporter: '192.0.2.1' });

    await userEvent.click(screen.getByRole('button', { name: 'Remove tag: 192.0.2.1' }));

    expect(last().exporter).toBeUndefined();
  });
});

describe('QueryEditor: saved queries', () => {
  it('shows the defaults of a query saved with only its type, and saves them with the first change', async () => {
    const { onChange, onRunQuery, last } = renderEditor({ refId: 'A', queryType: 'topTalkers' });

    expect(screen.getByRole('radio', { name: 'Top talkers' })).toBeChecked();
    expect(screen.getByRole('radio', { name: 'Source' })).toBeChecked();
    expect(screen.getByRole('radio', { name: 'Bytes' })).toBeChecked();
    expect(field('Limit')).toHaveValue('20');
    // opening the editor does not change the saved query
    expect(onChange).not.toHaveBeenCalled();

    await userEvent.click(screen.getByRole('radio', { name: 'Destination' }));

    expect(last()).toEqual({ refId: 'A', queryType: 'topTalkers', dim: 'dst', by: 'bytes', limit: 20, version: 1 });
    expect(onRunQuery).toHaveBeenCalledTimes(1);
  });

  it('opens a flows query without a format as a flows table with its defaults', () => {
    renderEditor({ refId: 'A', queryType: 'flows' });

    expect(screen.getByRole('radio', { name: 'Flows table' })).toBeChecked();
    expect(screen.getByRole('radio', { name: 'Time' })).toBeChecked();
    expect(screen.getByRole('radio', { name: 'Descending' })).toBeChecked();
    expect(field('Rows')).toHaveValue('100');
  });

  it('keeps fields it does not know through any edit', async () => {
    const saved = {
      refId: 'A',
      queryType: 'flows',
      format: 'timeseries',
      groupBy: 'src',
      hide: false,
      datasource: { type: 'flowlens-flows-datasource', uid: 'flows' },
      legacyOption: 'x',
      nested: { a: [1, 2] },
    } as FlowsQuery;
    const { last } = renderEditor(saved);

    await userEvent.click(screen.getByRole('radio', { name: 'Flows' }));
    await typeAndLeave('Source IP', '10.0.0.5');
    await userEvent.click(screen.getByRole('radio', { name: 'Top talkers' }));

    expect(last()).toMatchObject({
      legacyOption: 'x',
      nested: { a: [1, 2] },
      datasource: { type: 'flowlens-flows-datasource', uid: 'flows' },
      hide: false,
      metric: 'flows',
      srcIp: '10.0.0.5',
      queryType: 'topTalkers',
    });
  });
});

describe('QueryEditor: alert rules', () => {
  it('offers traffic over time, top talkers and protocols, but not the flows table', () => {
    renderEditor({ refId: 'A', queryType: 'topTalkers' }, { app: CoreApp.UnifiedAlerting });

    expect(screen.getByRole('radio', { name: 'Top talkers' })).toBeInTheDocument();
    expect(screen.getByRole('radio', { name: 'Traffic over time' })).toBeInTheDocument();
    expect(screen.getByRole('radio', { name: 'Protocols' })).toBeInTheDocument();
    expect(screen.queryByRole('radio', { name: 'Flows table' })).not.toBeInTheDocument();
  });

  it('says so when an alert rule holds a flows table query', () => {
    renderEditor({ refId: 'A', queryType: 'flows' }, { app: CoreApp.UnifiedAlerting });

    expect(screen.getByText(/flows table cannot be used in alert rules/)).toBeInTheDocument();
  });
});

describe('QueryEditor: requests', () => {
  const data = {
    state: LoadingState.Done,
    series: [],
    timeRange: range,
    request: { intervalMs: 300_000, scopedVars: {}, filters: [] },
  } as unknown as PanelData;

  it('asks the backend what the query requests for the time range, and shows it', async () => {
    setTemplateVariables({ src: { current: ['10.0.0.5', '10.0.0.6'] } });
    const datasource = makeDataSource();
    const postResource = jest.spyOn(datasource, 'postResource').mockResolvedValue({
      requests: ['GET /api/v1/flows/top-talkers?by=bytes&dim=src&limit=20&window_secs=3600'],
      notes: ['Computed from /api/v1/flows because a filter is set'],
    });
    renderEditor({ refId: 'A', queryType: 'topTalkers', srcIp: '$src' }, { datasource, data });

    // closed: nothing asked
    expect(postResource).not.toHaveBeenCalled();
    await userEvent.click(screen.getByRole('button', { name: /Requests/ }));

    expect(
      await screen.findByText('GET /api/v1/flows/top-talkers?by=bytes&dim=src&limit=20&window_secs=3600')
    ).toBeInTheDocument();
    expect(screen.getByText('Computed from /api/v1/flows because a filter is set')).toBeInTheDocument();
    expect(postResource).toHaveBeenCalledTimes(1);
    expect(postResource).toHaveBeenCalledWith(
      'preview',
      {
        // the interpolated query
        query: { refId: 'A', queryType: 'topTalkers', srcIp: ['10.0.0.5', '10.0.0.6'], version: 1 },
        from: 1_700_000_000_000,
        to: 1_700_003_600_000,
        intervalMs: 300_000,
      },
      expect.anything()
    );

    // a change asks again, once
    await userEvent.click(screen.getByRole('radio', { name: 'Pair' }));
    await waitFor(() => expect(postResource).toHaveBeenCalledTimes(2));
    expect(postResource.mock.calls[1][1]).toMatchObject({ query: { dim: 'pair' } });
  });

  it("shows the backend's error instead of the requests", async () => {
    const datasource = makeDataSource();
    jest.spyOn(datasource, 'postResource').mockRejectedValue({
      status: 400,
      data: { error: 'data source settings: URL: the Flows API base URL is empty' },
    });
    renderEditor({ refId: 'A', queryType: 'protocols' }, { datasource, data });

    await userEvent.click(screen.getByRole('button', { name: /Requests/ }));

    expect(await screen.findByText('data source settings: URL: the Flows API base URL is empty')).toBeInTheDocument();
  });

  it('does not ask about an invalid query: it shows why', async () => {
    const datasource = makeDataSource();
    const postResource = jest.spyOn(datasource, 'postResource');
    renderEditor({ refId: 'A', queryType: 'protocols', port: 'abc' }, { datasource, data });

    await userEvent.click(screen.getByRole('button', { name: /Requests/ }));
    await act(() => new Promise((r) => setTimeout(r, 600)));

    expect(postResource).not.toHaveBeenCalled();
    // once inline at the field, once in the requests area
    expect(screen.getAllByText("port: 'abc' is not a port number from 0 to 65535")).toHaveLength(2);
  });
});

/** What a record-listing source without packet counts or exporters, with a node dimension, reports. */
const LISTING_CAPABILITIES: SourceCapabilities = {
  source: 'trustgrid',
  name: 'Trustgrid',
  queryTypes: ['flows', 'topTalkers', 'variableValues'],
  filters: ['srcIp', 'dstIp', 'srcPort', 'dstPort', 'protocol', 'port'],
  nativeFilters: ['srcIp', 'dstIp', 'srcPort', 'dstPort', 'protocol'],
  groupBys: ['none', 'protocol', 'src', 'dst', 'pair', 'dstPort', 'node'],
  talkerDims: ['src', 'dst', 'pair'],
  metrics: ['bytes', 'flows'],
  variables: ['srcIp', 'dstIp', 'protocol', 'port', 'node'],
  sortFields: ['timestamp', 'bytes'],
  dimensions: [{ key: 'node', label: 'node', display: 'Node', filter: true, groupBy: true }],
  aggregations: [],
  windowSeconds: 60,
  maxTopN: 0,
  maxRowsPerRead: 1000,
};

describe('QueryEditor: what the source can do', () => {
  it('offers only the query types, metrics, group-bys, sorts and filters of the source, its own dimensions included', async () => {
    const datasource = makeDataSource();
    const getResource = jest.spyOn(datasource, 'getResource').mockResolvedValue(LISTING_CAPABILITIES);
    const { last } = renderEditor({ refId: 'A', queryType: 'topTalkers' }, { datasource });

    // the capabilities arrive: Protocols is not a query type of this source
    await waitFor(() => expect(screen.queryByRole('radio', { name: 'Protocols' })).not.toBeInTheDocument(), {
      timeout: 10_000,
    });
    expect(getResource).toHaveBeenCalledWith('capabilities', undefined, { showErrorAlert: false });
    expect(screen.getByRole('radio', { name: 'Top talkers' })).toBeInTheDocument();
    // top talkers ranked by bytes only, and no exporter filter
    expect(screen.queryByRole('radio', { name: 'Packets' })).not.toBeInTheDocument();
    expect(screen.queryByRole('textbox', { name: 'Exporter' })).not.toBeInTheDocument();
    expect(screen.getByRole('textbox', { name: 'Port' })).toBeInTheDocument();

    await userEvent.click(screen.getByRole('radio', { name: 'Traffic over time' }));
    expect(screen.queryByRole('radio', { name: 'Packets' })).not.toBeInTheDocument();
    await userEvent.click(screen.getByRole('combobox', { name: 'Group by' }));
    const options = (await screen.findAllByRole('option')).map((o) => o.textContent ?? '');
    expect(options.some((o) => o.startsWith('Node'))).toBe(true);
    expect(options.some((o) => o.startsWith('Exporter'))).toBe(false);
    await userEvent.click(screen.getByRole('option', { name: /^Node/ }));
    expect(last()).toMatchObject({ queryType: 'flows', format: 'timeseries', groupBy: 'node' });

    await userEvent.click(screen.getByRole('radio', { name: 'Flows table' }));
    expect(screen.queryByRole('radio', { name: 'Packets' })).not.toBeInTheDocument();
    expect(screen.getByRole('radio', { name: 'Bytes' })).toBeInTheDocument();
  });

  it('keeps what a saved query holds and says when the source cannot answer its type', async () => {
    const datasource = makeDataSource();
    jest.spyOn(datasource, 'getResource').mockResolvedValue(LISTING_CAPABILITIES);
    renderEditor({ refId: 'A', queryType: 'protocols', exporter: '10.0.0.1' }, { datasource });

    expect(
      await screen.findByText('The Trustgrid source cannot answer this query type: choose one of the types offered.')
    ).toBeInTheDocument();
    expect(screen.getByRole('radio', { name: 'Protocols' })).toBeChecked();
    // a filter the source lacks stays visible while it holds a value, so it can be cleared
    expect(screen.getByRole('button', { name: 'Remove tag: 10.0.0.1' })).toBeInTheDocument();
  });

  it('offers everything while the capabilities are unknown', async () => {
    const datasource = makeDataSource();
    jest.spyOn(datasource, 'getResource').mockRejectedValue(new Error('settings'));
    renderEditor({ refId: 'A', queryType: 'topTalkers' }, { datasource });
    expect(await screen.findByRole('radio', { name: 'Protocols' })).toBeInTheDocument();
    expect(screen.getByRole('radio', { name: 'Packets' })).toBeInTheDocument();
    expect(screen.getByRole('textbox', { name: 'Exporter' })).toBeInTheDocument();
  });
});

const AWS_CAPABILITIES: SourceCapabilities = {
  ...LISTING_CAPABILITIES,
  source: 'awsFlowLogs',
  name: 'AWS VPC flow logs',
  queryTypes: ['flows', 'topTalkers', 'protocols', 'variableValues', 'flowLogConfigs'],
  dimensions: [],
};

describe('QueryEditor: AWS flow-log configurations', () => {
  it('is offered only by a source that has it, never while the capabilities are unknown', async () => {
    const unknown = makeDataSource();
    jest.spyOn(unknown, 'getResource').mockRejectedValue(new Error('settings'));
    renderEditor({ refId: 'A', queryType: 'topTalkers' }, { datasource: unknown });
    expect(await screen.findByRole('radio', { name: 'Protocols' })).toBeInTheDocument();
    expect(screen.queryByRole('radio', { name: 'Flow-log configurations' })).not.toBeInTheDocument();
  });

  it('builds an inventory query from the regions, delivery status, resources and tags a user picks', async () => {
    const datasource = makeDataSource({ regions: ['eu-west-1', 'us-east-1'] });
    jest.spyOn(datasource, 'getResource').mockResolvedValue(AWS_CAPABILITIES);
    const { last, onRunQuery } = renderEditor(
      { refId: 'A', queryType: 'topTalkers', srcIp: '10.0.0.5' },
      { datasource }
    );

    await userEvent.click(await screen.findByRole('radio', { name: 'Flow-log configurations' }));
    expect(last()).toMatchObject({ queryType: 'flowLogConfigs', format: 'table' });
    // the traffic filters belong to the traffic query types, not the inventory
    expect(screen.queryByRole('textbox', { name: 'Source IP' })).not.toBeInTheDocument();

    await pick('Regions', 'us-east-1');
    expect(last().regions).toEqual(['us-east-1']);
    await pick('Delivery', 'FAILED');
    expect(last().deliverLogsStatus).toEqual(['FAILED']);

    await userEvent.type(screen.getByPlaceholderText('key=value or key'), 'env=prod{enter}');
    expect(last().tags).toEqual(['env=prod']);
    await userEvent.type(screen.getByPlaceholderText('vpc-…, subnet-…, eni-…'), 'vpc-0abc{enter}');
    expect(last().resourceId).toEqual(['vpc-0abc']);

    await userEvent.click(screen.getByRole('radio', { name: 'Alert form' }));
    expect(last()).toMatchObject({
      queryType: 'flowLogConfigs',
      format: 'alert',
      regions: ['us-east-1'],
      deliverLogsStatus: ['FAILED'],
      tags: ['env=prod'],
      resourceId: ['vpc-0abc'],
      srcIp: '10.0.0.5',
    });
    expect(onRunQuery).toHaveBeenCalled();
  });

  it('opens a saved inventory query as one, a $variable region included, instead of as top talkers', async () => {
    const datasource = makeDataSource({ regions: ['eu-west-1'] });
    jest.spyOn(datasource, 'getResource').mockResolvedValue(AWS_CAPABILITIES);
    renderEditor(
      { refId: 'A', queryType: 'flowLogConfigs', regions: '$region', trafficType: ['REJECT'], version: 1 },
      { datasource }
    );
    expect(await screen.findByRole('radio', { name: 'Flow-log configurations' })).toBeChecked();
    expect(screen.getByRole('radio', { name: 'Table' })).toBeChecked();
    expect(screen.getByText('$region')).toBeInTheDocument();
    expect(screen.getByText('REJECT')).toBeInTheDocument();
    expect(screen.queryByRole('radio', { name: 'Top talkers' })).not.toBeChecked();
  });
});

describe('QueryEditor: saved query versions', () => {
  it('saves a query from before versioning in the current version, keeping every field', async () => {
    const saved = {
      refId: 'A',
      queryType: 'topTalkers',
      dim: 'src',
      by: 'bytes',
      limit: 20,
      srcIp: '$ip',
      future: 'kept',
    } as FlowsQuery;
    const { last } = renderEditor(saved);
    await userEvent.click(screen.getByRole('radio', { name: 'Destination' }));
    expect(last()).toEqual({ ...saved, dim: 'dst', version: 1 });
  });

  it('warns about a query saved by a newer plugin instead of reading it as this version', async () => {
    renderEditor({ refId: 'A', queryType: 'protocols', version: 7 } as FlowsQuery);
    expect(
      screen.getByText(/saved in query model version 7, which this plugin \(version 1\) does not read/)
    ).toBeInTheDocument();
  });
});
