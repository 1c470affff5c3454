import React from 'react';
import { ConfigSection } from '@grafana/plugin-ui';
import { Alert, Stack } from '@grafana/ui';

import { SecretField, SourceFieldsProps, TextField } from './SourceFields';

/** The data source URL of a Huawei CFW data source overrides the region's endpoint. */
export const HUAWEI_CFW_URL_PLACEHOLDER = 'https://cfw.cn-north-4.myhuaweicloud.com';
export const HUAWEI_CFW_URL_TOOLTIP =
  "Optional: the Cloud Firewall endpoint. Empty: the region's endpoint from the Huawei Cloud SDK (cfw.<region>.myhuaweicloud.com).";

/**
 * Huawei Cloud Firewall: where the firewall is (region or endpoint, project, instance) and how
 * to authenticate (an access key pair, which signs requests, or an IAM token).
 */
export function HuaweiCfwSettings(props: SourceFieldsProps) {
  const { jsonData, secureJsonFields, secureJsonData, url } = props.options;
  const has = (k: 'cfwAccessKey' | 'cfwSecretKey' | 'cfwIamToken') =>
    Boolean(secureJsonFields?.[k] || secureJsonData?.[k]);
  const halfKeyPair = has('cfwAccessKey') !== has('cfwSecretKey');
  const noPlace = !jsonData.cfwRegion && !url;
  return (
    <Stack direction="column" gap={2}>
      <ConfigSection title="Firewall" description="The Cloud Firewall instance whose flow logs this data source reads.">
        <Stack direction="column" gap={0}>
          <TextField
            {...props}
            field="cfwRegion"
            label="Region"
            tooltip="Region ID such as cn-north-4 or ap-southeast-1. Picks the endpoint unless the URL above sets one."
            placeholder="cn-north-4"
          />
          <TextField
            {...props}
            field="cfwProjectId"
            label="Project ID"
            tooltip="The project ID of the region (My Credentials → Projects)."
            placeholder="project ID"
          />
          <TextField
            {...props}
            field="cfwFwInstanceId"
            label="Firewall instance ID"
            tooltip="fw_instance_id: the ID of the Cloud Firewall instance (console, or the firewall list API)."
            placeholder="fw_instance_id"
          />
          <TextField
            {...props}
            field="cfwEnterpriseProjectId"
            label="Enterprise project ID"
            tooltip="Optional: enterprise_project_id, when enterprise projects are enabled."
            placeholder="optional"
          />
          {noPlace && (
            <Alert severity="info" title="Set a region or an endpoint">
              Requests go to the region&apos;s endpoint, or to the URL above when it is set.
            </Alert>
          )}
        </Stack>
      </ConfigSection>
      <ConfigSection
        title="Huawei Cloud authentication"
        description="An access key pair (requests are signed, SDK-HMAC-SHA256), or an IAM user token (X-Auth-Token). The key pair wins when both are set."
      >
        <Stack direction="column" gap={0}>
          <SecretField
            {...props}
            field="cfwAccessKey"
            label="Access key (AK)"
            tooltip="Access key ID. Stored encrypted."
            placeholder="AK"
          />
          <SecretField
            {...props}
            field="cfwSecretKey"
            label="Secret key (SK)"
            tooltip="Secret access key; signs each request and is never sent. Stored encrypted."
            placeholder="SK"
          />
          <SecretField
            {...props}
            field="cfwIamToken"
            label="IAM token"
            tooltip="Instead of a key pair: an IAM user token (the X-Subject-Token of the IAM token API). Tokens expire after 24 hours."
            placeholder="X-Auth-Token"
          />
          {halfKeyPair && (
            <Alert severity="warning" title="The access key and the secret key go together">
              Set both, or use an IAM token instead.
            </Alert>
          )}
        </Stack>
      </ConfigSection>
    </Stack>
  );
}
