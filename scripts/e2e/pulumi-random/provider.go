// Package random bridges the Terraform random provider (plugin framework) into a Pulumi
// resource provider with the tokens of the pulumi-random package
// (random:index/randomPassword:RandomPassword, ...). Built only for the end-to-end test tier:
// the Go module proxy serves neither github.com/pulumi/pulumi-random/provider/v4 nor its shim.
package random

import (
	_ "embed"
	"fmt"

	pftfbridge "github.com/pulumi/pulumi-terraform-bridge/v3/pkg/pf/tfbridge"
	"github.com/pulumi/pulumi-terraform-bridge/v3/pkg/tfbridge"
	"github.com/terraform-providers/terraform-provider-random/shim"

	"e2e.local/pulumi-random/version"
)

// Written by `pulumi-tfgen-random schema` (scripts/e2e-tools generates it before the build).
//
//go:embed cmd/pulumi-resource-random/bridge-metadata.json
var metadata []byte

// Resources maps every Terraform resource of the upstream provider to its pulumi-random token.
var Resources = map[string]string{
	"random_bytes":    "RandomBytes",
	"random_id":       "RandomId",
	"random_integer":  "RandomInteger",
	"random_password": "RandomPassword",
	"random_pet":      "RandomPet",
	"random_shuffle":  "RandomShuffle",
	"random_string":   "RandomString",
	"random_uuid":     "RandomUuid",
	"random_uuid4":    "RandomUuid4",
	"random_uuid7":    "RandomUuid7",
}

// Provider returns the bridge's description of the provider.
func Provider() tfbridge.ProviderInfo {
	info := tfbridge.ProviderInfo{
		P:            pftfbridge.ShimProvider(shim.NewProvider()),
		Name:         "random",
		DisplayName:  "random",
		Version:      version.Version,
		Publisher:    "Pulumi",
		GitHubOrg:    "hashicorp",
		Repository:   "https://github.com/pulumi/pulumi-random",
		License:      "Apache-2.0",
		Description:  "A Pulumi package to safely use randomness in Pulumi programs.",
		Keywords:     []string{"random"},
		MetadataInfo: tfbridge.NewProviderMetadata(metadata),
		Resources:    map[string]*tfbridge.ResourceInfo{},
	}
	for tf, name := range Resources {
		info.Resources[tf] = &tfbridge.ResourceInfo{Tok: tfbridge.MakeResource("random", "index", name)}
	}
	if info.Version == "" {
		panic(fmt.Sprintf("build %s with -ldflags -X e2e.local/pulumi-random/version.Version=...", info.Name))
	}
	return info
}
