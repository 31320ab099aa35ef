// Command coredns is CoreDNS with only the plugins the end-to-end node needs: it answers the cluster's names
// (pods, headless Services) from the API server and nothing else (no upstream exists on these machines).
// Built by scripts/e2e-tools; a custom plugin list as CoreDNS documents it (plugin.cfg), kept in Go here.
package main

import (
	"github.com/coredns/coredns/core/dnsserver"
	"github.com/coredns/coredns/coremain"

	_ "github.com/coredns/coredns/plugin/bind"
	_ "github.com/coredns/coredns/plugin/errors"
	_ "github.com/coredns/coredns/plugin/kubernetes"
	_ "github.com/coredns/coredns/plugin/template"
)

func init() {
	// The order of plugin.cfg, restricted to these four.
	dnsserver.Directives = []string{"bind", "errors", "template", "kubernetes"}
}

func main() { coremain.Run() }
