import React, { useState } from 'react';
import { Auth, ConnectionSettings } from '@grafana/plugin-ui';
import { Divider } from '@grafana/ui';

import { resetSecrets, SecretField, SettingsProps, TextField, tlsProps } from './fields';

const CLIENT_METHOD = 'custom-trustgrid-client' as const;
const JWT_METHOD = 'custom-trustgrid-jwt' as const;
type Method = typeof CLIENT_METHOD | typeof JWT_METHOD;

/**
 * Trustgrid's Management API: its URL, and either an API client ID and secret (sent as
 * `trustgrid-token ID:SECRET`) or a JWT (sent as a bearer token). The backend uses the JWT when
 * both are saved, so choosing the client ID and secret forgets a saved JWT.
 */
export function TrustgridSettings(props: SettingsProps) {
  const { options, onOptionsChange } = props;
  const jwtSaved = Boolean(options.secureJsonFields?.trustgridJwt || options.secureJsonData?.trustgridJwt);
  const [method, setMethod] = useState<Method>(jwtSaved ? JWT_METHOD : CLIENT_METHOD);

  const onMethod = (m: string) => {
    setMethod(m as Method);
    if (m === CLIENT_METHOD) {
      resetSecrets(props, ['trustgridJwt']);
    }
  };

  return (
    <>
      <ConnectionSettings
        config={options}
        onChange={onOptionsChange}
        urlPlaceholder="https://api.trustgrid.io"
        urlTooltip="The Trustgrid Management API, in front of /v2/audit/flow-logs. Empty: https://api.trustgrid.io"
      />
      <Divider />
      <Auth
        selectedMethod={method}
        visibleMethods={[CLIENT_METHOD, JWT_METHOD]}
        customMethods={[
          {
            id: CLIENT_METHOD,
            label: 'API client ID and secret',
            description: 'An API-access client from the Trustgrid portal, sent as "trustgrid-token ID:SECRET".',
            component: (
              <>
                <TextField
                  settings={props}
                  field="trustgridClientId"
                  label="Client ID"
                  tooltip="The API client's ID (not secret)."
                />
                <SecretField
                  settings={props}
                  field="trustgridClientSecret"
                  label="Client secret"
                  tooltip="The API client's secret. Stored encrypted; never sent back to the browser."
                />
              </>
            ),
          },
          {
            id: JWT_METHOD,
            label: 'JWT',
            description: 'A Trustgrid JSON Web Token, sent as a bearer token.',
            component: (
              <SecretField
                settings={props}
                field="trustgridJwt"
                label="JWT"
                tooltip="Sent as Authorization: Bearer. Stored encrypted; never sent back to the browser."
              />
            ),
          },
        ]}
        onAuthMethodSelect={onMethod}
        TLS={tlsProps(props)}
        readOnly={options.readOnly}
      />
    </>
  );
}
