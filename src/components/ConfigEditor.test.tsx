import React, { useState } from 'react';
import { render, screen } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { DataSourceSettings } from '@grafana/data';

import { ConfigEditor } from './ConfigEditor';
import { FlowsDataSourceOptions, FlowsSecureJsonData } from '../types';

type Settings = DataSourceSettings<FlowsDataSourceOptions, FlowsSecureJsonData>;

function makeOptions(overrides: Partial<Settings> = {}): Settings {
  // Cast: the type still requires the deprecated `database` field, which this plugin never uses.
  return {
    id: 1,
    uid: 'flows',
    orgId: 1,
    name: 'Flows API',
    type: 'flowlens-flows-datasource',
    typeName: 'Flows API',
    typeLogoUrl: '',
    access: 'proxy',
    url: '',
    user: '',
    basicAuth: false,
    basicAuthUser: '',
    isDefault: false,
    readOnly: false,
    withCredentials: false,
    jsonData: {},
    secureJsonFields: {},
    ...overrides,
  } as Settings;
}

/** Renders the editor the way Grafana does: options held in state, every change fed back. */
function renderEditor(initial: Settings) {
  const onOptionsChange = jest.fn();
  function Harness() {
    const [options, setOptions] = useState(initial);
    return (
      <ConfigEditor
        options={options}
        onOptionsChange={(next) => {
          onOptionsChange(next);
          setOptions(next);
        }}
      />
    );
  }
  render(<Harness />);
  const last = (): Settings => onOptionsChange.mock.calls[onOptionsChange.mock.calls.length - 1][0];
  return { onOptionsChange, last };
}

describe('ConfigEditor', () => {
  it('stores a typed API token in secureJsonData only, never in jsonData', async () => {
    const initial = makeOptions({ jsonData: { rowCap: 1000 } });
    const { onOptionsChange, last } = renderEditor(initial);

    await userEvent.type(screen.getByLabelText(/API token/), 's3cr3t-token');

    expect(onOptionsChange).toHaveBeenCalledTimes('s3cr3t-token'.length);
    expect(last().secureJsonData).toEqual({ apiToken: 's3cr3t-token' });
    expect(last().jsonData).toEqual({ rowCap: 1000 });
    for (const [options] of onOptionsChange.mock.calls) {
      expect(JSON.stringify(options.jsonData)).not.toContain('s3cr3t');
      expect(options.url).toBe('');
    }
  });

  it('shows a configured token as "configured" and resets it', async () => {
    const { last } = renderEditor(makeOptions({ secureJsonFields: { apiToken: true } }));

    const input = screen.getByLabelText(/API token/);
    expect(input).toBeDisabled();
    expect(input).toHaveValue('configured');

    await userEvent.click(screen.getByRole('button', { name: 'Reset' }));

    expect(last().secureJsonFields.apiToken).toBe(false);
    expect(last().secureJsonData?.apiToken).toBe('');
    expect(screen.getByLabelText(/API token/)).toBeEnabled();
  });

  it('stores the URL as the data source URL, not in jsonData', async () => {
    const { last } = renderEditor(makeOptions());

    await userEvent.type(screen.getByLabelText(/URL/), 'http://127.0.0.1:8080');

    expect(last().url).toBe('http://127.0.0.1:8080');
    expect(last().jsonData).toEqual({});
    expect(last().secureJsonData).toBeUndefined();
  });

  it('stores limits as numbers in jsonData and clears them back to the default', async () => {
    const { last } = renderEditor(makeOptions());

    const rowCap = screen.getByLabelText(/Row cap/);
    expect(rowCap).toHaveAttribute('placeholder', '50000');
    await userEvent.type(rowCap, '2500');
    expect(last().jsonData.rowCap).toBe(2500);

    await userEvent.type(screen.getByLabelText(/Timeout/), '15');
    expect(last().jsonData).toEqual({ rowCap: 2500, timeout: 15 });

    await userEvent.clear(rowCap);
    expect(last().jsonData.rowCap).toBeUndefined();
    expect(last().jsonData.timeout).toBe(15);
  });
});
