import React, { ChangeEvent } from 'react';
import { DataSourcePluginOptionsEditorProps } from '@grafana/data';
import { InlineField, Input, SecretInput } from '@grafana/ui';

import { FlowsDataSourceOptions, FlowsSecureJsonData } from '../../types';

export type SourceFieldsProps = DataSourcePluginOptionsEditorProps<FlowsDataSourceOptions, FlowsSecureJsonData>;

export const LABEL_WIDTH = 24;
export const INPUT_WIDTH = 40;

type TextKey = {
  [K in keyof FlowsDataSourceOptions]-?: FlowsDataSourceOptions[K] extends string | undefined ? K : never;
}[keyof FlowsDataSourceOptions];

interface TextFieldProps extends SourceFieldsProps {
  field: TextKey;
  label: string;
  tooltip: string;
  placeholder?: string;
}

/** A jsonData text setting: trimmed on save, empty removes it. */
export function TextField({ options, onOptionsChange, field, label, tooltip, placeholder }: TextFieldProps) {
  const id = `config-editor-${field}`;
  const onChange = (event: ChangeEvent<HTMLInputElement>) => {
    const value = event.target.value.trim();
    onOptionsChange({ ...options, jsonData: { ...options.jsonData, [field]: value === '' ? undefined : value } });
  };
  return (
    <InlineField label={label} htmlFor={id} labelWidth={LABEL_WIDTH} interactive tooltip={tooltip}>
      <Input
        id={id}
        value={(options.jsonData[field] as string | undefined) ?? ''}
        placeholder={placeholder}
        width={INPUT_WIDTH}
        onChange={onChange}
      />
    </InlineField>
  );
}

interface SecretFieldProps extends SourceFieldsProps {
  field: keyof FlowsSecureJsonData;
  label: string;
  tooltip: string;
  placeholder?: string;
}

/**
 * A secret: it goes to secureJsonData only (Grafana encrypts it and never sends it back; the
 * editor only learns that it is configured).
 */
export function SecretField({ options, onOptionsChange, field, label, tooltip, placeholder }: SecretFieldProps) {
  const id = `config-editor-${field}`;
  const onChange = (event: ChangeEvent<HTMLInputElement>) => {
    onOptionsChange({ ...options, secureJsonData: { ...options.secureJsonData, [field]: event.target.value } });
  };
  const onReset = () => {
    onOptionsChange({
      ...options,
      secureJsonFields: { ...options.secureJsonFields, [field]: false },
      secureJsonData: { ...options.secureJsonData, [field]: '' },
    });
  };
  return (
    <InlineField label={label} htmlFor={id} labelWidth={LABEL_WIDTH} interactive tooltip={tooltip}>
      <SecretInput
        id={id}
        isConfigured={Boolean(options.secureJsonFields?.[field])}
        value={options.secureJsonData?.[field] ?? ''}
        placeholder={placeholder}
        width={INPUT_WIDTH}
        onReset={onReset}
        onChange={onChange}
      />
    </InlineField>
  );
}
