// promu, Prometheus's build tool, pinned as a build-only tool and kept out
// of the exporter's own go.mod. Built by scripts/build.sh into
// .cache/promu/<version>/promu.
module github.com/consul-status-exporter/consul_status_exporter/tools/promu

go 1.26.0

tool github.com/prometheus/promu

require (
	github.com/Masterminds/semver/v3 v3.3.1 // indirect
	github.com/alecthomas/kingpin/v2 v2.4.0 // indirect
	github.com/alecthomas/units v0.0.0-20240927000941-0f3dac36c52b // indirect
	github.com/google/go-github/v25 v25.1.3 // indirect
	github.com/google/go-querystring v1.0.0 // indirect
	github.com/kr/text v0.2.0 // indirect
	github.com/prometheus/common v0.63.0 // indirect
	github.com/prometheus/promu v0.18.0 // indirect
	github.com/xhit/go-str2duration/v2 v2.1.0 // indirect
	go.uber.org/atomic v1.11.0 // indirect
	golang.org/x/oauth2 v0.28.0 // indirect
	gopkg.in/yaml.v2 v2.4.0 // indirect
)
