import React, { useState } from 'react';
import { render, screen, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { DataSourceSettings, EventBusSrv, PluginContextProvider, PluginMeta } from '@grafana/data';
import { config, setAppEvents } from '@grafana/runtime';

import { ConfigEditor } from './ConfigEditor';
import { DataSource } from '../datasource';
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
  // Grafana renders a config editor inside its plugin's context; the AWS source's editor
  // (@grafana/aws-sdk) reports through it.
  const meta = { id: 'flowlens-flows-datasource', name: 'Flows API', type: 'datasource', info: { version: '1.0.0' } };
  const { unmount } = render(
    <PluginContextProvider meta={meta as PluginMeta}>
      <Harness />
    </PluginContextProvider>
  );
  const last = (): Settings => onOptionsChange.mock.calls[onOptionsChange.mock.calls.length - 1][0];
  return { onOptionsChange, last, unmount };
}

beforeAll(() => {
  // What Grafana gives @grafana/aws-sdk's editor: its allowed AWS auth providers and event bus.
  config.awsAllowedAuthProviders = ['default', 'keys', 'credentials'];
  config.awsAssumeRoleEnabled = true;
  setAppEvents(new EventBusSrv());
});

describe('ConfigEditor', () => {
  it('stores a typed API token in secureJsonData only, never in jsonData', async () => {
    const initial = makeOptions({ jsonData: { rowCap: 1000 } });
    const { onOptionsChange, last } = renderEditor(initial);

    await userEvent.type(screen.getByLabelText('API token'), 's3cr3t-token');

    expect(last().secureJsonData).toEqual({ apiToken: 's3cr3t-token' });
    expect(last().jsonData).toEqual({ rowCap: 1000 });
    for (const [options] of onOptionsChange.mock.calls) {
      expect(JSON.stringify(options.jsonData)).not.toContain('s3cr3t');
      expect(options.url).toBe('');
    }
  });

  it('never renders a saved token back: Grafana returns only "configured"', async () => {
    const { last, unmount } = renderEditor(makeOptions());
    await userEvent.type(screen.getByLabelText('API token'), 's3cr3t-token');
    const saved = last();
    unmount();

    // What Grafana hands the editor after "Save": secureJsonFields, never secureJsonData.
    const { container } = render(
      <ConfigEditor
        options={{ ...saved, secureJsonData: undefined, secureJsonFields: { apiToken: true } }}
        onOptionsChange={jest.fn()}
      />
    );

    expect(container.innerHTML).not.toContain('s3cr3t');
    expect(within(container).getByLabelText('API token')).toHaveValue('configured');
    expect(JSON.stringify(saved.jsonData)).not.toContain('s3cr3t');
  });

  it('shows a configured token as "configured" and resets it', async () => {
    const { last } = renderEditor(makeOptions({ secureJsonFields: { apiToken: true } }));

    const input = screen.getByLabelText('API token');
    expect(input).toBeDisabled();
    expect(input).toHaveValue('configured');

    await userEvent.click(screen.getByRole('button', { name: 'Reset' }));

    expect(last().secureJsonFields.apiToken).toBe(false);
    expect(last().secureJsonData?.apiToken).toBe('');
    expect(screen.getByLabelText('API token')).toBeEnabled();
  });

  it('stores the URL as the data source URL, not in jsonData', async () => {
    const { last } = renderEditor(makeOptions());

    await userEvent.type(screen.getByRole('textbox', { name: 'Data source connection URL' }), 'http://127.0.0.1:8080');

    expect(last().url).toBe('http://127.0.0.1:8080');
    expect(last().jsonData).toEqual({});
    expect(last().secureJsonData).toBeUndefined();
  });

  it('stores limits as numbers in jsonData and clears them back to the default', async () => {
    const { last } = renderEditor(makeOptions());

    const rowCap = screen.getByLabelText('Row cap');
    expect(rowCap).toHaveAttribute('placeholder', '50000');
    await userEvent.type(rowCap, '2500');
    expect(last().jsonData.rowCap).toBe(2500);

    await userEvent.type(screen.getByLabelText('Timeout (s)'), '15');
    await userEvent.type(screen.getByLabelText('Page size'), '500');
    await userEvent.type(screen.getByLabelText('Max concurrency'), '8');
    expect(last().jsonData).toEqual({ rowCap: 2500, timeout: 15, pageSize: 500, maxConcurrency: 8 });

    await userEvent.clear(rowCap);
    expect(last().jsonData.rowCap).toBeUndefined();
    expect(last().jsonData.timeout).toBe(15);
  });

  it("configures TLS through Grafana's standard settings", async () => {
    const { last } = renderEditor(makeOptions());

    await userEvent.click(screen.getByLabelText(/Skip TLS certificate validation/i));
    expect(last().jsonData).toMatchObject({ tlsSkipVerify: true });

    await userEvent.click(screen.getByLabelText(/Add self-signed certificate/i));
    expect(last().jsonData).toMatchObject({ tlsAuthWithCACert: true });
  });

  it('leaves "Save & test" to Grafana: the health check message and details are shown as the backend sends them', () => {
    // DataSourceWithBackend.testDatasource calls the backend's CheckHealth; the plugin does not override it
    expect(Object.prototype.hasOwnProperty.call(DataSource.prototype, 'testDatasource')).toBe(false);
  });
});

/** Picks an authentication method in plugin-ui's Auth section. */
async function pickAuthMethod(label: string) {
  await userEvent.click(screen.getByLabelText('Authentication method'));
  await userEvent.click(await screen.findByText(label));
}

describe('ConfigEditor: sources', () => {
  it('treats a data source saved without a source as the Flows API', () => {
    renderEditor(makeOptions());
    expect(screen.getByRole('radio', { name: 'Flows API' })).toBeChecked();
    expect(screen.getByLabelText('API token')).toBeInTheDocument();
  });

  it('shows Trustgrid settings once picked: client ID in jsonData, secret in secureJsonData, or a JWT', async () => {
    const { last } = renderEditor(makeOptions({ jsonData: { rowCap: 1000 } }));

    await userEvent.click(screen.getByRole('radio', { name: 'Trustgrid' }));
    expect(last().jsonData).toEqual({ rowCap: 1000, source: 'trustgrid' });
    expect(screen.queryByLabelText('API token')).not.toBeInTheDocument();

    await userEvent.type(screen.getByLabelText('Client ID'), 'tg-client');
    await userEvent.type(screen.getByLabelText('Client secret'), 'tg-s3cret');
    expect(last().jsonData).toEqual({ rowCap: 1000, source: 'trustgrid', trustgridClientId: 'tg-client' });
    expect(last().secureJsonData).toEqual({ trustgridClientSecret: 'tg-s3cret' });

    await pickAuthMethod('JWT');
    await userEvent.type(screen.getByLabelText('JWT'), 'eyJ.jwt');
    expect(last().secureJsonData).toMatchObject({ trustgridJwt: 'eyJ.jwt' });
    expect(JSON.stringify(last().jsonData)).not.toContain('s3cret');

    // back to the client: the backend would prefer a saved JWT, so it is forgotten
    await pickAuthMethod('API client ID and secret');
    expect(last().secureJsonData?.trustgridJwt).toBe('');
    expect(last().secureJsonFields.trustgridJwt).toBe(false);
  });

  it('shows Huawei Cloud Firewall settings: region, endpoint, project, instance, AK/SK or IAM token', async () => {
    const { last } = renderEditor(makeOptions());

    await userEvent.click(screen.getByRole('radio', { name: 'Huawei Cloud Firewall' }));
    await userEvent.type(screen.getByLabelText('Region'), 'cn-north-4');
    await userEvent.type(screen.getByLabelText('Project ID'), 'proj-1');
    await userEvent.type(screen.getByLabelText('Firewall instance ID'), 'fw-1');
    await userEvent.type(screen.getByLabelText('Endpoint URL'), 'http://127.0.0.1:9000');
    await userEvent.type(screen.getByLabelText('Access key ID'), 'AK1');
    await userEvent.type(screen.getByLabelText('Secret access key'), 'SK1');
    expect(last().jsonData).toEqual({
      source: 'huaweiCfw',
      cfwRegion: 'cn-north-4',
      cfwProjectId: 'proj-1',
      cfwFwInstanceId: 'fw-1',
    });
    expect(last().url).toBe('http://127.0.0.1:9000');
    expect(last().secureJsonData).toEqual({ cfwAccessKey: 'AK1', cfwSecretKey: 'SK1' });

    // the backend signs with a saved key pair first, so choosing the token forgets it
    await pickAuthMethod('IAM token');
    await userEvent.type(screen.getByLabelText('IAM token'), 'MIItoken');
    expect(last().secureJsonData).toEqual({ cfwAccessKey: '', cfwSecretKey: '', cfwIamToken: 'MIItoken' });
  });

  it('shows Calico settings: index pattern and time field defaults, and the authentication type', async () => {
    const { last } = renderEditor(makeOptions());

    await userEvent.click(screen.getByRole('radio', { name: 'Calico (Elasticsearch)' }));
    expect(screen.getByLabelText('Index pattern')).toHaveAttribute('placeholder', 'tigera_secure_ee_flows.*');
    expect(screen.getByLabelText('Time field')).toHaveAttribute('placeholder', 'end_time');
    await userEvent.type(screen.getByLabelText('Index pattern'), 'flows-*');

    await pickAuthMethod('API key');
    await userEvent.type(screen.getByLabelText('API key'), 'ZWxhc3RpYw==');
    expect(last().jsonData).toEqual({ source: 'calico', indexPattern: 'flows-*', authType: 'apiKey' });
    expect(last().secureJsonData).toEqual({ apiKey: 'ZWxhc3RpYw==' });
    expect(last().basicAuth).toBe(false);

    await pickAuthMethod('Basic authentication');
    expect(last().jsonData.authType).toBe('basic');
    expect(last().basicAuth).toBe(true);
  });

  it("drops the previous source's own settings when another is picked, keeping the limits", async () => {
    const { last } = renderEditor(
      makeOptions({ jsonData: { source: 'calico', indexPattern: 'flows-*', authType: 'apiKey', rowCap: 500 } })
    );
    expect(screen.getByRole('radio', { name: 'Calico (Elasticsearch)' })).toBeChecked();

    await userEvent.click(screen.getByRole('radio', { name: 'AWS VPC flow logs' }));
    // the AWS editor starts with the first authentication Grafana allows
    expect(last().jsonData).toEqual({ source: 'awsFlowLogs', rowCap: 500, authType: 'default' });
    await userEvent.click(screen.getByRole('radio', { name: 'Flows API' }));
    expect(last().jsonData).toEqual({ source: 'flowsapi', rowCap: 500 });
  });
});
