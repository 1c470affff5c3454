import React, { ChangeEvent } from 'react';
import { DataSourcePluginOptionsEditorProps } from '@grafana/data';
import { Auth, ConfigSection, ConnectionSettings, convertLegacyAuthProps } from '@grafana/plugin-ui';
import { Divider, InlineField, Input, SecretInput, Stack } from '@grafana/ui';

import { DEFAULT_SETTINGS, FlowsDataSourceOptions, FlowsSecureJsonData } from '../types';

export type Props = DataSourcePluginOptionsEditorProps<FlowsDataSourceOptions, FlowsSecureJsonData>;

type NumericSetting = keyof typeof DEFAULT_SETTINGS;

const LABEL_WIDTH = 24;
const INPUT_WIDTH = 40;

/** The id of the API token as an authentication method of plugin-ui's Auth section. */
const TOKEN_METHOD = 'custom-api-token' as const;

const NUMERIC_SETTINGS: Array<{ key: NumericSetting; label: string; tooltip: string }> = [
  {
    key: 'timeout',
    label: 'Timeout (s)',
    tooltip: 'HTTP timeout for one request to the Flows API, in seconds.',
  },
  {
    key: 'pageSize',
    label: 'Page size',
    tooltip: 'Rows asked for per /api/v1/flows page. The server may return fewer.',
  },
  {
    key: 'rowCap',
    label: 'Row cap',
    tooltip: 'Most flow records one query reads. A query that stops at the cap says so in a warning.',
  },
  {
    key: 'maxConcurrency',
    label: 'Max concurrency',
    tooltip: 'Most requests to the Flows API in flight at once for this data source, across all panels and pages.',
  },
];

/** Parses a whole-number input: empty means "use the default". */
function parseWholeNumber(text: string): number | undefined {
  const trimmed = text.trim();
  if (trimmed === '') {
    return undefined;
  }
  const n = Number(trimmed);
  return Number.isFinite(n) ? Math.trunc(n) : undefined;
}

/**
 * The data source settings: URL, API token and TLS through Grafana's standard sections
 * (@grafana/plugin-ui), and the limits the backend reads from jsonData. "Save & test" is
 * Grafana's own: it shows the message and details of the backend's health check.
 */
export function ConfigEditor(props: Props) {
  const { options, onOptionsChange } = props;
  const { jsonData, secureJsonFields, secureJsonData } = options;

  const onNumberChange = (key: NumericSetting) => (event: ChangeEvent<HTMLInputElement>) => {
    onOptionsChange({
      ...options,
      jsonData: { ...jsonData, [key]: parseWholeNumber(event.target.value) },
    });
  };

  // The token goes to secureJsonData only: Grafana encrypts it and never returns it.
  const onTokenChange = (event: ChangeEvent<HTMLInputElement>) => {
    onOptionsChange({
      ...options,
      secureJsonData: { ...secureJsonData, apiToken: event.target.value },
    });
  };

  const onTokenReset = () => {
    onOptionsChange({
      ...options,
      secureJsonFields: { ...secureJsonFields, apiToken: false },
      secureJsonData: { ...secureJsonData, apiToken: '' },
    });
  };

  // TLS (CA certificate, client certificate, skip verify) as Grafana's standard settings, which
  // the plugin SDK's HTTP client reads. Basic auth and OAuth forwarding are not offered: the
  // Flows API takes a bearer token.
  const { TLS: tls } = convertLegacyAuthProps({ config: options, onChange: onOptionsChange });
  // switches that were never set are off (not "uncontrolled")
  const TLS = tls && {
    ...tls,
    TLSClientAuth: { ...tls.TLSClientAuth, enabled: Boolean(tls.TLSClientAuth.enabled) },
    skipTLSVerification: { ...tls.skipTLSVerification, enabled: Boolean(tls.skipTLSVerification.enabled) },
  };

  const tokenInput = (
    <InlineField
      label="API token"
      htmlFor="config-editor-api-token"
      labelWidth={LABEL_WIDTH}
      interactive
      tooltip="Bearer token sent to the Flows API. Stored encrypted; never sent back to the browser."
    >
      <SecretInput
        id="config-editor-api-token"
        isConfigured={Boolean(secureJsonFields?.apiToken)}
        value={secureJsonData?.apiToken ?? ''}
        placeholder="Bearer token"
        width={INPUT_WIDTH}
        onReset={onTokenReset}
        onChange={onTokenChange}
      />
    </InlineField>
  );

  return (
    <Stack direction="column" gap={2}>
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
            component: tokenInput,
          },
        ]}
        onAuthMethodSelect={() => {}}
        TLS={TLS}
        readOnly={options.readOnly}
      />
      <Divider />
      <ConfigSection
        title="Limits"
        description="How much one query may read, and how fast. Empty: the default."
        isCollapsible
        isInitiallyOpen
      >
        {NUMERIC_SETTINGS.map(({ key, label, tooltip }) => {
          const { default: def, min, max } = DEFAULT_SETTINGS[key];
          return (
            <InlineField
              key={key}
              label={label}
              htmlFor={`config-editor-${key}`}
              labelWidth={LABEL_WIDTH}
              interactive
              tooltip={`${tooltip} Empty: ${def}. Allowed: ${min} to ${max}.`}
            >
              <Input
                id={`config-editor-${key}`}
                type="number"
                min={min}
                max={max}
                step={1}
                value={jsonData[key] ?? ''}
                onChange={onNumberChange(key)}
                placeholder={String(def)}
                width={INPUT_WIDTH}
              />
            </InlineField>
          );
        })}
      </ConfigSection>
    </Stack>
  );
}
