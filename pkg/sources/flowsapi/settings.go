package flowsapi

import (
	"fmt"
	"strings"

	"github.com/grafana/grafana-plugin-sdk-go/backend"
)

// Settings are the Flows API's own settings: the data source's standard URL and the token in
// secureJsonData.apiToken. Timeout, paging and concurrency are common to every source.
type Settings struct {
	URL   string
	Token string
}

// LoadSettings reads and checks the Flows API settings. Errors name the setting and its value.
func LoadSettings(s backend.DataSourceInstanceSettings) (Settings, error) {
	out := Settings{
		URL:   strings.TrimRight(strings.TrimSpace(s.URL), "/"),
		Token: s.DecryptedSecureJSONData["apiToken"],
	}
	if out.URL == "" {
		return out, fmt.Errorf("URL: the Flows API base URL is empty; set it to the address in front of /api/v1, e.g. https://siem.example.com")
	}
	// The same check as the client's: http(s), a host, no query string or fragment; the
	// message shows the URL without its password.
	if _, err := ParseBaseURL(out.URL); err != nil {
		return out, fmt.Errorf("URL: %w", err)
	}
	return out, nil
}
