// pulumi-tfgen-random writes schema.json and bridge-metadata.json for pulumi-resource-random.
package main

import (
	pftfgen "github.com/pulumi/pulumi-terraform-bridge/v3/pkg/pf/tfgen"

	random "e2e.local/pulumi-random"
)

func main() { pftfgen.Main("random", random.Provider()) }
