import React from 'react';
import { ConfigSection } from '@grafana/plugin-ui';
import { Alert, Stack } from '@grafana/ui';

import { SecretField, SourceFieldsProps, TextField } from './SourceFields';

/** The data source URL of a Trustgrid data source: the API host. */
export const TRUSTGRID_URL_PLACEHOLDER = 'https://api.trustgrid.io';
export const TRUSTGRID_URL_TOOLTIP =
  'The Trustgrid Management API host. Empty: https://api.trustgrid.io. Flow logs are read from /v2/audit/flow-logs.';

/**
 * Trustgrid's credentials: an API client ID and secret (sent as
 * "Authorization: trustgrid-token ID:SECRET"), or a JWT (sent as "Bearer"). A JWT wins when both
 * are set. The credential needs the audits::read:flows permission.
 */
export function TrustgridSettings(props: SourceFieldsProps) {
  const { jsonData, secureJsonFields, secureJsonData } = props.options;
  const hasSecret = Boolean(secureJsonFields?.trustgridClientSecret || secureJsonData?.trustgridClientSecret);
  const hasJwt = Boolean(secureJsonFields?.trustgridJwt || secureJsonData?.trustgridJwt);
  const idWithoutSecret = Boolean(jsonData.trustgridClientId) && !hasSecret && !hasJwt;
  return (
    <ConfigSection
      title="Trustgrid authentication"
      description="An API client ID and secret (Portal → User Management → API Access), or a JWT. It needs the audits::read:flows permission."
    >
      <Stack direction="column" gap={0}>
        <TextField
          {...props}
          field="trustgridClientId"
          label="Client ID"
          tooltip="API client ID, sent as 'Authorization: trustgrid-token ID:SECRET' with the secret."
          placeholder="client ID"
        />
        <SecretField
          {...props}
          field="trustgridClientSecret"
          label="Client secret"
          tooltip="API client secret. Stored encrypted; never sent back to the browser."
          placeholder="client secret"
        />
        <SecretField
          {...props}
          field="trustgridJwt"
          label="JWT"
          tooltip="Instead of the client ID and secret: a JWT, sent as 'Authorization: Bearer <JWT>'. Wins when both are set."
          placeholder="eyJ…"
        />
        {idWithoutSecret && (
          <Alert severity="warning" title="The client ID needs its secret">
            Set the client secret, or a JWT instead.
          </Alert>
        )}
      </Stack>
    </ConfigSection>
  );
}
