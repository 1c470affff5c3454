import React, { ChangeEvent } from 'react';
import { DataSourcePluginOptionsEditorProps } from '@grafana/data';
import { ConfigSection } from '@grafana/plugin-ui';
import { Divider, InlineField, Input, RadioButtonGroup, Stack, Text } from '@grafana/ui';

import { DEFAULT_SETTINGS, DEFAULT_SOURCE, FlowsDataSourceOptions, FlowsSecureJsonData, SourceType } from '../types';
import { SOURCES } from './config/sources';

export type Props = DataSourcePluginOptionsEditorProps<FlowsDataSourceOptions, FlowsSecureJsonData>;

type NumericSetting = keyof typeof DEFAULT_SETTINGS;

const LABEL_WIDTH = 26;
const INPUT_WIDTH = 40;

const NUMERIC_SETTINGS: Array<{ key: NumericSetting; label: string; tooltip: string }> = [
  {
    key: 'timeout',
    label: 'Timeout (s)',
    tooltip: 'HTTP timeout for one request to the flow-log system, in seconds.',
  },
  {
    key: 'pageSize',
    label: 'Page size',
    tooltip: 'Records asked for per page. The server may return fewer.',
  },
  {
    key: 'rowCap',
    label: 'Row cap',
    tooltip: 'Most flow records one query reads. A query that stops at the cap says so in a warning.',
  },
  {
    key: 'maxConcurrency',
    label: 'Max concurrency',
    tooltip: 'Most requests in flight at once for this data source, across all panels and pages.',
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

const SOURCE_OPTIONS = SOURCES.map(({ value, label, description }) => ({ value, label, description }));

/**
 * The data source settings: which flow-log system (jsonData.source; a data source saved
 * without it is a Flows API one), that system's connection and authentication, and the limits
 * every source shares. "Save & test" is Grafana's own: it shows the message and details of the
 * backend's health check.
 */
export function ConfigEditor(props: Props) {
  const { options, onOptionsChange } = props;
  const { jsonData } = options;
  const sourceType: SourceType = jsonData.source ?? DEFAULT_SOURCE;
  const source = SOURCES.find((s) => s.value === sourceType);

  const onNumberChange = (key: NumericSetting) => (event: ChangeEvent<HTMLInputElement>) => {
    onOptionsChange({
      ...options,
      jsonData: { ...jsonData, [key]: parseWholeNumber(event.target.value) },
    });
  };

  // Another source starts from empty settings of its own: two sources may use one key with
  // different meanings (authType). The limits stay; so do secrets, as each source reads only
  // its own.
  const onSourceChange = (next: SourceType) => {
    const cleaned: Record<string, unknown> = { ...jsonData, source: next };
    for (const s of SOURCES) {
      for (const key of s.jsonDataKeys) {
        delete cleaned[key];
      }
    }
    onOptionsChange({
      ...options,
      basicAuth: next === 'calico' ? options.basicAuth : false,
      jsonData: cleaned as FlowsDataSourceOptions,
    });
  };

  return (
    <Stack direction="column" gap={2}>
      <ConfigSection title="Source" description="The flow-log system this data source reads.">
        <RadioButtonGroup<SourceType>
          aria-label="Source"
          options={SOURCE_OPTIONS}
          value={sourceType}
          onChange={onSourceChange}
        />
      </ConfigSection>
      <Divider />
      {source ? (
        <source.Component {...props} />
      ) : (
        <Text color="error">{`Unknown source "${sourceType}": pick one of the sources above.`}</Text>
      )}
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
