package main

import (
	"os"

	"github.com/grafana/grafana-plugin-sdk-go/backend/datasource"
	"github.com/grafana/grafana-plugin-sdk-go/backend/log"

	"github.com/flowlens/flows-datasource/pkg/plugin"
	"github.com/flowlens/flows-datasource/pkg/sources"
)

func main() {
	registry := plugin.Sources{Factories: sources.Factories(), Default: sources.Default}
	if err := datasource.Manage("flowlens-flows-datasource", plugin.New(registry), datasource.ManageOpts{}); err != nil {
		log.DefaultLogger.Error(err.Error())
		os.Exit(1)
	}
}
