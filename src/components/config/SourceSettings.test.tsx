import React, { useState } from 'react';
import { render, screen } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { DataSourceSettings } from '@grafana/data';

import { FlowsDataSourceOptions, FlowsSecureJsonData } from '../../types';
import { HuaweiCfwSettings } from './HuaweiCfwSettings';
import { SourceFieldsProps } from './SourceFields';
import { TrustgridSettings } from './TrustgridSettings';

type Settings = DataSourceSettings<FlowsDataSourceOptions, FlowsSecureJsonData>;

function makeOptions(overrides: Partial<Settings> = {}): Settings {
  return {
    id: 1,
    uid: 'flows',
    orgId: 1,
    name: 'Flows',
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

/** Renders a settings component as Grafana does: options held in state, every change fed back. */
function renderFields(Component: (p: SourceFieldsProps) => React.JSX.Element, initial: Settings) {
  const onOptionsChange = jest.fn();
  function Harness() {
    const [options, setOptions] = useState(initial);
    return (
      <Component
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
  return { last };
}

describe('TrustgridSettings', () => {
  it('keeps the client ID in jsonData and the secret and JWT in secureJsonData only', async () => {
    const { last } = renderFields(
      TrustgridSettings,
      makeOptions({ jsonData: { source: 'trustgrid' } as FlowsDataSourceOptions })
    );
    await userEvent.type(screen.getByLabelText('Client ID'), ' my-client ');
    expect(screen.getByText('The client ID needs its secret')).toBeInTheDocument();
    await userEvent.type(screen.getByLabelText('Client secret'), 's3cr3t');
    expect(screen.queryByText('The client ID needs its secret')).not.toBeInTheDocument();
    await userEvent.type(screen.getByLabelText('JWT'), 'eyJ.x.y');
    const saved = last();
    expect(saved.jsonData).toMatchObject({ source: 'trustgrid', trustgridClientId: 'my-client' });
    expect(saved.secureJsonData).toEqual({ trustgridClientSecret: 's3cr3t', trustgridJwt: 'eyJ.x.y' });
    expect(JSON.stringify(saved.jsonData)).not.toMatch(/s3cr3t|eyJ/);
  });

  it('shows a stored secret as configured and resets it', async () => {
    const { last } = renderFields(
      TrustgridSettings,
      makeOptions({ jsonData: { trustgridClientId: 'id' }, secureJsonFields: { trustgridClientSecret: true } })
    );
    expect(screen.getByLabelText('Client secret')).toHaveValue('configured');
    expect(screen.queryByText('The client ID needs its secret')).not.toBeInTheDocument();
    await userEvent.click(screen.getAllByRole('button', { name: 'Reset' })[0]);
    expect(last().secureJsonFields.trustgridClientSecret).toBe(false);
    expect(screen.getByText('The client ID needs its secret')).toBeInTheDocument();
  });
});

describe('HuaweiCfwSettings', () => {
  it('saves region, project and firewall in jsonData and the key pair in secureJsonData only', async () => {
    const { last } = renderFields(HuaweiCfwSettings, makeOptions());
    expect(screen.getByText('Set a region or an endpoint')).toBeInTheDocument();
    await userEvent.type(screen.getByLabelText('Region'), 'cn-north-4');
    expect(screen.queryByText('Set a region or an endpoint')).not.toBeInTheDocument();
    await userEvent.type(screen.getByLabelText('Project ID'), '0a1b2c');
    await userEvent.type(screen.getByLabelText('Firewall instance ID'), 'fw-1');
    await userEvent.type(screen.getByLabelText('Access key (AK)'), 'AKID');
    expect(screen.getByText('The access key and the secret key go together')).toBeInTheDocument();
    await userEvent.type(screen.getByLabelText('Secret key (SK)'), 'SKSECRET');
    expect(screen.queryByText('The access key and the secret key go together')).not.toBeInTheDocument();
    const saved = last();
    expect(saved.jsonData).toEqual({ cfwRegion: 'cn-north-4', cfwProjectId: '0a1b2c', cfwFwInstanceId: 'fw-1' });
    expect(saved.secureJsonData).toEqual({ cfwAccessKey: 'AKID', cfwSecretKey: 'SKSECRET' });
  });

  it('takes an IAM token instead, and clears a setting that is emptied', async () => {
    const { last } = renderFields(
      HuaweiCfwSettings,
      makeOptions({ url: 'https://cfw.example.com', jsonData: { cfwEnterpriseProjectId: 'eps' } })
    );
    expect(screen.queryByText('Set a region or an endpoint')).not.toBeInTheDocument();
    await userEvent.type(screen.getByLabelText('IAM token'), 'MIIT0k3n');
    await userEvent.clear(screen.getByLabelText('Enterprise project ID'));
    const saved = last();
    expect(saved.secureJsonData).toEqual({ cfwIamToken: 'MIIT0k3n' });
    expect(saved.jsonData.cfwEnterpriseProjectId).toBeUndefined();
  });
});
