import React from 'react';
import { QueryEditorProps, SelectableValue } from '@grafana/data';
import { InlineField, InlineFieldRow, RadioButtonGroup, Stack } from '@grafana/ui';

import { offers, useCapabilities } from '../capabilities';
import type { DataSource } from '../datasource';
import { migrateQuery } from '../migrations';
import { DEFAULT_VARIABLE_QUERY, FlowsDataSourceOptions, FlowsQuery, VariableKind, withDefaults } from '../types';
import { isValidQuery, validateQuery } from '../validation';
import { BlurInput } from './BlurInput';
import { FILTER_LABEL_WIDTH, FiltersEditor } from './FiltersEditor';
import { parseNumber } from './values';

export type VariableEditorProps = QueryEditorProps<DataSource, FlowsQuery, FlowsDataSourceOptions, FlowsQuery>;

const VARIABLE_OPTIONS: Array<SelectableValue<VariableKind>> = [
  { label: 'Source IPs', value: 'srcIp', description: 'The busiest sources of the time range' },
  { label: 'Destination IPs', value: 'dstIp', description: 'The busiest destinations of the time range' },
  { label: 'Protocols', value: 'protocol' },
  { label: 'Ports', value: 'port', description: 'Destination ports of the largest flows' },
  { label: 'Exporters', value: 'exporter' },
];

/**
 * The editor of a template variable's query: which values (source IPs, destination IPs,
 * protocols, ports or exporters), how many at most, and optional filters (e.g. destinations of
 * $src). Values come from the backend for the dashboard's time range.
 */
export function VariableQueryEditor({ query, onChange, onRunQuery, datasource }: VariableEditorProps) {
  const caps = useCapabilities(datasource);
  // a variable saved by something else may hold a bare string: start from the defaults then
  const saved: Partial<FlowsQuery> = query && typeof query === 'object' ? query : {};
  const base: FlowsQuery = withDefaults(
    migrateQuery({
      ...DEFAULT_VARIABLE_QUERY,
      ...saved,
      refId: saved.refId || 'variable',
      queryType: 'variableValues',
    })
  );
  const errors = validateQuery(base);

  const update = (changes: Partial<FlowsQuery>) => {
    const next = { ...base, ...changes };
    onChange(next);
    if (isValidQuery(next)) {
      onRunQuery?.();
    }
  };

  return (
    <Stack direction="column" gap={1}>
      <InlineFieldRow>
        <InlineField label="Values" labelWidth={FILTER_LABEL_WIDTH}>
          <RadioButtonGroup
            aria-label="Values"
            options={VARIABLE_OPTIONS.filter((o) => o.value === base.variable || offers(caps, 'variables', o.value!))}
            value={base.variable}
            onChange={(variable) => update({ variable })}
          />
        </InlineField>
        <InlineField
          label="Limit"
          tooltip="Most values listed, busiest first (a number or a $variable)"
          invalid={Boolean(errors.limit)}
          error={errors.limit}
        >
          <BlurInput
            id={`flows-variable-limit-${base.refId}`}
            value={String(base.limit ?? '')}
            width={12}
            onCommit={(text) => update({ limit: parseNumber(text) })}
          />
        </InlineField>
      </InlineFieldRow>
      <FiltersEditor query={base} errors={errors} onChange={update} capabilities={caps} />
    </Stack>
  );
}
