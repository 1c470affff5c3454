package trustgrid

import (
	"encoding/json"
	"fmt"
	"net/url"
	"strings"

	"github.com/grafana/grafana-plugin-sdk-go/backend"
)

// Settings keys: the API host is the data source URL; the client ID is in jsonData, the
// secret and the JWT in secureJsonData.
const (
	SettingClientID     = "trustgridClientId"
	SettingClientSecret = "trustgridClientSecret"
	SettingJWT          = "trustgridJwt"
)

// Settings are Trustgrid's own settings.
type Settings struct {
	URL         string
	Credentials Credentials
}

// LoadSettings reads and checks the Trustgrid settings. Errors name the setting and its value,
// never a secret.
func LoadSettings(s backend.DataSourceInstanceSettings) (Settings, error) {
	out := Settings{URL: strings.TrimRight(strings.TrimSpace(s.URL), "/")}
	if out.URL == "" {
		out.URL = DefaultBaseURL
	}
	u, err := url.Parse(out.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return out, fmt.Errorf("URL: %q is not an http(s) URL; set it to the Trustgrid API host, %s", out.URL, DefaultBaseURL)
	}
	if u.User != nil {
		return out, fmt.Errorf("URL: the API URL must not carry credentials; set the client ID and secret or the JWT instead")
	}
	var j map[string]any
	if len(s.JSONData) > 0 {
		if err := json.Unmarshal(s.JSONData, &j); err != nil {
			return out, fmt.Errorf("jsonData: %v", err)
		}
	}
	if v, ok := j[SettingClientID]; ok {
		id, isStr := v.(string)
		if !isStr {
			return out, fmt.Errorf("%s: %v is not text", SettingClientID, v)
		}
		out.Credentials.ClientID = strings.TrimSpace(id)
	}
	out.Credentials.ClientSecret = s.DecryptedSecureJSONData[SettingClientSecret]
	out.Credentials.JWT = strings.TrimSpace(s.DecryptedSecureJSONData[SettingJWT])
	if strings.Contains(out.Credentials.ClientID, ":") {
		return out, fmt.Errorf("%s: %q contains ':', which the trustgrid-token header uses to separate the ID from the secret", SettingClientID, out.Credentials.ClientID)
	}
	if _, err := out.Credentials.header(); err != nil {
		return out, fmt.Errorf("credentials: %s (%s with %s, or %s)", strings.TrimPrefix(err.Error(), "trustgrid: "), SettingClientID, SettingClientSecret, SettingJWT)
	}
	return out, nil
}
