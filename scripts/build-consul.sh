#!/usr/bin/env bash
# build-consul.sh [tools/consul|tools/consul-1.20] -- build the pinned Consul
# (3-5 minutes the first time on 2 cores) and print its path.
exec bash "$(dirname "$0")/build-tool.sh" "${1:-tools/consul}" github.com/hashicorp/consul
