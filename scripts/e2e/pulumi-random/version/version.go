// Package version holds the provider version, set at build time with
// -ldflags "-X e2e.local/pulumi-random/version.Version=4.x.y".
package version

var Version string
