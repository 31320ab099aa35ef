// Package shim exposes the upstream random provider's plugin-framework provider.
package shim

import (
	tfpf "github.com/hashicorp/terraform-plugin-framework/provider"
	upstream "github.com/terraform-providers/terraform-provider-random/internal/provider"
)

// NewProvider returns the upstream Terraform random provider.
func NewProvider() tfpf.Provider { return upstream.New() }
