import React, { ChangeEvent } from 'react';
import { CoreApp, QueryEditorProps, SelectableValue } from '@grafana/data';
import { InlineField, InlineFieldRow, Input, RadioButtonGroup, Stack } from '@grafana/ui';

import { DataSource } from '../datasource';
import {
  DEFAULT_QUERIES,
  DEFAULT_QUERY,
  DEFAULT_TOP_TALKERS_QUERY,
  FlowsDataSourceOptions,
  FlowsQuery,
  QueryType,
  TalkerBy,
  TalkerDim,
} from '../types';

export type Props = QueryEditorProps<DataSource, FlowsQuery, FlowsDataSourceOptions>;

const QUERY_TYPE_OPTIONS: Array<SelectableValue<QueryType>> = [
  { label: 'Top talkers', value: 'topTalkers', description: 'Sources, destinations or pairs ranked by traffic' },
  { label: 'Protocols', value: 'protocols', description: 'Traffic per protocol' },
  { label: 'Flows', value: 'flows', description: 'Raw flow records, as a table or time series' },
];

const VARIABLE_VALUES_OPTION: SelectableValue<QueryType> = {
  label: 'Variable values',
  value: 'variableValues',
  description: 'Values for a template variable',
};

const DIM_OPTIONS: Array<SelectableValue<TalkerDim>> = [
  { label: 'Source', value: 'src' },
  { label: 'Destination', value: 'dst' },
  { label: 'Pair', value: 'pair' },
];

const BY_OPTIONS: Array<SelectableValue<TalkerBy>> = [
  { label: 'Bytes', value: 'bytes' },
  { label: 'Packets', value: 'packets' },
];

const LABEL_WIDTH = 14;

/** Query types offered in this editor. Alert rules cannot use the flows table, so alerting hides it. */
export function queryTypeOptions(app: CoreApp | undefined, current: QueryType): Array<SelectableValue<QueryType>> {
  let options = QUERY_TYPE_OPTIONS;
  if (app === CoreApp.UnifiedAlerting && current !== 'flows') {
    options = options.filter((o) => o.value !== 'flows');
  }
  if (current === 'variableValues') {
    options = [...options, VARIABLE_VALUES_OPTION];
  }
  return options;
}

export function QueryEditor({ query, onChange, onRunQuery, app }: Props) {
  const queryType: QueryType = query.queryType ?? DEFAULT_QUERY.queryType ?? 'topTalkers';

  const update = (changes: Partial<FlowsQuery>, run = true) => {
    onChange({ ...query, ...changes });
    if (run) {
      onRunQuery();
    }
  };

  // Switching type keeps filters and unknown fields, and resets the fields the new type uses to
  // its defaults (`limit` means different things to different types).
  const onQueryTypeChange = (value: QueryType) => {
    if (value !== queryType) {
      update({ ...DEFAULT_QUERIES[value], queryType: value });
    }
  };

  const onLimitChange = (event: ChangeEvent<HTMLInputElement>) => {
    const text = event.target.value.trim();
    update({ limit: text === '' ? undefined : /^\d+$/.test(text) ? Number(text) : text }, false);
  };

  return (
    <Stack direction="column" gap={1}>
      <InlineFieldRow>
        <InlineField label="Query type" labelWidth={LABEL_WIDTH}>
          <RadioButtonGroup
            aria-label="Query type"
            options={queryTypeOptions(app, queryType)}
            value={queryType}
            onChange={onQueryTypeChange}
          />
        </InlineField>
      </InlineFieldRow>

      {queryType === 'topTalkers' && (
        <InlineFieldRow>
          <InlineField
            label="Talkers"
            labelWidth={LABEL_WIDTH}
            tooltip="What a row is: a source, a destination or a pair"
          >
            <RadioButtonGroup
              aria-label="Talkers"
              options={DIM_OPTIONS}
              value={query.dim ?? DEFAULT_TOP_TALKERS_QUERY.dim}
              onChange={(dim) => update({ dim })}
            />
          </InlineField>
          <InlineField label="Ranked by" labelWidth={LABEL_WIDTH}>
            <RadioButtonGroup
              aria-label="Ranked by"
              options={BY_OPTIONS}
              value={query.by ?? DEFAULT_TOP_TALKERS_QUERY.by}
              onChange={(by) => update({ by })}
            />
          </InlineField>
          <InlineField label="Limit" labelWidth={LABEL_WIDTH} tooltip="Talkers returned (a number or a $variable)">
            <Input
              id={`query-editor-limit-${query.refId}`}
              value={query.limit ?? ''}
              placeholder={String(DEFAULT_TOP_TALKERS_QUERY.limit)}
              width={12}
              onChange={onLimitChange}
              onBlur={onRunQuery}
            />
          </InlineField>
        </InlineFieldRow>
      )}
    </Stack>
  );
}
