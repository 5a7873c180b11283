#!/usr/bin/env bash
# build-prometheus.sh -- build the pinned Prometheus server of tools/prometheus
# and print its path. Debian's package is built without consul_sd_configs,
# which the /probe discovery test needs.
exec bash "$(dirname "$0")/build-tool.sh" tools/prometheus github.com/prometheus/prometheus/cmd/prometheus
