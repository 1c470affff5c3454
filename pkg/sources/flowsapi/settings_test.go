package flowsapi

import (
	"strings"
	"testing"

	"github.com/grafana/grafana-plugin-sdk-go/backend"
)

func TestSettingsReadURLAndToken(t *testing.T) {
	s, err := LoadSettings(backend.DataSourceInstanceSettings{URL: " https://siem.example.com/ ", DecryptedSecureJSONData: map[string]string{"apiToken": "t0k"}})
	if err != nil || s.URL != "https://siem.example.com" || s.Token != "t0k" {
		t.Fatalf("settings %+v, %v", s, err)
	}
}

func TestSettingsErrorsNameTheURL(t *testing.T) {
	for _, c := range []struct{ url, want string }{
		{"", "URL: the Flows API base URL is empty"},
		{"siem.example.com", `URL: "siem.example.com" is not an http(s) URL`},
		{"ftp://siem", `URL: "ftp://siem" is not an http(s) URL`},
		// Issue 9 items 12 and 5: the part that would cut /api/v1 off is named; a password is not shown.
		{"https://siem.example.com/?tenant=a", `URL: "https://siem.example.com/?tenant=a" has a query string (?tenant=a); remove it`},
		{"https://siem.example.com#x", `URL: "https://siem.example.com#x" has a fragment (#x); remove it`},
		{"ftp://admin:hunter22@siem", `URL: "ftp://admin:xxxxx@siem" is not an http(s) URL`},
	} {
		_, err := LoadSettings(backend.DataSourceInstanceSettings{URL: c.url})
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: error %v, want %q", c.url, err, c.want)
		}
	}
}
