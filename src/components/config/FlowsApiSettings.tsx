import React from 'react';
import { Auth, ConnectionSettings } from '@grafana/plugin-ui';
import { Divider } from '@grafana/ui';

import { SecretField, SettingsProps, tlsProps } from './fields';

/** The id of the API token as an authentication method of plugin-ui's Auth section. */
const TOKEN_METHOD = 'custom-api-token' as const;

/**
 * The Flows API: its URL (the address in front of /api/v1), the bearer token, TLS. Basic auth
 * and OAuth forwarding are not offered: the Flows API takes a bearer token.
 */
export function FlowsApiSettings(props: SettingsProps) {
  const { options, onOptionsChange } = props;
  return (
    <>
      <ConnectionSettings
        config={options}
        onChange={onOptionsChange}
        urlPlaceholder="https://siem.example.com"
        urlTooltip="Base URL of the Flows API, the address in front of /api/v1, e.g. https://siem.example.com"
      />
      <Divider />
      <Auth
        selectedMethod={TOKEN_METHOD}
        visibleMethods={[TOKEN_METHOD]}
        customMethods={[
          {
            id: TOKEN_METHOD,
            label: 'API token',
            description: 'The Flows API authenticates requests with a bearer token.',
            component: (
              <SecretField
                settings={props}
                field="apiToken"
                label="API token"
                placeholder="Bearer token"
                tooltip="Bearer token sent to the Flows API. Stored encrypted; never sent back to the browser."
              />
            ),
          },
        ]}
        onAuthMethodSelect={() => {}}
        TLS={tlsProps(props)}
        readOnly={options.readOnly}
      />
    </>
  );
}
