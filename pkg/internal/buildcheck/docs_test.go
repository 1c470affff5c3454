package buildcheck

// Docs that contradict the code or each other, by kind: a setting described in one place and
// referenced elsewhere, a command the README gives that does not run as written, a template
// placeholder left in a file, defaults of the e2e specs that are not the demo's.

import (
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

func readRepo(t *testing.T, rel string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(repoRoot, rel))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// docFiles are the files that describe the plugin to users: READMEs, docs/, provisioning
// comments, the frontend's settings types and config editor.
func docFiles(t *testing.T) []string {
	t.Helper()
	files := []string{"README.md", "src/README.md", "src/types.ts", "src/components/ConfigEditor.tsx"}
	for _, dir := range []string{"docs", "provisioning"} {
		err := filepath.WalkDir(filepath.Join(repoRoot, dir), func(path string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			if ext := filepath.Ext(path); ext == ".md" || ext == ".yaml" || ext == ".yml" {
				rel, _ := filepath.Rel(repoRoot, path)
				files = append(files, rel)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	return files
}

// Max concurrency bounds the requests of a data source across all panels (one limiter per data
// source instance), not per query: every description of it must say so.
func TestDocsDescribeMaxConcurrencyPerDataSource(t *testing.T) {
	mentions := regexp.MustCompile(`(?i)maxConcurrency|max concurrency|concurrent api requests`)
	wrongScope := regexp.MustCompile(`(?i)per query|one query|each query`)
	seen := 0
	for _, f := range docFiles(t) {
		for i, line := range strings.Split(readRepo(t, f), "\n") {
			if !mentions.MatchString(line) {
				continue
			}
			seen++
			if m := wrongScope.FindString(line); m != "" {
				t.Errorf("%s:%d describes max concurrency %q; it is per data source, across all panels: %s", f, i+1, m, strings.TrimSpace(line))
			}
		}
	}
	if seen == 0 {
		t.Fatal("no file mentions max concurrency")
	}
}

// Every `go test` / `go vet` command the docs give runs as written: its package patterns load
// (go list), and none reaches into node_modules, where npm installs packages that ship Go files.
func TestDocsGoCommandsRunAsWritten(t *testing.T) {
	if _, err := exec.LookPath("go"); err != nil {
		t.Fatal("go is not on PATH")
	}
	cmd := regexp.MustCompile("`((?:[A-Z_]+=\\S+ )*go (?:test|vet)[^`]*)`")
	files := append([]string{"README.md"}, docFiles(t)...)
	checked := map[string]bool{}
	for _, f := range files {
		for _, m := range cmd.FindAllStringSubmatch(readRepo(t, f), -1) {
			command := m[1]
			if checked[command] {
				continue
			}
			checked[command] = true
			var patterns []string
			for _, w := range strings.Fields(command) {
				if strings.HasPrefix(w, "./") {
					patterns = append(patterns, w)
				}
			}
			if len(patterns) == 0 {
				continue
			}
			list := exec.Command("go", append([]string{"list", "-f", "{{.Dir}}"}, patterns...)...)
			list.Dir = repoRoot
			out, err := list.CombinedOutput()
			if err != nil {
				t.Errorf("%s: `%s`: go list %s fails: %v\n%s", f, command, strings.Join(patterns, " "), err, out)
				continue
			}
			for _, dir := range strings.Fields(string(out)) {
				if strings.Contains(filepath.ToSlash(dir), "/node_modules/") {
					t.Errorf("%s: `%s` also runs the Go package in %s (npm installs it): use ./pkg/... ./cmd/...", f, command, dir)
					break
				}
			}
		}
	}
	if !checked["go test -race ./pkg/... ./cmd/..."] {
		t.Error("README.md does not give the Go test command `go test -race ./pkg/... ./cmd/...`")
	}
}

// The whole `./...` of the repository reaches into node_modules once npm has installed: this
// is why the docs must not give it. The check above relies on that, so it is asserted here
// when node_modules holds a Go package.
func TestDotDotDotReachesNodeModules(t *testing.T) {
	var goInNodeModules string
	_ = filepath.WalkDir(filepath.Join(repoRoot, "node_modules"), func(path string, d fs.DirEntry, err error) error {
		if err != nil || goInNodeModules != "" {
			return fs.SkipDir
		}
		if !d.IsDir() && strings.HasSuffix(path, ".go") {
			goInNodeModules = path
			return fs.SkipAll
		}
		return nil
	})
	if goInNodeModules == "" {
		t.Skip("node_modules holds no Go file (npm ci has not run)")
	}
	list := exec.Command("go", "list", "-e", "-f", "{{.Dir}}", "./...")
	list.Dir = repoRoot
	out, _ := list.CombinedOutput()
	if !strings.Contains(string(out), "node_modules") {
		t.Errorf("go list ./... does not list node_modules although %s exists; output:\n%s", goInNodeModules, out)
	}
}

func TestLicenseHasNoTemplatePlaceholders(t *testing.T) {
	if m := regexp.MustCompile(`\{(yyyy|name of copyright owner|[a-z][a-z ]+)\}`).FindString(readRepo(t, "LICENSE")); m != "" {
		t.Errorf("LICENSE still holds the template placeholder %s", m)
	}
}

// The e2e specs (tests/, run against `docker compose up`) default to the demo's Flows API address
// and token, so "Save & test" passes against the demo without settings.
func TestE2EDefaultsAreTheDemo(t *testing.T) {
	env := readRepo(t, "tests/env.ts")
	def := func(name string) string {
		m := regexp.MustCompile(name + `\s*=\s*process\.env\.` + name + `\s*\?\?\s*'([^']*)'`).FindStringSubmatch(env)
		if m == nil {
			t.Fatalf("tests/env.ts has no default for %s", name)
		}
		return m[1]
	}
	url := regexp.MustCompile(`(?m)^\s*url:\s*(\S+)`).FindStringSubmatch(readRepo(t, "provisioning/datasources/flows.yaml"))
	if url == nil {
		t.Fatal("provisioning/datasources/flows.yaml has no url")
	}
	if got := def("FLOWS_API_URL"); got != url[1] {
		t.Errorf("tests/env.ts defaults FLOWS_API_URL to %s; the demo's data source uses %s", got, url[1])
	}
	token := regexp.MustCompile(`FLOWS_API_TOKEN:\s*\$\{FLOWS_API_TOKEN:-([^}]*)\}`).FindAllStringSubmatch(readRepo(t, "docker-compose.yml"), -1)
	if len(token) == 0 {
		t.Fatal("docker-compose.yml sets no default FLOWS_API_TOKEN")
	}
	for _, m := range token {
		if got := def("FLOWS_API_TOKEN"); got != m[1] {
			t.Errorf("tests/env.ts defaults FLOWS_API_TOKEN to %s; docker-compose.yml uses %s", got, m[1])
		}
	}
}
