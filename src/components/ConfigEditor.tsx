import React, { ChangeEvent } from 'react';
import { DataSourcePluginOptionsEditorProps } from '@grafana/data';
import { FieldSet, InlineField, Input, SecretInput } from '@grafana/ui';

import { DEFAULT_SETTINGS, FlowsDataSourceOptions, FlowsSecureJsonData } from '../types';

export type Props = DataSourcePluginOptionsEditorProps<FlowsDataSourceOptions, FlowsSecureJsonData>;

type NumericSetting = keyof typeof DEFAULT_SETTINGS;

const LABEL_WIDTH = 20;
const INPUT_WIDTH = 40;

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
    tooltip: 'Most requests to the Flows API that one query runs at the same time.',
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

export function ConfigEditor({ options, onOptionsChange }: Props) {
  const { jsonData, secureJsonFields, secureJsonData } = options;

  const onUrlChange = (event: ChangeEvent<HTMLInputElement>) => {
    onOptionsChange({ ...options, url: event.target.value });
  };

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

  return (
    <>
      <FieldSet label="Connection">
        <InlineField
          label="URL"
          labelWidth={LABEL_WIDTH}
          interactive
          required
          tooltip="Base URL of the Flows API, the address in front of /api/v1, e.g. https://siem.example.com"
        >
          <Input
            id="config-editor-url"
            value={options.url ?? ''}
            onChange={onUrlChange}
            placeholder="https://siem.example.com"
            width={INPUT_WIDTH}
          />
        </InlineField>
        <InlineField
          label="API token"
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
      </FieldSet>
      <FieldSet label="Limits">
        {NUMERIC_SETTINGS.map(({ key, label, tooltip }) => {
          const { default: def, min, max } = DEFAULT_SETTINGS[key];
          return (
            <InlineField
              key={key}
              label={label}
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
      </FieldSet>
    </>
  );
}
