// Package buildcheck holds tests of the repository's build files: the Dockerfile that builds
// the demo images, read with BuildKit's own parser. It has no code of its own.
package buildcheck
