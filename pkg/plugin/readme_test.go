package plugin

import (
	"os"
	"regexp"
	"strings"
	"testing"
)

// The README's first two commands are the contract with a new user: the demo and the tests.
// CI must run the same test command.
func TestReadmeListsDemoAndTestCommandsFirst(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	commands := regexp.MustCompile("(?m)^\\|.*\\| `([^`]+)` \\|$").FindAllStringSubmatch(string(readme), -1)
	if len(commands) < 2 || commands[0][1] != "docker compose up --build" || !strings.HasPrefix(commands[1][1], "bash ") {
		t.Fatalf("README's first commands are %v, want the demo and then the test command", commands)
	}
	if i, j := strings.Index(string(readme), commands[0][1]), strings.Index(string(readme), "## Configuring"); i < 0 || i > j {
		t.Fatal("the commands must come before the configuration section")
	}
	testCmd := commands[1][1]
	ci, err := os.ReadFile("../../.ci/run")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(ci), testCmd) {
		t.Fatalf(".ci/run does not run the README's test command %q", testCmd)
	}
	script := strings.TrimPrefix(strings.TrimPrefix(testCmd, "bash "), "./")
	if _, err := os.Stat("../../" + script); err != nil {
		t.Fatalf("test command script: %v", err)
	}
	if _, err := os.Stat("../../docker-compose.yml"); err != nil {
		t.Fatalf("demo command needs docker-compose.yml: %v", err)
	}
}
