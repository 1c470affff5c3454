import React, { ChangeEvent, useState } from 'react';
import { Auth, ConfigSection } from '@grafana/plugin-ui';
import { Divider, InlineField, Input } from '@grafana/ui';

import { INPUT_WIDTH, LABEL_WIDTH, resetSecrets, SecretField, SettingsProps, TextField } from './fields';

const AKSK_METHOD = 'custom-cfw-aksk' as const;
const TOKEN_METHOD = 'custom-cfw-iam-token' as const;
type Method = typeof AKSK_METHOD | typeof TOKEN_METHOD;

/**
 * Huawei Cloud Firewall: the region (or an endpoint URL that overrides it), the project and
 * firewall instance, and either an access key pair (requests are signed) or an IAM token. The
 * backend signs with the key pair when both are saved, so choosing the token forgets a saved
 * key pair.
 */
export function HuaweiCfwSettings(props: SettingsProps) {
  const { options, onOptionsChange } = props;
  const tokenOnly =
    Boolean(options.secureJsonFields?.cfwIamToken || options.secureJsonData?.cfwIamToken) &&
    !options.secureJsonFields?.cfwAccessKey &&
    !options.secureJsonData?.cfwAccessKey;
  const [method, setMethod] = useState<Method>(tokenOnly ? TOKEN_METHOD : AKSK_METHOD);

  const onMethod = (m: string) => {
    setMethod(m as Method);
    if (m === TOKEN_METHOD) {
      resetSecrets(props, ['cfwAccessKey', 'cfwSecretKey']);
    }
  };

  return (
    <>
      <ConfigSection title="Firewall" description="Which Cloud Firewall instance's flow logs the data source reads.">
        <TextField
          settings={props}
          field="cfwRegion"
          label="Region"
          placeholder="cn-north-4"
          tooltip="The region of the firewall, e.g. cn-north-4 (the endpoint is https://cfw.REGION.myhuaweicloud.com)."
        />
        <InlineField
          label="Endpoint URL"
          htmlFor="config-editor-cfw-endpoint"
          labelWidth={LABEL_WIDTH}
          interactive
          tooltip="Optional: overrides the region's endpoint (a private endpoint, or a test server)."
        >
          <Input
            id="config-editor-cfw-endpoint"
            value={options.url ?? ''}
            placeholder="https://cfw.cn-north-4.myhuaweicloud.com"
            width={INPUT_WIDTH}
            onChange={(e: ChangeEvent<HTMLInputElement>) => onOptionsChange({ ...options, url: e.target.value })}
          />
        </InlineField>
        <TextField
          settings={props}
          field="cfwProjectId"
          label="Project ID"
          tooltip="The project ID of the region (My Credentials → API Credentials)."
        />
        <TextField
          settings={props}
          field="cfwFwInstanceId"
          label="Firewall instance ID"
          tooltip="The fw_instance_id of the Cloud Firewall instance."
        />
        <TextField
          settings={props}
          field="cfwEnterpriseProjectId"
          label="Enterprise project ID"
          tooltip="Optional: the enterprise project of the firewall."
        />
      </ConfigSection>
      <Divider />
      <Auth
        selectedMethod={method}
        visibleMethods={[AKSK_METHOD, TOKEN_METHOD]}
        customMethods={[
          {
            id: AKSK_METHOD,
            label: 'Access key (AK/SK)',
            description: 'Requests are signed with an access key and secret key (SDK-HMAC-SHA256).',
            component: (
              <>
                <SecretField
                  settings={props}
                  field="cfwAccessKey"
                  label="Access key ID"
                  tooltip="The AK. Stored encrypted; never sent back to the browser."
                />
                <SecretField
                  settings={props}
                  field="cfwSecretKey"
                  label="Secret access key"
                  tooltip="The SK. Stored encrypted; never sent back to the browser."
                />
              </>
            ),
          },
          {
            id: TOKEN_METHOD,
            label: 'IAM token',
            description: 'An IAM user token, sent as X-Auth-Token. Tokens expire after 24 hours.',
            component: (
              <SecretField
                settings={props}
                field="cfwIamToken"
                label="IAM token"
                tooltip="Sent as X-Auth-Token. Stored encrypted; never sent back to the browser."
              />
            ),
          },
        ]}
        onAuthMethodSelect={onMethod}
        readOnly={options.readOnly}
      />
    </>
  );
}
