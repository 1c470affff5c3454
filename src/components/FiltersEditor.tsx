import React from 'react';
import { ComboboxOption, InlineField, InlineFieldRow, MultiCombobox, TagsInput } from '@grafana/ui';

import { offers, SourceCapabilities } from '../capabilities';
import { PROTOCOLS, parseProtocol } from '../protocols';
import { FilterField, FlowsQuery } from '../types';
import { QueryErrors } from '../validation';
import { filterValues, numericFilter, textFilter } from './values';

// 16, not 14: "Destination IP" and its tooltip icon wrap onto two lines at 14 in Grafana's font
// (seen in the editor playground's screenshots; jsdom has no layout).
export const FILTER_LABEL_WIDTH = 16;

const PROTOCOL_OPTIONS: Array<ComboboxOption<string>> = PROTOCOLS.map((p) => ({
  label: p.name,
  value: p.names[0],
  description: `IANA protocol ${p.number}`,
}));

/** The chips of a saved protocol filter: known protocols by name (a saved 6 is TCP), the rest as typed. */
function protocolOptions(value: FlowsQuery['protocol']): Array<ComboboxOption<string>> {
  return filterValues(value).map((text) => {
    const n = parseProtocol(text);
    const known = n === undefined ? undefined : PROTOCOL_OPTIONS.find((o) => parseProtocol(o.value) === n);
    return known ?? { label: text, value: text };
  });
}

interface Props {
  query: FlowsQuery;
  errors: QueryErrors;
  /** Sets filter fields; `run` is true for a finished change (always, for filters). */
  onChange: (changes: Partial<FlowsQuery>) => void;
  /** What the source can filter by; undefined (unknown): every filter. */
  capabilities?: SourceCapabilities;
}

const SEVERAL = 'Several: add each (Enter, or leave the field), or use a multi-value $variable.';

const TAG_FIELDS: Array<{
  field: Extract<FilterField, 'srcIp' | 'dstIp' | 'exporter' | 'port'>;
  label: string;
  tooltip: string;
  width: number;
}> = [
  { field: 'srcIp', label: 'Source IP', tooltip: `Only flows from this address (IPv4 or IPv6). ${SEVERAL}`, width: 24 },
  {
    field: 'dstIp',
    label: 'Destination IP',
    tooltip: `Only flows to this address (IPv4 or IPv6). ${SEVERAL}`,
    width: 24,
  },
  {
    field: 'port',
    label: 'Port',
    tooltip: `Only flows with this source or destination port, 0 to 65535. ${SEVERAL}`,
    width: 16,
  },
  {
    field: 'exporter',
    label: 'Exporter',
    tooltip: `Only flows reported by this exporter (router or probe address). ${SEVERAL}`,
    width: 24,
  },
];

/**
 * The filters every query type takes: source and destination IP, port, protocol, exporter, as
 * far as the source can filter by them (a filter holding a value is always shown, so it can be
 * cleared). Each holds several values as tags (protocol: picked or typed), saved as one value
 * or a list, as the query model always had them.
 */
export function FiltersEditor({ query, errors, onChange, capabilities }: Props) {
  const shown = (field: FilterField) => filterValues(query[field]).length > 0 || offers(capabilities, 'filters', field);
  const tagField = ({ field, label, tooltip, width }: (typeof TAG_FIELDS)[number]) => {
    const values = filterValues(query[field]);
    return (
      shown(field) && (
        <InlineField
          key={field}
          label={label}
          labelWidth={FILTER_LABEL_WIDTH}
          tooltip={tooltip}
          invalid={Boolean(errors[field])}
          error={errors[field]}
        >
          <TagsInput
            id={`flows-${field}-${query.refId}`}
            tags={values}
            placeholder={values.length === 0 ? 'any' : 'add another'}
            width={width}
            addOnBlur
            autoColors={false}
            invalid={Boolean(errors[field])}
            onChange={(tags) => onChange({ [field]: field === 'port' ? numericFilter(tags) : textFilter(tags) })}
          />
        </InlineField>
      )
    );
  };

  return (
    <>
      <InlineFieldRow>
        {tagField(TAG_FIELDS[0])}
        {tagField(TAG_FIELDS[1])}
      </InlineFieldRow>
      <InlineFieldRow>
        {tagField(TAG_FIELDS[2])}
        {shown('protocol') && (
          <InlineField
            label="Protocol"
            labelWidth={FILTER_LABEL_WIDTH}
            tooltip="Pick protocols, or type an IANA number (0 to 255) or a $variable."
            invalid={Boolean(errors.protocol)}
            error={errors.protocol}
          >
            <MultiCombobox<string>
              id={`flows-protocol-${query.refId}`}
              options={PROTOCOL_OPTIONS}
              value={protocolOptions(query.protocol)}
              placeholder="any"
              width="auto"
              minWidth={20}
              maxWidth={48}
              createCustomValue
              customValueDescription="Use this protocol number or variable"
              isClearable
              invalid={Boolean(errors.protocol)}
              onChange={(options) => onChange({ protocol: numericFilter(options.map((o) => o.value)) })}
            />
          </InlineField>
        )}
        {tagField(TAG_FIELDS[3])}
      </InlineFieldRow>
    </>
  );
}
