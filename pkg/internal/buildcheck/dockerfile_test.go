package buildcheck

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/moby/buildkit/frontend/dockerfile/parser"
)

const repoRoot = "../../.."

// platformArgs are the build arguments BuildKit fills from the platform being built. Declared
// with a default, the default wins (docker/buildx#510): an Apple-silicon machine would build an
// amd64 backend that its arm64 Grafana cannot start.
var platformArgs = map[string]bool{
	"TARGETPLATFORM": true, "TARGETOS": true, "TARGETARCH": true, "TARGETVARIANT": true,
	"BUILDPLATFORM": true, "BUILDOS": true, "BUILDARCH": true, "BUILDVARIANT": true,
}

// stage is one FROM … AS name of the Dockerfile with its instructions.
type stage struct {
	name, image  string
	instructions []*parser.Node
}

func parseDockerfile(t *testing.T) []stage {
	t.Helper()
	f, err := os.Open(filepath.Join(repoRoot, "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	res, err := parser.Parse(f)
	if err != nil {
		t.Fatalf("BuildKit cannot parse the Dockerfile: %v", err)
	}
	var stages []stage
	for _, n := range res.AST.Children {
		if strings.EqualFold(n.Value, "from") {
			var words []string
			for a := n.Next; a != nil; a = a.Next {
				words = append(words, a.Value)
			}
			s := stage{image: words[0]}
			if len(words) == 3 && strings.EqualFold(words[1], "as") {
				s.name = words[2]
			}
			stages = append(stages, s)
			continue
		}
		if len(stages) == 0 {
			continue // ARGs before the first FROM
		}
		stages[len(stages)-1].instructions = append(stages[len(stages)-1].instructions, n)
	}
	return stages
}

func findStage(t *testing.T, stages []stage, name string) stage {
	t.Helper()
	for _, s := range stages {
		if s.name == name {
			return s
		}
	}
	t.Fatalf("the Dockerfile has no stage %q", name)
	return stage{}
}

func TestDockerfilePlatformArgsHaveNoDefault(t *testing.T) {
	f, err := os.Open(filepath.Join(repoRoot, "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	res, err := parser.Parse(f)
	if err != nil {
		t.Fatal(err)
	}
	declared := 0
	for _, n := range res.AST.Children {
		if !strings.EqualFold(n.Value, "arg") {
			continue
		}
		for a := n.Next; a != nil; a = a.Next {
			name, def, hasDefault := strings.Cut(a.Value, "=")
			if !platformArgs[name] {
				continue
			}
			declared++
			if hasDefault {
				t.Errorf("Dockerfile line %d: ARG %s=%s has a default, which wins over the platform BuildKit builds for", n.StartLine, name, def)
			}
		}
	}
	if declared == 0 {
		t.Error("the Dockerfile declares no TARGETOS/TARGETARCH: the backend stage cannot build for the target platform")
	}
}

// The image's backend is built as dist/ is: with mage and the plugin SDK's build targets (the
// build flags, the executable name from plugin.json, go_plugin_build_manifest), for the target
// platform, and it is what the Grafana image gets.
func TestDockerfileBackendBuildsWithMage(t *testing.T) {
	stages := parseDockerfile(t)
	backend := findStage(t, stages, "backend")
	var runs []string
	args := map[string]bool{}
	for _, n := range backend.instructions {
		switch strings.ToLower(n.Value) {
		case "run":
			runs = append(runs, n.Original)
		case "arg":
			for a := n.Next; a != nil; a = a.Next {
				name, _, _ := strings.Cut(a.Value, "=")
				args[name] = true
			}
		}
	}
	mage := regexp.MustCompile(`go run github\.com/magefile/mage( -v)? build:custom "?\$\{?TARGETOS\}?"? "?\$\{?TARGETARCH\}?"?`)
	found := false
	for _, r := range runs {
		if mage.MatchString(r) {
			found = true
		}
		if regexp.MustCompile(`\bgo build\b`).MatchString(r) {
			t.Errorf("the backend stage runs a plain go build (%s): dist/ is built with mage", r)
		}
	}
	if !found {
		t.Errorf("the backend stage does not run `go run github.com/magefile/mage -v build:custom \"$TARGETOS\" \"$TARGETARCH\"`; its RUNs: %q", runs)
	}
	if !args["TARGETOS"] || !args["TARGETARCH"] {
		t.Errorf("the backend stage does not declare ARG TARGETOS and ARG TARGETARCH (declared: %v)", args)
	}

	grafana := findStage(t, stages, "grafana")
	copiesBackend := false
	for _, n := range grafana.instructions {
		if strings.EqualFold(n.Value, "copy") && strings.Contains(n.Original, "--from=backend") {
			copiesBackend = true
		}
	}
	if !copiesBackend {
		t.Error("the grafana stage does not COPY --from=backend")
	}
}

// The frontend is built with the Node major of .nvmrc (docs/toolchain.md).
func TestDockerfileNodeMatchesNvmrc(t *testing.T) {
	nvmrc, err := os.ReadFile(filepath.Join(repoRoot, ".nvmrc"))
	if err != nil {
		t.Fatal(err)
	}
	major := strings.TrimPrefix(strings.TrimSpace(string(nvmrc)), "v")
	major, _, _ = strings.Cut(major, ".")
	frontend := findStage(t, parseDockerfile(t), "frontend")
	if !regexp.MustCompile(`^node:` + regexp.QuoteMeta(major) + `(\.|-|$)`).MatchString(frontend.image) {
		t.Errorf("the frontend stage builds FROM %s; .nvmrc says Node %s", frontend.image, major)
	}
}
