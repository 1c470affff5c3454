//go:build mage
// +build mage

package main

import (
	"path/filepath"

	"github.com/magefile/mage/mg"
	"github.com/magefile/mage/sh"

	// mage:import
	build "github.com/grafana/grafana-plugin-sdk-go/build"
)

// Default builds the backend for every platform Grafana runs plugins on, and the query model's
// JSON schema, into dist/.
var Default = All

// All builds the backend for every platform (build:buildAll) and the schema.
func All() {
	mg.SerialDeps(build.BuildAll, Schema)
}

// Schema writes the query model's JSON schema to dist/schema/v0alpha1/ (query.types.json,
// query.examples.json). The SDK's schema builder makes it from pkg/models.SavedQuery in a test,
// which also checks every provisioned and golden query against it (pkg/models/schema_test.go).
func Schema() error {
	out, err := filepath.Abs(filepath.Join("dist", "schema"))
	if err != nil {
		return err
	}
	return sh.RunV("go", "test", "-count=1", "./pkg/models", "-run", "^TestQueryModelSchema$", "-args", "-schema-dir="+out)
}
