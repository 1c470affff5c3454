import React from 'react';
import { SelectableValue } from '@grafana/data';
import {
  ComboboxOption,
  InlineField,
  InlineFieldRow,
  MultiCombobox,
  RadioButtonGroup,
  Stack,
  TagsInput,
} from '@grafana/ui';

import { FilterValue, FlowsFormat, FlowsQuery } from '../types';
import { FILTER_LABEL_WIDTH } from './FiltersEditor';

/** The AWS source's own query: the inventory of flow-log configurations (docs/query-model.md). */
export interface FlowLogConfigsEditorProps {
  query: FlowsQuery;
  /** The data source's regions (its settings): what the query reads when it names none. */
  regions: string[];
  onChange: (changes: Partial<FlowsQuery>) => void;
}

type ListField = 'regions' | 'resourceId' | 'trafficType' | 'destinationType' | 'deliverLogsStatus' | 'tags';

// The values DescribeFlowLogs reports; the backend refuses others, naming the field.
const TRAFFIC_TYPES = ['ACCEPT', 'REJECT', 'ALL'];
const DESTINATION_TYPES = ['cloud-watch-logs', 's3', 'kinesis-data-firehose'];
const DELIVERY_STATUSES = ['SUCCESS', 'FAILED'];

const FORMAT_OPTIONS: Array<SelectableValue<FlowsFormat>> = [
  { label: 'Table', value: 'table', description: 'Every field of each flow log' },
  {
    label: 'Alert form',
    value: 'alert',
    description: 'One number per flow log: 1 when its delivery fails (alert rules always get this)',
  },
];

/** A saved list field as a list: a single value (e.g. a `$variable`) is a list of one. */
export function asList(value: FilterValue | undefined): string[] {
  if (Array.isArray(value)) {
    return value;
  }
  return value ? [value] : [];
}

function options(values: string[]): Array<ComboboxOption<string>> {
  return values.map((v) => ({ label: v, value: v }));
}

export function FlowLogConfigsEditor({ query, regions, onChange }: FlowLogConfigsEditorProps) {
  const list = (field: ListField) => asList(query[field]);
  const set = (field: ListField, values: string[]) => onChange({ [field]: values });

  // A value the query holds stays offered, so a saved query shows what it holds.
  const picker = (field: ListField, label: string, known: string[], tooltip: string, custom = false) => {
    const current = list(field);
    const all = [...known, ...current.filter((v) => !known.includes(v))];
    return (
      <InlineField label={label} labelWidth={FILTER_LABEL_WIDTH} tooltip={tooltip}>
        <MultiCombobox<string>
          id={`flows-${field}-${query.refId}`}
          options={options(all)}
          value={current}
          width="auto"
          minWidth={22}
          placeholder="Any"
          createCustomValue={custom}
          onChange={(picked) =>
            set(
              field,
              picked.map((o) => o.value)
            )
          }
        />
      </InlineField>
    );
  };

  const tags = (field: ListField, label: string, placeholder: string, tooltip: string) => (
    <InlineField label={label} labelWidth={FILTER_LABEL_WIDTH} tooltip={tooltip}>
      <TagsInput
        id={`flows-${field}-${query.refId}`}
        tags={list(field)}
        placeholder={placeholder}
        addOnBlur
        onChange={(values) => set(field, values)}
      />
    </InlineField>
  );

  return (
    <Stack direction="column" gap={0}>
      <InlineFieldRow>
        <InlineField label="Show as" labelWidth={FILTER_LABEL_WIDTH}>
          <RadioButtonGroup<FlowsFormat>
            aria-label="Show as"
            options={FORMAT_OPTIONS}
            value={query.format === 'alert' ? 'alert' : 'table'}
            onChange={(format) => onChange({ format })}
          />
        </InlineField>
      </InlineFieldRow>
      <InlineFieldRow>
        {picker(
          'regions',
          'Regions',
          regions,
          "Regions to list; none: the data source's regions. Type a region name to add another.",
          true
        )}
        {picker(
          'deliverLogsStatus',
          'Delivery',
          DELIVERY_STATUSES,
          'Only flow logs whose delivery status is one of these'
        )}
      </InlineFieldRow>
      <InlineFieldRow>
        {picker('trafficType', 'Traffic type', TRAFFIC_TYPES, 'Only flow logs that capture this traffic')}
        {picker('destinationType', 'Destination', DESTINATION_TYPES, 'Only flow logs that deliver there')}
      </InlineFieldRow>
      <InlineFieldRow>
        {tags(
          'resourceId',
          'Resources',
          'vpc-…, subnet-…, eni-…',
          'Only flow logs of these VPCs, subnets or interfaces'
        )}
        {tags('tags', 'Tags', 'key=value or key', 'Only flow logs carrying every one of these tags')}
      </InlineFieldRow>
    </Stack>
  );
}
