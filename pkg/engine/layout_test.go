package engine

import (
	"os/exec"
	"strings"
	"testing"
)

// The engine is source-agnostic: no package under pkg/engine imports, even indirectly, a
// package under pkg/sources (sources import the engine, never the other way round).
func TestLayoutEngineImportsNoSource(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "-test", "-f", "{{.ImportPath}}", "./...").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	const sources = "github.com/flowlens/flows-datasource/pkg/sources"
	deps := strings.Fields(string(out))
	if len(deps) < 10 {
		t.Fatalf("go list found only %v", deps)
	}
	for _, p := range deps {
		if p == sources || strings.HasPrefix(p, sources+"/") {
			t.Errorf("pkg/engine depends on %s", p)
		}
	}
}
