package main

import (
	"os"

	"github.com/consul-status-exporter/consul_status_exporter/internal/consultest"
)

// consulExporter builds prometheus/consul_exporter at the version pinned in
// tools/consul_exporter, with that version in its build info, as its own
// release would have it.
func consulExporter() (path, version string, err error) {
	path, err = consultest.BuildTool("tools/consul_exporter", "github.com/prometheus/consul_exporter/cmd/consul_exporter",
		"github.com/prometheus/common/version.Version")
	return path, consultest.ToolVersion(path), err
}

// consulBinary is $CONSUL_BIN, or the pinned Consul of tools/consul.
func consulBinary() (string, error) {
	if b := os.Getenv("CONSUL_BIN"); b != "" {
		return b, nil
	}
	return consultest.BuildTool("tools/consul", "github.com/hashicorp/consul", "")
}
