import { ComponentType } from 'react';

import { FlowsDataSourceOptions, FlowsSecureJsonData, SourceType } from '../../types';
import { AwsFlowLogsSettings } from './AwsFlowLogsSettings';
import { CalicoSettings } from './CalicoSettings';
import { SettingsProps } from './fields';
import { FlowsApiSettings } from './FlowsApiSettings';
import { HuaweiCfwSettings } from './HuaweiCfwSettings';
import { TrustgridSettings } from './TrustgridSettings';

/** One flow-log system as the config editor shows it. */
export interface SourceSettings {
  value: SourceType;
  label: string;
  description: string;
  /** The settings of this source (URL, auth, its own fields). */
  Component: ComponentType<SettingsProps>;
  /** Its own jsonData keys: dropped when the user picks another source. */
  jsonDataKeys: Array<keyof FlowsDataSourceOptions>;
  /** Its secrets. */
  secureKeys: Array<keyof FlowsSecureJsonData>;
}

/** The sources, in the order the picker shows them. docs/sources.md describes each. */
export const SOURCES: SourceSettings[] = [
  {
    value: 'flowsapi',
    label: 'Flows API',
    description: 'The Flows API (/api/v1/flows, /top-talkers, /protocols)',
    Component: FlowsApiSettings,
    jsonDataKeys: [],
    secureKeys: ['apiToken'],
  },
  {
    value: 'trustgrid',
    label: 'Trustgrid',
    description: 'Trustgrid Management API flow logs (/v2/audit/flow-logs)',
    Component: TrustgridSettings,
    jsonDataKeys: ['trustgridClientId'],
    secureKeys: ['trustgridClientSecret', 'trustgridJwt'],
  },
  {
    value: 'huaweiCfw',
    label: 'Huawei Cloud Firewall',
    description: 'Huawei Cloud Firewall flow logs (ListFlowLogs)',
    Component: HuaweiCfwSettings,
    jsonDataKeys: ['cfwRegion', 'cfwProjectId', 'cfwFwInstanceId', 'cfwEnterpriseProjectId'],
    secureKeys: ['cfwAccessKey', 'cfwSecretKey', 'cfwIamToken'],
  },
  {
    value: 'calico',
    label: 'Calico (Elasticsearch)',
    description: 'Calico flow logs in Elasticsearch or OpenSearch',
    Component: CalicoSettings,
    jsonDataKeys: ['indexPattern', 'timeField', 'flushInterval', 'authType'],
    secureKeys: ['basicAuthPassword', 'apiKey', 'bearerToken'],
  },
  {
    value: 'awsFlowLogs',
    label: 'AWS VPC flow logs',
    description: 'AWS flow-log configurations and their records in CloudWatch Logs',
    Component: AwsFlowLogsSettings,
    jsonDataKeys: ['authType', 'profile', 'assumeRoleArn', 'externalId', 'defaultRegion', 'endpoint', 'regions'],
    secureKeys: ['accessKey', 'secretKey', 'sessionToken'],
  },
];
