import React from 'react';
import { DataSourcePluginOptionsEditorProps } from '@grafana/data';
import {
  AwsAuthDataSourceJsonData,
  AwsAuthDataSourceSecureJsonData,
  ConnectionConfig,
  standardRegions,
} from '@grafana/aws-sdk';
import { ConfigSection } from '@grafana/plugin-ui';
import { ComboboxOption, InlineField, MultiCombobox } from '@grafana/ui';

/**
 * The AWS source's settings: grafana-aws-sdk's (authType, profile, keys, assume role, external
 * ID, default region, endpoint), which the backend reads in the same shape, and the regions
 * whose flow logs the data source covers.
 */
export interface AwsFlowLogsJsonData extends AwsAuthDataSourceJsonData {
  /** Regions of the inventory and the traffic queries; empty: the default region. */
  regions?: string[];
}

export type AwsConfigSectionProps = DataSourcePluginOptionsEditorProps<
  AwsFlowLogsJsonData,
  AwsAuthDataSourceSecureJsonData
>;

const regionOptions: Array<ComboboxOption<string>> = standardRegions.map((r) => ({ label: r, value: r }));

/**
 * Connection and regions of an `awsFlowLogs` data source: @grafana/aws-sdk's ConnectionConfig,
 * the same editor as Grafana's CloudWatch and Athena data sources, plus the region list.
 */
export function AwsSettings(props: AwsConfigSectionProps) {
  const { options, onOptionsChange } = props;
  const regions = options.jsonData.regions ?? [];

  const onRegionsChange = (selected: Array<ComboboxOption<string>>) => {
    const next = selected.map((s) => s.value).filter((v) => v !== '');
    onOptionsChange({ ...options, jsonData: { ...options.jsonData, regions: next } });
  };

  return (
    <>
      <ConnectionConfig {...props} standardRegions={standardRegions} />
      <ConfigSection
        title="Flow-log regions"
        description="The regions whose flow logs the inventory lists and traffic queries read. Empty: the default region."
      >
        <InlineField
          label="Regions"
          htmlFor="aws-flow-log-regions"
          labelWidth={28}
          interactive
          tooltip="Each region costs one ec2:DescribeFlowLogs call per query; traffic queries read the CloudWatch Logs log groups of the flow logs found there."
        >
          <MultiCombobox
            id="aws-flow-log-regions"
            aria-label="Flow-log regions"
            options={regionOptions}
            value={regions}
            createCustomValue
            placeholder={options.jsonData.defaultRegion || 'the default region'}
            onChange={onRegionsChange}
            width={40}
          />
        </InlineField>
      </ConfigSection>
    </>
  );
}
