package calico

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/backend"

	"github.com/flowlens/flows-datasource/pkg/sources/calico/elastic"
)

// Defaults of the Calico settings.
const (
	DefaultIndexPattern  = "tigera_secure_ee_flows.*"
	DefaultTimeField     = "end_time"
	DefaultFlushInterval = 300 * time.Second
)

// Settings are the Calico source's own settings (jsonData and secureJsonData).
type Settings struct {
	URL           string
	IndexPattern  string        // jsonData.indexPattern
	TimeField     string        // jsonData.timeField
	FlushInterval time.Duration // jsonData.flushInterval (seconds): Calico's flow log flush interval
	Auth          elastic.Auth  // jsonData.authType; basicAuthUser; secureJsonData basicAuthPassword, apiKey, bearerToken
}

type jsonSettings struct {
	IndexPattern  string  `json:"indexPattern"`
	TimeField     string  `json:"timeField"`
	FlushInterval float64 `json:"flushInterval"`
	AuthType      string  `json:"authType"`
}

var fieldName = regexp.MustCompile(`^[A-Za-z0-9_@][A-Za-z0-9_.@-]*$`)

// LoadSettings reads and checks the settings; errors name the setting and its value.
func LoadSettings(s backend.DataSourceInstanceSettings) (Settings, error) {
	var j jsonSettings
	if len(s.JSONData) > 0 {
		if err := json.Unmarshal(s.JSONData, &j); err != nil {
			return Settings{}, fmt.Errorf("jsonData: %v", err)
		}
	}
	out := Settings{
		URL:           strings.TrimRight(strings.TrimSpace(s.URL), "/"),
		IndexPattern:  strings.TrimSpace(j.IndexPattern),
		TimeField:     strings.TrimSpace(j.TimeField),
		FlushInterval: time.Duration(j.FlushInterval * float64(time.Second)),
	}
	if out.URL == "" {
		return out, fmt.Errorf("URL: the Elasticsearch or OpenSearch URL is empty; set it to the cluster's HTTP address, e.g. https://elastic.example.com:9200")
	}
	if out.IndexPattern == "" {
		out.IndexPattern = DefaultIndexPattern
	}
	if strings.ContainsAny(out.IndexPattern, " \"\\/?#<>|") {
		return out, fmt.Errorf("indexPattern: %q is not an index pattern (letters, digits, '.', '_', '-', '*' and ',' between patterns)", out.IndexPattern)
	}
	if out.TimeField == "" {
		out.TimeField = DefaultTimeField
	}
	if !fieldName.MatchString(out.TimeField) {
		return out, fmt.Errorf("timeField: %q is not a field name", out.TimeField)
	}
	switch {
	case j.FlushInterval == 0:
		out.FlushInterval = DefaultFlushInterval
	case j.FlushInterval < 1 || j.FlushInterval > 3600 || out.FlushInterval%time.Second != 0:
		return out, fmt.Errorf("flushInterval: %v is not a whole number of seconds from 1 to 3600 (Calico's default is 300)", j.FlushInterval)
	}
	sec := s.DecryptedSecureJSONData
	if j.AuthType == "" && s.BasicAuthEnabled {
		j.AuthType = elastic.AuthBasic // Grafana's own basic auth switch, set without authType
	}
	switch j.AuthType {
	case "", elastic.AuthNone:
		out.Auth = elastic.Auth{Kind: elastic.AuthNone}
	case elastic.AuthBasic:
		out.Auth = elastic.Auth{Kind: elastic.AuthBasic, User: s.BasicAuthUser, Password: sec["basicAuthPassword"]}
		if out.Auth.User == "" {
			return out, fmt.Errorf("basicAuthUser: empty; basic authentication needs a user")
		}
	case elastic.AuthAPIKey:
		out.Auth = elastic.Auth{Kind: elastic.AuthAPIKey, APIKey: strings.TrimSpace(sec["apiKey"])}
		if out.Auth.APIKey == "" {
			return out, fmt.Errorf("apiKey: empty; API key authentication needs the key (the base64 'encoded' value Elasticsearch returns)")
		}
	case elastic.AuthBearer:
		out.Auth = elastic.Auth{Kind: elastic.AuthBearer, Token: strings.TrimSpace(sec["bearerToken"])}
		if out.Auth.Token == "" {
			return out, fmt.Errorf("bearerToken: empty; bearer authentication needs a token")
		}
	default:
		return out, fmt.Errorf("authType: %q is not one of none, basic, apiKey, bearer", j.AuthType)
	}
	return out, nil
}
