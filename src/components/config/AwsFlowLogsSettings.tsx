import React from 'react';
import { ConfigSection } from '@grafana/plugin-ui';
import { Text } from '@grafana/ui';

import { SettingsProps } from './fields';

/**
 * AWS VPC flow logs. Placeholder: the AWS source's connection settings (credentials chain,
 * keys, assume role, region, endpoint) come from @grafana/aws-sdk's editor (issue 13).
 */
export function AwsFlowLogsSettings(_: SettingsProps) {
  return (
    <ConfigSection title="AWS connection">
      <Text color="secondary">
        AWS authentication and regions are configured here once the AWS source is available.
      </Text>
    </ConfigSection>
  );
}
