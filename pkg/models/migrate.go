package models

import (
	"bytes"
	"encoding/json"
	"strconv"
)

// QueryModelVersion is the version of the query model this plugin reads and the editor saves.
// A change to what a saved field means adds a step to queryMigrations and bumps this number;
// docs/query-model.md lists the versions.
const QueryModelVersion = 1

// queryMigrations[v] brings a query saved in version v to version v+1. Version 0 is a query
// without a "version" field: everything saved before the model was versioned. Version 1 is that
// same model, so its step only records the version. The frontend runs the same steps
// (src/migrations.ts); pkg/models/testdata/migrations.json holds the cases both are tested with.
var queryMigrations = []func(fields map[string]json.RawMessage) error{
	0: func(map[string]json.RawMessage) error { return nil },
}

// MigrateQuery brings a saved query's JSON to QueryModelVersion. Alert rules, provisioned
// dashboards and API clients send queries that never passed through the editor, so the backend
// migrates every query it reads. Fields a step does not change are kept byte for byte, unknown
// ones included. A query saved by a newer plugin is an error: reading it with this model could
// change what it means.
func MigrateQuery(raw json.RawMessage) (json.RawMessage, error) {
	if len(bytes.TrimSpace(raw)) == 0 {
		raw = json.RawMessage(`{}`)
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(raw, &fields); err != nil {
		return nil, fieldErr("query", "", "is not valid JSON: %v", err)
	}
	if fields == nil { // the JSON was null
		fields = map[string]json.RawMessage{}
	}
	version, err := savedVersion(fields["version"])
	if err != nil {
		return nil, err
	}
	current := strconv.Itoa(QueryModelVersion)
	if string(fields["version"]) == current {
		return raw, nil
	}
	if version > QueryModelVersion {
		return nil, fieldErr("version", strconv.Itoa(version), "is newer than the query model this plugin reads (%d): update the plugin, or save the query again in this version's editor", QueryModelVersion)
	}
	for v := version; v < QueryModelVersion; v++ {
		if err := queryMigrations[v](fields); err != nil {
			return nil, err
		}
	}
	fields["version"] = json.RawMessage(current)
	return json.Marshal(fields)
}

// savedVersion reads the "version" field: absent or null is 0, otherwise a whole number ≥ 1.
func savedVersion(raw json.RawMessage) (int, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return 0, nil
	}
	text, err := scalarText(raw)
	if err != nil {
		text = string(raw)
	}
	n, err := strconv.Atoi(text)
	if err != nil || n < 1 {
		return 0, fieldErr("version", text, "is not a query model version (a whole number from 1 to %d)", QueryModelVersion)
	}
	return n, nil
}
