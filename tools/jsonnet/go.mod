// go-jsonnet's jsonnet and jsonnetfmt, pinned as tools and kept out of the
// exporter's own go.mod: they render and format the monitoring mixin.
// Built by scripts/build-tool.sh into .cache/<name>/<version>/<name>.
module github.com/consul-status-exporter/consul_status_exporter/tools/jsonnet

go 1.26.0

tool (
	github.com/google/go-jsonnet/cmd/jsonnet
	github.com/google/go-jsonnet/cmd/jsonnetfmt
)

require (
	github.com/fatih/color v1.18.0 // indirect
	github.com/google/go-jsonnet v0.22.0 // indirect
	github.com/mattn/go-colorable v0.1.13 // indirect
	github.com/mattn/go-isatty v0.0.20 // indirect
	golang.org/x/crypto v0.45.0 // indirect
	golang.org/x/sys v0.38.0 // indirect
	sigs.k8s.io/yaml v1.4.0 // indirect
)
