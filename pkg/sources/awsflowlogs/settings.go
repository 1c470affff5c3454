package awsflowlogs

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/grafana/grafana-plugin-sdk-go/backend"
)

// Settings are the AWS source's settings: the authentication of Grafana's AWS data sources
// (grafana-aws-sdk's shape: jsonData authType, profile, assumeRoleArn, externalId,
// defaultRegion, endpoint; secureJsonData accessKey, secretKey, sessionToken) and the regions
// whose flow logs the data source reads.
type Settings struct {
	Auth Auth
	// Regions are the regions the flow-log inventory and the traffic queries cover by default;
	// empty: the default region alone.
	Regions []string
}

type settingsJSON struct {
	AuthType      string   `json:"authType"`
	Profile       string   `json:"profile"`
	AssumeRoleARN string   `json:"assumeRoleArn"`
	ExternalID    string   `json:"externalId"`
	DefaultRegion string   `json:"defaultRegion"`
	Endpoint      string   `json:"endpoint"`
	Regions       []string `json:"regions"`
}

// LoadSettings reads and checks the settings. Errors name the setting and its value, never a
// secret.
func LoadSettings(s backend.DataSourceInstanceSettings) (Settings, error) {
	var raw settingsJSON
	if len(s.JSONData) > 0 {
		if err := json.Unmarshal(s.JSONData, &raw); err != nil {
			return Settings{}, fmt.Errorf("jsonData: %v", err)
		}
	}
	out := Settings{Auth: Auth{
		AuthType:      strings.TrimSpace(raw.AuthType),
		Profile:       strings.TrimSpace(raw.Profile),
		AssumeRoleARN: strings.TrimSpace(raw.AssumeRoleARN),
		ExternalID:    strings.TrimSpace(raw.ExternalID),
		DefaultRegion: strings.TrimSpace(raw.DefaultRegion),
		Endpoint:      strings.TrimRight(strings.TrimSpace(raw.Endpoint), "/"),
		AccessKey:     strings.TrimSpace(s.DecryptedSecureJSONData["accessKey"]),
		SecretKey:     strings.TrimSpace(s.DecryptedSecureJSONData["secretKey"]),
		SessionToken:  strings.TrimSpace(s.DecryptedSecureJSONData["sessionToken"]),
	}}
	if out.Auth.AuthType == "" {
		out.Auth.AuthType = AuthDefault
	}
	if err := out.Auth.Validate(); err != nil {
		return Settings{}, err
	}
	for _, r := range raw.Regions {
		r = strings.TrimSpace(r)
		if r == "" || slices.Contains(out.Regions, r) {
			continue
		}
		if !validRegion(r) {
			return Settings{}, fmt.Errorf("regions: %q is not an AWS region name like eu-west-1", r)
		}
		out.Regions = append(out.Regions, r)
	}
	if len(out.Regions) == 0 {
		out.Regions = []string{out.Auth.DefaultRegion}
	}
	return out, nil
}
