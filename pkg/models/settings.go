// Package models holds the data source settings and the query model: what a user saves in
// Grafana, parsed and validated, with errors that name the field and the value.
package models

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/backend"
)

// Defaults for the settings a user may leave empty. README documents them.
const (
	DefaultTimeout        = 30 * time.Second
	DefaultPageSize       = 1000
	DefaultRowCap         = 50000
	DefaultMaxConcurrency = 4
	// MaxRowCap bounds what a user may configure: each row costs a few hundred bytes of memory
	// per query, and 1,000,000 rows is already a long scan of the API.
	MaxRowCap = 1000000
)

// Settings are the settings every source shares: which source (jsonData.source), and the
// paging, row and concurrency bounds in jsonData. Timeout, TLS and proxy come from Grafana's
// standard HTTP settings (jsonData.timeout etc.), read by the SDK. Each source reads its own
// settings (URL, credentials) itself, in its package under pkg/sources.
type Settings struct {
	// Source is jsonData.source as saved; empty for data sources saved before there were
	// several sources (the plugin then uses its default).
	Source         string
	Timeout        time.Duration
	PageSize       int
	RowCap         int
	MaxConcurrency int
	// QueryBudgetMB and DataSourceBudgetMB bound the bytes of answers one query, and the
	// queries in progress together, may read (0: the source's default; docs/robustness.md).
	QueryBudgetMB      int
	DataSourceBudgetMB int
}

// settingsJSON holds numbers as text: the config editor saves numbers, provisioning files may
// hold strings.
type settingsJSON struct {
	Source         string    `json:"source"`
	Timeout        flexValue `json:"timeout"`
	PageSize       flexValue `json:"pageSize"`
	RowCap         flexValue `json:"rowCap"`
	MaxConcurrency flexValue `json:"maxConcurrency"`
	QueryBudget    flexValue `json:"queryBudgetMB"`
	SourceBudget   flexValue `json:"dataSourceBudgetMB"`
}

// LoadSettings reads and validates instance settings. Errors name the setting and its value.
func LoadSettings(s backend.DataSourceInstanceSettings) (Settings, error) {
	out := Settings{
		Timeout:        DefaultTimeout,
		PageSize:       DefaultPageSize,
		RowCap:         DefaultRowCap,
		MaxConcurrency: DefaultMaxConcurrency,
	}
	if len(s.JSONData) > 0 {
		var raw settingsJSON
		if err := json.Unmarshal(s.JSONData, &raw); err != nil {
			return out, fmt.Errorf("jsonData: %v", err)
		}
		out.Source = strings.TrimSpace(raw.Source)
		if err := readPositive("timeout", raw.Timeout, 1, 3600, func(v int) { out.Timeout = time.Duration(v) * time.Second }); err != nil {
			return out, err
		}
		if err := readPositive("pageSize", raw.PageSize, 1, 100000, func(v int) { out.PageSize = v }); err != nil {
			return out, err
		}
		if err := readPositive("rowCap", raw.RowCap, 1, MaxRowCap, func(v int) { out.RowCap = v }); err != nil {
			return out, err
		}
		if err := readPositive("maxConcurrency", raw.MaxConcurrency, 1, 64, func(v int) { out.MaxConcurrency = v }); err != nil {
			return out, err
		}
		if err := readPositive("queryBudgetMB", raw.QueryBudget, 1, 8192, func(v int) { out.QueryBudgetMB = v }); err != nil {
			return out, err
		}
		if err := readPositive("dataSourceBudgetMB", raw.SourceBudget, 1, 32768, func(v int) { out.DataSourceBudgetMB = v }); err != nil {
			return out, err
		}
	}
	return out, nil
}

// readPositive applies an optional whole-number setting; empty or 0 keeps the default.
func readPositive(name string, n flexValue, lo, hi int, set func(int)) error {
	s := strings.TrimSpace(string(n))
	if s == "" || s == "0" {
		return nil
	}
	v, err := strconv.Atoi(s)
	if err != nil || v < lo || v > hi {
		return fmt.Errorf("%s: %q must be a whole number from %d to %d", name, s, lo, hi)
	}
	set(v)
	return nil
}
