// Package sources lists the flow-log systems the plugin serves: one package per system below
// this directory, each an engine.Source. pkg/main.go hands this registry to the plugin, so that
// neither the plugin's handlers nor the engine import a source.
package sources

import (
	"github.com/flowlens/flows-datasource/pkg/engine"
	"github.com/flowlens/flows-datasource/pkg/sources/awsflowlogs"
	"github.com/flowlens/flows-datasource/pkg/sources/calico"
	"github.com/flowlens/flows-datasource/pkg/sources/flowsapi"
	"github.com/flowlens/flows-datasource/pkg/sources/huaweicfw"
	"github.com/flowlens/flows-datasource/pkg/sources/trustgrid"
)

// Factories maps jsonData.source to the factory of that source. One line per source, sorted.
func Factories() map[string]engine.Factory {
	return map[string]engine.Factory{
		awsflowlogs.Type: awsflowlogs.NewSource,
		calico.Type:      calico.NewSource,
		flowsapi.Type:    flowsapi.NewSource,
		huaweicfw.Type:   huaweicfw.NewSource,
		trustgrid.Type:   trustgrid.NewSource,
	}
}

// Default is the source of a data source saved without jsonData.source (every data source
// saved before there were several sources).
const Default = flowsapi.Type
