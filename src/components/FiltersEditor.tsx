import React from 'react';
import { Combobox, ComboboxOption, InlineField, InlineFieldRow } from '@grafana/ui';

import { offers, SourceCapabilities } from '../capabilities';
import { COMMON_PROTOCOLS, PROTOCOL_NAMES, parseProtocol } from '../protocols';
import { FilterField, FlowsQuery } from '../types';
import { QueryErrors } from '../validation';
import { BlurInput } from './BlurInput';
import { filterText, parseNumericFilter, parseTextFilter } from './values';

// 16, not 14: "Destination IP" and its tooltip icon wrap onto two lines at 14 in Grafana's font
// (seen in the editor playground's screenshots; jsdom has no layout).
export const FILTER_LABEL_WIDTH = 16;

const PROTOCOL_OPTIONS: Array<ComboboxOption<string>> = COMMON_PROTOCOLS.map((n) => ({
  label: PROTOCOL_NAMES[n],
  value: PROTOCOL_NAMES[n].toLowerCase(),
  description: `IANA protocol ${n}`,
}));

/** The option shown for a saved protocol filter: a known protocol by name, anything else as typed. */
function protocolOption(value: FlowsQuery['protocol']): ComboboxOption<string> | null {
  const text = filterText(value);
  if (text === '') {
    return null;
  }
  if (!Array.isArray(value)) {
    const n = parseProtocol(String(value));
    const known = n === undefined ? undefined : PROTOCOL_OPTIONS.find((o) => parseProtocol(o.value) === n);
    if (known) {
      return known;
    }
  }
  return { label: text, value: text };
}

interface Props {
  query: FlowsQuery;
  errors: QueryErrors;
  /** Sets filter fields; `run` is true for a finished change (always, for filters). */
  onChange: (changes: Partial<FlowsQuery>) => void;
  /** What the source can filter by; undefined (unknown): every filter. */
  capabilities?: SourceCapabilities;
}

const IP_FIELDS: Array<{
  field: Extract<FilterField, 'srcIp' | 'dstIp' | 'exporter'>;
  label: string;
  tooltip: string;
}> = [
  {
    field: 'srcIp',
    label: 'Source IP',
    tooltip:
      'Only flows from this address (IPv4 or IPv6). Several: separate with commas, or use a multi-value $variable.',
  },
  {
    field: 'dstIp',
    label: 'Destination IP',
    tooltip:
      'Only flows to this address (IPv4 or IPv6). Several: separate with commas, or use a multi-value $variable.',
  },
  {
    field: 'exporter',
    label: 'Exporter',
    tooltip: 'Only flows reported by this exporter (router or probe address).',
  },
];

/**
 * The filters every query type takes: source and destination IP, port, protocol, exporter, as
 * far as the source can filter by them (a filter holding a value is always shown, so it can be
 * cleared).
 */
export function FiltersEditor({ query, errors, onChange, capabilities }: Props) {
  const shown = (field: FilterField) => filterText(query[field]) !== '' || offers(capabilities, 'filters', field);
  const ipField = ({ field, label, tooltip }: (typeof IP_FIELDS)[number]) =>
    shown(field) && (
      <InlineField
        key={field}
        label={label}
        labelWidth={FILTER_LABEL_WIDTH}
        tooltip={tooltip}
        invalid={Boolean(errors[field])}
        error={errors[field]}
      >
        <BlurInput
          id={`flows-${field}-${query.refId}`}
          value={filterText(query[field])}
          placeholder="any"
          width={24}
          onCommit={(text) => onChange({ [field]: parseTextFilter(text) })}
        />
      </InlineField>
    );

  return (
    <>
      <InlineFieldRow>
        {ipField(IP_FIELDS[0])}
        {ipField(IP_FIELDS[1])}
      </InlineFieldRow>
      <InlineFieldRow>
        {shown('port') && (
          <InlineField
            label="Port"
            labelWidth={FILTER_LABEL_WIDTH}
            tooltip="Only flows with this source or destination port, 0 to 65535, or a $variable."
            invalid={Boolean(errors.port)}
            error={errors.port}
          >
            <BlurInput
              id={`flows-port-${query.refId}`}
              value={filterText(query.port)}
              placeholder="any"
              width={12}
              onCommit={(text) => onChange({ port: parseNumericFilter(text) })}
            />
          </InlineField>
        )}
        {shown('protocol') && (
          <InlineField
            label="Protocol"
            labelWidth={FILTER_LABEL_WIDTH}
            tooltip="Pick a protocol, or type an IANA number (0 to 255) or a $variable."
            invalid={Boolean(errors.protocol)}
            error={errors.protocol}
          >
            <Combobox<string>
              id={`flows-protocol-${query.refId}`}
              options={PROTOCOL_OPTIONS}
              value={protocolOption(query.protocol)}
              placeholder="any"
              width={20}
              createCustomValue
              customValueDescription="Use this protocol number or variable"
              isClearable
              onChange={(option) => onChange({ protocol: option ? parseNumericFilter(option.value) : undefined })}
            />
          </InlineField>
        )}
        {ipField(IP_FIELDS[2])}
      </InlineFieldRow>
    </>
  );
}
