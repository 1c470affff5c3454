import React from 'react';

import { AwsConfigSectionProps, AwsSettings } from './AwsSettings';
import { SettingsProps } from './fields';

/**
 * AWS VPC flow logs: the connection (@grafana/aws-sdk's ConnectionConfig, as Grafana's own AWS
 * data sources show it: credentials chain, keys, profile, assume role and external ID, default
 * region, endpoint) and the regions whose flow logs the data source reads.
 */
export function AwsFlowLogsSettings(props: SettingsProps) {
  // The plugin's jsonData holds the AWS keys under the same names (authType is a plain string
  // there, shared with Calico), so the AWS editor's props are the same object, typed as it wants.
  const awsProps = props as unknown as AwsConfigSectionProps;
  return <AwsSettings {...awsProps} />;
}
