package huaweicfw

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/grafana/grafana-plugin-sdk-go/backend"
)

// Settings keys. The endpoint override is the data source URL; the rest is jsonData, the
// credentials secureJsonData.
const (
	SettingRegion              = "cfwRegion"
	SettingProjectID           = "cfwProjectId"
	SettingFwInstanceID        = "cfwFwInstanceId"
	SettingEnterpriseProjectID = "cfwEnterpriseProjectId"
	SettingAccessKey           = "cfwAccessKey"
	SettingSecretKey           = "cfwSecretKey"
	SettingIAMToken            = "cfwIamToken"
)

// Settings are Huawei Cloud Firewall's own settings.
type Settings struct {
	Endpoint            string
	Region              string
	ProjectID           string
	FwInstanceID        string
	EnterpriseProjectID string
	Credentials         Credentials
}

// LoadSettings reads and checks the settings. Errors name the setting and its value, never a
// secret.
func LoadSettings(s backend.DataSourceInstanceSettings) (Settings, error) {
	out := Settings{Endpoint: strings.TrimRight(strings.TrimSpace(s.URL), "/")}
	j := map[string]any{}
	if len(s.JSONData) > 0 {
		if err := json.Unmarshal(s.JSONData, &j); err != nil {
			return out, fmt.Errorf("jsonData: %v", err)
		}
	}
	text := func(key string) (string, error) {
		v, ok := j[key]
		if !ok || v == nil {
			return "", nil
		}
		str, isStr := v.(string)
		if !isStr {
			return "", fmt.Errorf("%s: %v is not text", key, v)
		}
		return strings.TrimSpace(str), nil
	}
	var err error
	for _, f := range []struct {
		key string
		dst *string
	}{{SettingRegion, &out.Region}, {SettingProjectID, &out.ProjectID}, {SettingFwInstanceID, &out.FwInstanceID}, {SettingEnterpriseProjectID, &out.EnterpriseProjectID}} {
		if *f.dst, err = text(f.key); err != nil {
			return out, err
		}
	}
	if out.FwInstanceID == "" {
		return out, fmt.Errorf("%s: the firewall instance ID is empty; set it (Cloud Firewall console → the instance's ID, or ListFirewallList)", SettingFwInstanceID)
	}
	out.Credentials = Credentials{
		AccessKey: strings.TrimSpace(s.DecryptedSecureJSONData[SettingAccessKey]),
		SecretKey: s.DecryptedSecureJSONData[SettingSecretKey],
		IAMToken:  strings.TrimSpace(s.DecryptedSecureJSONData[SettingIAMToken]),
	}
	// New checks the rest (project, region or endpoint, credentials) with errors that name them.
	if _, err := New(Config{Endpoint: out.Endpoint, Region: out.Region, ProjectID: out.ProjectID, Credentials: out.Credentials}); err != nil {
		return out, settingError(err)
	}
	return out, nil
}

// settingError names the setting a client error is about.
func settingError(err error) error {
	msg := strings.TrimPrefix(err.Error(), "huaweicfw: ")
	switch {
	case strings.HasPrefix(msg, "project ID"):
		return fmt.Errorf("%s: %s", SettingProjectID, msg)
	case strings.HasPrefix(msg, "region"), strings.HasPrefix(msg, "set a region"):
		return fmt.Errorf("%s: %s", SettingRegion, msg)
	case strings.HasPrefix(msg, "endpoint"):
		return fmt.Errorf("URL: %s", msg)
	default:
		return fmt.Errorf("credentials: %s (%s with %s, or %s)", msg, SettingAccessKey, SettingSecretKey, SettingIAMToken)
	}
}
