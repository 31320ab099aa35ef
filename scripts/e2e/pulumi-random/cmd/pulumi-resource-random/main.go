// pulumi-resource-random is the Pulumi resource provider plugin "random".
package main

import (
	"context"
	_ "embed"

	pftfbridge "github.com/pulumi/pulumi-terraform-bridge/v3/pkg/pf/tfbridge"

	random "e2e.local/pulumi-random"
)

// Written by `pulumi-tfgen-random schema` (scripts/e2e-tools generates it before the build).
//
//go:embed schema.json
var schema []byte

func main() {
	pftfbridge.Main(context.Background(), "random", random.Provider(),
		pftfbridge.ProviderMetadata{PackageSchema: schema})
}
