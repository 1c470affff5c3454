import React, { ChangeEvent } from 'react';
import { Auth, AuthMethod, ConfigSection, ConnectionSettings, convertLegacyAuthProps } from '@grafana/plugin-ui';
import { Divider, InlineField, Input } from '@grafana/ui';

import { INPUT_WIDTH, LABEL_WIDTH, SecretField, SettingsProps, TextField, tlsProps } from './fields';

const API_KEY_METHOD = 'custom-calico-api-key' as const;
const BEARER_METHOD = 'custom-calico-bearer' as const;

/** jsonData.authType of each authentication method. */
const AUTH_TYPE: Record<string, string> = {
  [AuthMethod.NoAuth]: 'none',
  [AuthMethod.BasicAuth]: 'basic',
  [API_KEY_METHOD]: 'apiKey',
  [BEARER_METHOD]: 'bearer',
};

/**
 * Calico flow logs in Elasticsearch or OpenSearch: the cluster URL, the index pattern and time
 * field, Calico's flush interval, and the authentication (none, basic with Grafana's standard
 * user and password, an API key or a bearer token), TLS.
 */
export function CalicoSettings(props: SettingsProps) {
  const { options, onOptionsChange } = props;
  const { basicAuth } = convertLegacyAuthProps({ config: options, onChange: onOptionsChange });
  const selected =
    (Object.keys(AUTH_TYPE).find((m) => AUTH_TYPE[m] === (options.jsonData.authType || 'none')) as
      AuthMethod | `custom-${string}` | undefined) ?? AuthMethod.NoAuth;

  const onMethod = (m: string) => {
    onOptionsChange({
      ...options,
      basicAuth: m === AuthMethod.BasicAuth,
      jsonData: { ...options.jsonData, authType: AUTH_TYPE[m] },
    });
  };

  return (
    <>
      <ConnectionSettings
        config={options}
        onChange={onOptionsChange}
        urlPlaceholder="https://elastic.example.com:9200"
        urlTooltip="The Elasticsearch or OpenSearch HTTP address"
      />
      <ConfigSection title="Calico flow logs" description="Where Calico writes its flow logs.">
        <TextField
          settings={props}
          field="indexPattern"
          label="Index pattern"
          placeholder="tigera_secure_ee_flows.*"
          tooltip="The indices holding Calico flow logs. Empty: tigera_secure_ee_flows.*"
        />
        <TextField
          settings={props}
          field="timeField"
          label="Time field"
          placeholder="end_time"
          tooltip="The field a time range selects by. Empty: end_time"
        />
        <InlineField
          label="Flush interval (s)"
          htmlFor="config-editor-flushInterval"
          labelWidth={LABEL_WIDTH}
          interactive
          tooltip="Calico's flow log flush interval (FlowLogsFlushInterval): the smallest time bucket. Empty: 300"
        >
          <Input
            id="config-editor-flushInterval"
            type="number"
            min={1}
            max={3600}
            step={1}
            value={options.jsonData.flushInterval ?? ''}
            placeholder="300"
            width={INPUT_WIDTH}
            onChange={(e: ChangeEvent<HTMLInputElement>) => {
              const n = e.target.value.trim() === '' ? undefined : Math.trunc(Number(e.target.value));
              onOptionsChange({ ...options, jsonData: { ...options.jsonData, flushInterval: n } });
            }}
          />
        </InlineField>
      </ConfigSection>
      <Divider />
      <Auth
        selectedMethod={selected}
        visibleMethods={[AuthMethod.NoAuth, AuthMethod.BasicAuth, API_KEY_METHOD, BEARER_METHOD]}
        customMethods={[
          {
            id: API_KEY_METHOD,
            label: 'API key',
            description: 'An Elasticsearch API key (the base64 "encoded" value), sent as Authorization: ApiKey.',
            component: (
              <SecretField
                settings={props}
                field="apiKey"
                label="API key"
                tooltip="Stored encrypted; never sent back to the browser."
              />
            ),
          },
          {
            id: BEARER_METHOD,
            label: 'Bearer token',
            description: 'A token sent as Authorization: Bearer.',
            component: (
              <SecretField
                settings={props}
                field="bearerToken"
                label="Bearer token"
                tooltip="Stored encrypted; never sent back to the browser."
              />
            ),
          },
        ]}
        onAuthMethodSelect={onMethod}
        basicAuth={basicAuth}
        TLS={tlsProps(props)}
        readOnly={options.readOnly}
      />
    </>
  );
}
