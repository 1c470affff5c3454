import React from 'react';
import { CoreApp, QueryEditorProps, SelectableValue } from '@grafana/data';
import {
  Combobox,
  ComboboxOption,
  InlineField,
  InlineFieldRow,
  InlineSwitch,
  RadioButtonGroup,
  Stack,
  Text,
} from '@grafana/ui';

import { offers, SourceCapabilities, useCapabilities } from '../capabilities';
import { DataSource } from '../datasource';
import { isMigratable, migrateQuery, QUERY_MODEL_VERSION } from '../migrations';
import {
  DEFAULTS_BY_KIND,
  editorKind,
  EditorKind,
  FlowsDataSourceOptions,
  FlowsFormat,
  FlowsGroupBy,
  FlowsMetric,
  FlowsQuery,
  FlowsSort,
  FlowsUnit,
  SortOrder,
  TalkerBy,
  TalkerDim,
  withDefaults,
} from '../types';
import { isValidQuery, QueryErrors, validateQuery, ValidatedField } from '../validation';
import { BlurInput } from './BlurInput';
import { FILTER_LABEL_WIDTH, FiltersEditor } from './FiltersEditor';
import { FlowLogConfigsEditor } from './FlowLogConfigsEditor';
import { RequestsPreview } from './RequestsPreview';
import { parseNumber } from './values';

export type Props = QueryEditorProps<DataSource, FlowsQuery, FlowsDataSourceOptions>;

const LABEL_WIDTH = FILTER_LABEL_WIDTH;

const KIND_OPTIONS: Array<SelectableValue<EditorKind>> = [
  {
    label: 'Traffic over time',
    value: 'timeseries',
    description: 'Bits or packets per second, split by protocol, address, port or exporter',
  },
  { label: 'Top talkers', value: 'topTalkers', description: 'Sources, destinations or pairs ranked by traffic' },
  { label: 'Protocols', value: 'protocols', description: 'Traffic per protocol' },
  { label: 'Flows table', value: 'table', description: 'Raw flow records' },
  {
    label: 'Flow-log configurations',
    value: 'flowLogConfigs',
    description: 'AWS: which VPCs, subnets and interfaces have flow logs, and whether delivery works',
  },
];

/** Kinds only some sources have: offered once the capabilities say so, never while unknown. */
const SOURCE_OWN_KINDS: EditorKind[] = ['flowLogConfigs'];

const VARIABLE_VALUES_OPTION: SelectableValue<EditorKind> = {
  label: 'Variable values',
  value: 'variableValues',
  description: 'Values for a template variable',
};

const METRIC_OPTIONS: Array<SelectableValue<FlowsMetric>> = [
  { label: 'Bytes', value: 'bytes' },
  { label: 'Packets', value: 'packets' },
  { label: 'Flows', value: 'flows' },
];

const UNIT_OPTIONS: Array<SelectableValue<FlowsUnit>> = [
  { label: 'Rate', value: 'rate', description: 'Per second: bps, pps or flows/s' },
  { label: 'Total', value: 'total', description: 'Sum per time bucket' },
];

const GROUP_BY_OPTIONS: Array<ComboboxOption<FlowsGroupBy>> = [
  { label: 'None', value: 'none', description: 'One series: all traffic' },
  { label: 'Protocol', value: 'protocol' },
  { label: 'Source IP', value: 'src' },
  { label: 'Destination IP', value: 'dst' },
  { label: 'Pair', value: 'pair', description: 'Source → destination' },
  { label: 'Destination port', value: 'dstPort' },
  { label: 'Exporter', value: 'exporter' },
];

const DIM_OPTIONS: Array<SelectableValue<TalkerDim>> = [
  { label: 'Source', value: 'src' },
  { label: 'Destination', value: 'dst' },
  { label: 'Pair', value: 'pair' },
];

const BY_OPTIONS: Array<SelectableValue<TalkerBy>> = [
  { label: 'Bytes', value: 'bytes' },
  { label: 'Packets', value: 'packets' },
];

const SHOW_AS_OPTIONS: Array<SelectableValue<FlowsFormat>> = [
  { label: 'Table', value: 'table' },
  { label: 'Node graph', value: 'nodegraph', description: 'Who talks to whom, for the node graph panel' },
];

const SORT_OPTIONS: Array<SelectableValue<FlowsSort>> = [
  { label: 'Time', value: 'timestamp' },
  { label: 'Bytes', value: 'bytes' },
  { label: 'Packets', value: 'packets' },
];

const ORDER_OPTIONS: Array<SelectableValue<SortOrder>> = [
  { label: 'Descending', value: 'desc' },
  { label: 'Ascending', value: 'asc' },
];

/** The backend query type of each editor kind. */
const KIND_QUERY_TYPE: Record<EditorKind, string> = {
  timeseries: 'flows',
  table: 'flows',
  topTalkers: 'topTalkers',
  protocols: 'protocols',
  variableValues: 'variableValues',
  flowLogConfigs: 'flowLogConfigs',
};

/**
 * Whether the source answers an editor kind: the common kinds are offered while the
 * capabilities are unknown, a source's own kinds only once it names them.
 */
export function sourceAnswers(caps: SourceCapabilities | undefined, kind: EditorKind): boolean {
  if (!caps && SOURCE_OWN_KINDS.includes(kind)) {
    return false;
  }
  return offers(caps, 'queryTypes', KIND_QUERY_TYPE[kind]);
}

/**
 * Query types offered in this editor: those the source answers. Alert rules cannot use the
 * flows table, so the alerting UI does not offer it. The current type is always shown (with a
 * warning where it cannot run), so a saved query is never silently changed.
 */
export function kindOptions(
  app: CoreApp | undefined,
  current: EditorKind,
  caps?: SourceCapabilities
): Array<SelectableValue<EditorKind>> {
  let options = KIND_OPTIONS.filter((o) => o.value === current || sourceAnswers(caps, o.value!));
  if (app === CoreApp.UnifiedAlerting && current !== 'table') {
    options = options.filter((o) => o.value !== 'table');
  }
  if (current === 'variableValues') {
    options = [...options, VARIABLE_VALUES_OPTION];
  }
  return options;
}

/** The fields each kind shows (besides the filters); errors on other fields are listed apart. */
const SHOWN_FIELDS: Record<EditorKind, ValidatedField[]> = {
  timeseries: ['metric', 'unit', 'groupBy', 'topN'],
  topTalkers: ['dim', 'by', 'limit'],
  protocols: [],
  table: ['sort', 'order', 'limit'],
  variableValues: ['limit'],
  flowLogConfigs: [],
};
const FILTER_FIELDS_SHOWN: ValidatedField[] = ['srcIp', 'dstIp', 'port', 'protocol', 'exporter'];

/**
 * Options the source offers, from one of its capability lists; the current value stays, so a
 * saved query shows what it holds (the backend names what the source lacks).
 */
function offered<T extends string>(
  options: Array<SelectableValue<T>>,
  caps: SourceCapabilities | undefined,
  list: keyof SourceCapabilities,
  current: T | undefined
): Array<SelectableValue<T>> {
  return options.filter((o) => o.value === current || offers(caps, list, o.value!));
}

/** Group-bys the source offers, its own dimensions included. */
function groupByOptions(
  caps: SourceCapabilities | undefined,
  current: string | undefined
): Array<ComboboxOption<string>> {
  const base: Array<ComboboxOption<string>> = GROUP_BY_OPTIONS.filter(
    (o) => o.value === current || offers(caps, 'groupBys', o.value)
  );
  for (const d of caps?.dimensions ?? []) {
    if (d.groupBy && !base.some((o) => o.value === d.key)) {
      base.push({ label: d.display, value: d.key, description: `${caps!.name}: label ${d.label}` });
    }
  }
  return base;
}

export function QueryEditor({ query: saved, onChange, onRunQuery, app, datasource, range, data }: Props) {
  const caps = useCapabilities(datasource);
  // saved queries of older model versions are edited (and saved again) in the current one
  const query = migrateQuery(saved);
  const kind = editorKind(query);
  // shown with the defaults of its kind; saved with them on the first change
  const shown = withDefaults(query);
  const errors: QueryErrors = validateQuery(query);

  /**
   * Changes the query. Finished changes (a pick, a switch, a blurred input) run it, unless a
   * field is invalid: the inline error says why, and the query runs once it is fixed.
   */
  const update = (changes: Partial<FlowsQuery>) => {
    const next = { ...withDefaults(query), ...changes };
    onChange(next);
    if (isValidQuery(next)) {
      onRunQuery();
    }
  };

  // Switching type keeps the filters and unknown fields, and sets the fields the new type uses
  // to its defaults (`limit` means different things to different types).
  const onKindChange = (value: EditorKind) => {
    if (value !== kind) {
      update({ ...DEFAULTS_BY_KIND[value] });
    }
  };

  const hiddenErrors = Object.entries(errors).flatMap(([field, msg]) =>
    msg && ![...SHOWN_FIELDS[kind], ...FILTER_FIELDS_SHOWN].includes(field as ValidatedField) ? [msg] : []
  );

  const numberField = (field: 'limit' | 'topN', label: string, tooltip: string) => (
    <InlineField
      label={label}
      labelWidth={LABEL_WIDTH}
      tooltip={tooltip}
      invalid={Boolean(errors[field])}
      error={errors[field]}
    >
      <BlurInput
        id={`flows-${field}-${query.refId}`}
        value={String(shown[field] ?? '')}
        width={12}
        onCommit={(text) => update({ [field]: parseNumber(text) })}
      />
    </InlineField>
  );

  return (
    <Stack direction="column" gap={1}>
      <InlineFieldRow>
        <InlineField label="Query type" labelWidth={LABEL_WIDTH}>
          <RadioButtonGroup
            aria-label="Query type"
            options={kindOptions(app, kind, caps)}
            value={kind}
            onChange={onKindChange}
          />
        </InlineField>
      </InlineFieldRow>

      {caps && !sourceAnswers(caps, kind) && (
        <Text color="warning">
          {`The ${caps.name} source cannot answer this query type: choose one of the types offered.`}
        </Text>
      )}

      {!isMigratable(saved) && (
        <Text color="warning">
          {`This query was saved in query model version ${String(saved.version)}, which this plugin (version ${QUERY_MODEL_VERSION}) does not read: update the plugin, or change the query here to save it in version ${QUERY_MODEL_VERSION}.`}
        </Text>
      )}

      {app === CoreApp.UnifiedAlerting && kind === 'table' && (
        <Text color="warning">The flows table cannot be used in alert rules: choose another query type.</Text>
      )}

      {kind === 'timeseries' && (
        <InlineFieldRow>
          <InlineField label="Metric" labelWidth={LABEL_WIDTH}>
            <RadioButtonGroup
              aria-label="Metric"
              options={offered(METRIC_OPTIONS, caps, 'metrics', shown.metric)}
              value={shown.metric}
              onChange={(metric) => update({ metric })}
            />
          </InlineField>
          <InlineField label="Unit" tooltip="Rate: per second (bps, pps, flows/s). Total: sum per time bucket.">
            <RadioButtonGroup
              aria-label="Unit"
              options={UNIT_OPTIONS}
              value={shown.unit}
              onChange={(unit) => update({ unit })}
            />
          </InlineField>
          <InlineField label="Group by" tooltip="One series per protocol, address, pair, port or exporter">
            <Combobox<string>
              id={`flows-groupBy-${query.refId}`}
              options={groupByOptions(caps, shown.groupBy)}
              value={shown.groupBy}
              width={22}
              onChange={(option) => update({ groupBy: option.value as FlowsGroupBy })}
            />
          </InlineField>
          {shown.groupBy !== 'none' && (
            <>
              {numberField('topN', 'Top N', 'Series kept, ranked over the whole range (a number or a $variable)')}
              <InlineField
                label="Other"
                tooltip='Add an "Other" series holding the rest, so the series add up to the total'
              >
                <InlineSwitch
                  id={`flows-other-${query.refId}`}
                  value={shown.other !== false}
                  onChange={(e) => update({ other: e.currentTarget.checked })}
                />
              </InlineField>
            </>
          )}
        </InlineFieldRow>
      )}

      {kind === 'topTalkers' && (
        <InlineFieldRow>
          <InlineField
            label="Talkers"
            labelWidth={LABEL_WIDTH}
            tooltip="What a row is: a source, a destination or a pair"
          >
            <RadioButtonGroup
              aria-label="Talkers"
              options={offered(DIM_OPTIONS, caps, 'talkerDims', shown.dim)}
              value={shown.dim}
              // a node graph needs pairs: leaving pairs goes back to the table
              onChange={(dim) =>
                update(dim !== 'pair' && query.format === 'nodegraph' ? { dim, format: 'table' } : { dim })
              }
            />
          </InlineField>
          {shown.dim === 'pair' && (
            <InlineField label="Show as" tooltip="A table of pairs, or a node graph of who talks to whom">
              <RadioButtonGroup<FlowsFormat>
                aria-label="Show as"
                options={SHOW_AS_OPTIONS}
                value={shown.format === 'nodegraph' ? 'nodegraph' : 'table'}
                onChange={(format) => update({ format })}
              />
            </InlineField>
          )}
          <InlineField label="Ranked by">
            <RadioButtonGroup
              aria-label="Ranked by"
              options={offered(BY_OPTIONS, caps, 'metrics', shown.by)}
              value={shown.by}
              onChange={(by) => update({ by })}
            />
          </InlineField>
          {numberField('limit', 'Limit', 'Talkers returned (a number or a $variable)')}
        </InlineFieldRow>
      )}

      {kind === 'table' && (
        <InlineFieldRow>
          <InlineField label="Sort by" labelWidth={LABEL_WIDTH}>
            <RadioButtonGroup
              aria-label="Sort by"
              options={offered(SORT_OPTIONS, caps, 'sortFields', shown.sort)}
              value={shown.sort}
              onChange={(sort) => update({ sort })}
            />
          </InlineField>
          <InlineField label="Order">
            <RadioButtonGroup
              aria-label="Order"
              options={ORDER_OPTIONS}
              value={shown.order}
              onChange={(order) => update({ order })}
            />
          </InlineField>
          {numberField('limit', 'Rows', 'Flow records returned (a number or a $variable)')}
        </InlineFieldRow>
      )}

      {kind === 'variableValues' && (
        <InlineFieldRow>{numberField('limit', 'Limit', 'Values returned (a number or a $variable)')}</InlineFieldRow>
      )}

      {kind === 'flowLogConfigs' ? (
        <FlowLogConfigsEditor query={shown} regions={datasource?.regions ?? []} onChange={update} />
      ) : (
        <FiltersEditor query={query} errors={errors} onChange={update} capabilities={caps} />
      )}

      {hiddenErrors.map((msg) => (
        <Text key={msg} color="error">
          {msg}
        </Text>
      ))}

      <RequestsPreview datasource={datasource} query={query} range={range} data={data} />
    </Stack>
  );
}
