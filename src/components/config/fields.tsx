import React, { ChangeEvent } from 'react';
import { DataSourcePluginOptionsEditorProps } from '@grafana/data';
import { convertLegacyAuthProps } from '@grafana/plugin-ui';
import { InlineField, Input, SecretInput } from '@grafana/ui';

import { FlowsDataSourceOptions, FlowsSecureJsonData } from '../../types';

export type SettingsProps = DataSourcePluginOptionsEditorProps<FlowsDataSourceOptions, FlowsSecureJsonData>;

export const LABEL_WIDTH = 26;
export const INPUT_WIDTH = 40;

type SecretKey = keyof FlowsSecureJsonData;
type TextKey = {
  [K in keyof FlowsDataSourceOptions]-?: FlowsDataSourceOptions[K] extends string | undefined ? K : never;
}[keyof FlowsDataSourceOptions];

/** Sets a secret: it goes to secureJsonData only; Grafana encrypts it and never returns it. */
export function setSecret({ options, onOptionsChange }: SettingsProps, key: SecretKey, value: string) {
  onOptionsChange({ ...options, secureJsonData: { ...options.secureJsonData, [key]: value } });
}

/** Forgets a saved secret (the backend then no longer has it once saved). */
export function resetSecrets({ options, onOptionsChange }: SettingsProps, keys: SecretKey[]) {
  const fields = { ...options.secureJsonFields };
  const data = { ...options.secureJsonData };
  for (const k of keys) {
    fields[k] = false;
    data[k] = '';
  }
  onOptionsChange({ ...options, secureJsonFields: fields, secureJsonData: data });
}

interface SecretFieldProps {
  settings: SettingsProps;
  field: SecretKey;
  label: string;
  tooltip: string;
  placeholder?: string;
}

/** A secret: shown as "configured" once saved, never rendered back. */
export function SecretField({ settings, field, label, tooltip, placeholder }: SecretFieldProps) {
  const { secureJsonFields, secureJsonData } = settings.options;
  const id = `config-editor-${field}`;
  return (
    <InlineField label={label} htmlFor={id} labelWidth={LABEL_WIDTH} interactive tooltip={tooltip}>
      <SecretInput
        id={id}
        isConfigured={Boolean(secureJsonFields?.[field])}
        value={secureJsonData?.[field] ?? ''}
        placeholder={placeholder}
        width={INPUT_WIDTH}
        onReset={() => resetSecrets(settings, [field])}
        onChange={(e: ChangeEvent<HTMLInputElement>) => setSecret(settings, field, e.target.value)}
      />
    </InlineField>
  );
}

interface TextFieldProps {
  settings: SettingsProps;
  field: TextKey;
  label: string;
  tooltip: string;
  placeholder?: string;
}

/** A text setting in jsonData; empty is not stored (the backend's default applies). */
export function TextField({ settings, field, label, tooltip, placeholder }: TextFieldProps) {
  const { options, onOptionsChange } = settings;
  const id = `config-editor-${field}`;
  return (
    <InlineField label={label} htmlFor={id} labelWidth={LABEL_WIDTH} interactive tooltip={tooltip}>
      <Input
        id={id}
        value={(options.jsonData[field] as string | undefined) ?? ''}
        placeholder={placeholder}
        width={INPUT_WIDTH}
        onChange={(e: ChangeEvent<HTMLInputElement>) => {
          const value = e.target.value;
          onOptionsChange({ ...options, jsonData: { ...options.jsonData, [field]: value === '' ? undefined : value } });
        }}
      />
    </InlineField>
  );
}

/**
 * TLS (CA certificate, client certificate, skip verify) as Grafana's standard settings, which
 * the plugin SDK's HTTP client reads.
 */
export function tlsProps({ options, onOptionsChange }: SettingsProps) {
  const { TLS: tls } = convertLegacyAuthProps({ config: options, onChange: onOptionsChange });
  // switches that were never set are off (not "uncontrolled")
  return (
    tls && {
      ...tls,
      TLSClientAuth: { ...tls.TLSClientAuth, enabled: Boolean(tls.TLSClientAuth.enabled) },
      skipTLSVerification: { ...tls.skipTLSVerification, enabled: Boolean(tls.skipTLSVerification.enabled) },
    }
  );
}
