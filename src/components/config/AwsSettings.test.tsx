import React, { useState } from 'react';
import { render, screen } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { DataSourceSettings, EventBusSrv, PluginContextProvider, PluginMeta } from '@grafana/data';
import { config, setAppEvents } from '@grafana/runtime';
import { AwsAuthDataSourceSecureJsonData } from '@grafana/aws-sdk';

import { AwsSettings, AwsFlowLogsJsonData } from './AwsSettings';
import { ConfigEditor } from '../ConfigEditor';
import { FlowsDataSourceOptions, FlowsSecureJsonData } from '../../types';

type Settings = DataSourceSettings<AwsFlowLogsJsonData, AwsAuthDataSourceSecureJsonData>;

function makeOptions(jsonData: AwsFlowLogsJsonData): Settings {
  return {
    id: 2,
    uid: 'aws',
    orgId: 1,
    name: 'AWS flow logs',
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
    jsonData,
    secureJsonFields: {},
  } as Settings;
}

function renderSection(initial: Settings) {
  const onOptionsChange = jest.fn();
  function Harness() {
    const [options, setOptions] = useState(initial);
    return (
      <AwsSettings
        options={options}
        onOptionsChange={(next) => {
          onOptionsChange(next);
          setOptions(next);
        }}
      />
    );
  }
  // Grafana renders a config editor inside its plugin's context (ConnectionConfig reports
  // interactions through it).
  const meta = {
    id: 'flowlens-flows-datasource',
    name: 'Flows API',
    type: 'datasource',
    info: { version: '1.0.0' },
  } as PluginMeta;
  render(
    <PluginContextProvider meta={meta}>
      <Harness />
    </PluginContextProvider>
  );
  return (): Settings => onOptionsChange.mock.calls[onOptionsChange.mock.calls.length - 1][0];
}

beforeAll(() => {
  // What Grafana's [aws] allowed_auth_providers gives by default.
  config.awsAllowedAuthProviders = ['default', 'keys', 'credentials'];
  config.awsAssumeRoleEnabled = true;
  // ConnectionConfig listens for Save & test results on Grafana's event bus.
  setAppEvents(new EventBusSrv());
});

describe('AwsSettings', () => {
  it('stores access keys in secureJsonData and the rest in jsonData, in grafana-aws-sdk’s shape', async () => {
    const last = renderSection(
      makeOptions({ authType: 'keys' as AwsFlowLogsJsonData['authType'], defaultRegion: 'us-east-1' })
    );

    // no delay between keystrokes: the form is large and the machine shared
    const user = userEvent.setup({ delay: null });
    await user.type(screen.getByLabelText(/Access Key ID/i), 'AKIAEXAMPLE');
    await user.type(screen.getByLabelText(/Secret Access Key/i), 'secret/example');
    await user.type(screen.getByLabelText(/Assume Role ARN/i), 'arn:aws:iam::123456789012:role/reader');
    await user.type(screen.getByLabelText(/External ID/i), 'ext-42');
    await user.type(screen.getByLabelText(/Endpoint/i), 'http://127.0.0.1:5000');

    const saved = last();
    expect(saved.secureJsonData).toEqual({ accessKey: 'AKIAEXAMPLE', secretKey: 'secret/example' });
    expect(saved.jsonData).toMatchObject({
      authType: 'keys',
      defaultRegion: 'us-east-1',
      assumeRoleArn: 'arn:aws:iam::123456789012:role/reader',
      externalId: 'ext-42',
      endpoint: 'http://127.0.0.1:5000',
    });
    expect(JSON.stringify(saved.jsonData)).not.toContain('secret/example');
  });

  it('adds regions to jsonData.regions', async () => {
    const last = renderSection(
      makeOptions({ authType: 'default' as AwsFlowLogsJsonData['authType'], defaultRegion: 'us-east-1' })
    );

    const regions = screen.getByRole('combobox', { name: 'Regions' });
    await userEvent.type(regions, 'eu-west-1');
    await userEvent.click(screen.getByRole('option', { name: 'eu-west-1' }));
    await userEvent.clear(regions);
    await userEvent.type(regions, 'ap-southeast-2');
    await userEvent.click(screen.getByRole('option', { name: 'ap-southeast-2' }));

    expect(last().jsonData.regions).toEqual(['eu-west-1', 'ap-southeast-2']);
  });

  it('is what the config editor shows for the AWS source, and its keys go when another source is picked', async () => {
    type Plugin = DataSourceSettings<FlowsDataSourceOptions, FlowsSecureJsonData>;
    const onOptionsChange = jest.fn();
    function Harness() {
      const [options, setOptions] = useState(makeOptions({}) as unknown as Plugin);
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
    const meta = { id: 'flowlens-flows-datasource', name: 'Flows API', type: 'datasource', info: { version: '1.0.0' } };
    render(
      <PluginContextProvider meta={meta as PluginMeta}>
        <Harness />
      </PluginContextProvider>
    );
    const last = (): Plugin => onOptionsChange.mock.calls[onOptionsChange.mock.calls.length - 1][0];

    await userEvent.click(screen.getByRole('radio', { name: 'AWS VPC flow logs' }));
    expect(last().jsonData.source).toBe('awsFlowLogs');
    const user = userEvent.setup({ delay: null });
    await user.type(screen.getByLabelText(/Endpoint/i), 'http://127.0.0.1:5000');
    expect(last().jsonData.endpoint).toBe('http://127.0.0.1:5000');

    await userEvent.click(screen.getByRole('radio', { name: 'Flows API' }));
    expect(last().jsonData.endpoint).toBeUndefined();
    expect(screen.queryByLabelText(/Endpoint/i)).not.toBeInTheDocument();
  });
});
