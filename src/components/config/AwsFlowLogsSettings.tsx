import React from 'react';

import { AwsConfigSection, AwsConfigSectionProps } from './AwsSettings';
import { SettingsProps } from './fields';

/**
 * AWS VPC flow logs: @grafana/aws-sdk's connection settings and the regions (AwsSettings.tsx).
 * The AWS settings live in the same jsonData and secureJsonData, in grafana-aws-sdk's shape.
 */
export function AwsFlowLogsSettings(props: SettingsProps) {
  return <AwsConfigSection {...(props as unknown as AwsConfigSectionProps)} />;
}
