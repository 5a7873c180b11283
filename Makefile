# consul_status_exporter. `make test` is the whole suite, as .ci/run runs it.
GO        ?= go
BIN       := consul_status_exporter
GOLANGCI_LINT = $$(bash scripts/build-tool.sh tools/golangci-lint github.com/golangci/golangci-lint/v2/cmd/golangci-lint main.version)

# buildah on the project's own storage (vfs under .cache/buildah, chroot), as
# every image script uses it: `$(BUILDAH) images` lists what make docker made.
BUILDAH   := bash scripts/buildah.sh

# make docker's images, one per architecture, and the manifest list naming them.
DOCKER_ARCHS   ?= amd64 arm64 armv7 ppc64le s390x
# make test builds these and runs each on its own architecture (qemu); make
# crossbuild builds every platform of .promu.yml.
TEST_PLATFORMS ?= linux/amd64 linux/arm64 linux/armv7 linux/s390x

.PHONY: multidc all build check test deps lint unit checkmetrics monitoring chart-test chart-files integration fuzz soak bench bench-micro image-test demo docker docker-base crossbuild tarballs release-test systemd-test gameday

all: build

# promu (pinned in tools/promu) builds as .promu.yml says: static, with the
# version, revision, branch, user and date that --version prints.
build:
	cp "$$(bash scripts/build.sh)" $(BIN)

# The whole suite. FUZZ_BUDGET and SOAK_DURATION keep their CI-sized
# defaults; `make soak` alone runs the full 5 minutes. FUZZ_BUDGET is the
# fuzzing time all targets share, so that a new target does not lengthen
# the suite; FUZZTIME=N gives each target N seconds instead.
FUZZ_BUDGET   ?= 420
FUZZTIME      ?=
SOAK_DURATION ?= 5m
SOAK_REPORT   ?=
test: deps lint unit bench-micro checkmetrics monitoring chart-test integration release-test image-test systemd-test fuzz
	$(MAKE) soak SOAK_DURATION=60s

deps:
	bash scripts/install-deps.sh

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed: $$out"; exit 1; fi
	$(GOLANGCI_LINT) run ./...
	cd monitoring/schemacheck && $(GO) vet ./...
	cd charts/test && $(GO) vet ./...
	bash scripts/support-size.sh
	@fmt=$$(bash scripts/build-tool.sh tools/jsonnet github.com/google/go-jsonnet/cmd/jsonnetfmt) && \
		if ! out=$$($$fmt --test $$(git ls-files 'monitoring/*.libsonnet' 'monitoring/*.jsonnet') 2>&1); then echo "jsonnetfmt -i needed: $$out"; exit 1; fi

# The development loop (CONTRIBUTING.md): lint, and the product's unit tests
# with the golden files, the flag and metric tables; Go only (no root, no
# network, no Debian packages); 25 s on a warm cache (CONTRIBUTING.md).
check:
	$(GOLANGCI_LINT) run ./...
	$(GO) test -count=1 . ./collector/... ./internal/logging/ ./internal/selfmetrics/ ./internal/webserver/

unit:
	$(GO) test -race -count=1 ./...

# promtool's lint exits non-zero on any finding. The metric contract names
# consul_runtime_cpu_count, which its "_count suffix" rule flags: that one
# finding, exactly, is allowed; any other fails.
ALLOWED_LINT := consul_runtime_cpu_count non-histogram and non-summary metrics should not have "_count" suffix
checkmetrics:
	@for f in fixtures/*/metrics.golden; do \
		out=$$(promtool check metrics < $$f 2>&1 | grep -vxF '$(ALLOWED_LINT)'); \
		if [ -n "$$out" ]; then echo "$$f:"; echo "$$out"; exit 1; fi; \
	done; echo "promtool check metrics: $$(ls fixtures/*/metrics.golden | wc -l) golden files clean"

# The monitoring mixin: rendered files in sync, promtool check/test rules,
# pint, Grafana's conventions and strict decoding, for the default and an
# overridden _config.
monitoring:
	bash scripts/test-monitoring.sh

# The Helm chart (charts/consul-status-exporter), tested in its own module
# (charts/test) with Helm, etcd, kube-apiserver and prometheus-operator
# pinned in tools/: helm lint --strict and template, strict decoding into the
# Kubernetes and prometheus-operator types, a real API server, and the
# ServiceMonitor end to end (the operator's configuration, the pinned
# Prometheus scraping a real three-server Consul through /probe).
chart-test:
	cd charts/test && $(GO) test -count=1 -v -timeout 30m ./...

# The mixin's rendered files, copied into the chart (Helm reads only files
# inside it); make chart-test fails when they differ.
chart-files:
	cp monitoring/rules.yaml monitoring/alerts.yaml charts/consul-status-exporter/files/
	cp monitoring/dashboards/consul-status.json charts/consul-status-exporter/files/

# The micro-benchmarks, once each, so that they cannot rot; `make bench`
# is the measurement (docs/benchmarks.md).
bench-micro:
	$(GO) test -run '^$$' -bench . -benchmem -benchtime=1x ./collector/

bench:
	$(GO) run ./bench $(BENCH_FLAGS)

# promu and its modules are fetched first: the tests run in a network
# namespace of their own (only loopback), where make demo's build could not
# download them on a fresh machine.
integration:
	bash scripts/build.sh >/dev/null
	$(GO) test -race -tags integration -count=1 -v -timeout 20m ./integration/

# Every fuzz target, one after the other, sharing FUZZ_BUDGET seconds
# (or FUZZTIME seconds each).
fuzz:
	bash scripts/fuzz.sh $(if $(FUZZTIME),$(FUZZTIME),-budget $(FUZZ_BUDGET))

# 8 scrapers against a real agent restarted twice: nothing fails, nothing
# grows. SOAK_REPORT=FILE writes the figures (docs/reliability.md quotes them).
soak:
	$(GO) test -tags 'integration soak' -run TestSoak -count=1 -v -timeout 15m ./integration/ \
		-args -soak.duration=$(SOAK_DURATION) $(if $(SOAK_REPORT),-soak.report=$(abspath $(SOAK_REPORT)))

# The game day: the shipped rules beside the rules operators copy for
# consul_exporter, on real clusters (thirteen at once: round one's seven, and
# round two's network faults, inside the test binary's own network namespace,
# rolling upgrades from 1.20.6, and the network faults at 15s and 30s
# scrapes) through a real Alertmanager, fault after fault; about 20 minutes
# on a shared machine (docs/gameday.md). -gameday.clusters=H,L runs some.
# Writes docs/gameday.md (between its markers) and docs/gameday/*.jsonl.gz.
# GAMEDAY_FLAGS passes more, e.g. -gameday.only=quorum. Not part of make
# test, which runs the short variants (TestGameDayShort, TestGameDayShortNetwork)
# in make integration.
GAMEDAY_FLAGS ?=
gameday: deps
	$(GO) test -tags 'integration gameday' -run 'TestGameDay$$' -count=1 -parallel 13 -v -timeout 90m ./integration/ \
		-args -gameday.report=$(abspath docs/gameday.md) $(GAMEDAY_FLAGS)

# Beyond one datacenter, the long variant: the mixin's alerts on
# the real topologies (federation, peering, mixed versions), one Prometheus
# per datacenter; make integration runs the short checks of the metrics.
multidc:
	$(GO) test -tags 'integration multidc' -run 'TestMultiDCAlerts' -count=1 -v -timeout 30m ./integration/

# The Dockerfile, built by buildah on locally assembled busybox bases (no
# Docker engine or registry needed) for amd64, arm64 and armv7, then checked:
# user 65534 (nobody), entrypoint, exposed port = default listen port, architecture,
# the manifest list; the amd64 one runs: --version, a live /metrics.
image-test: deps
	bash scripts/test-image.sh

docker-base: deps
	for a in $(DOCKER_ARCHS); do ARCH=$$a bash scripts/build-image-base.sh || exit 1; done

# localhost/consul_status_exporter-linux-<arch>:<VERSION> for each of
# DOCKER_ARCHS and the manifest list localhost/consul_status_exporter:<VERSION>.
docker: deps
	bash scripts/build-image.sh $(DOCKER_ARCHS)

# Every platform of .promu.yml into .build/<os>-<arch>/, as promu crossbuild
# would (scripts/build.sh says why not promu crossbuild itself).
crossbuild:
	rm -rf .build
	bash scripts/build.sh all >/dev/null

# promu's release tarballs of whatever .build/ holds, and sha256sums.txt.
tarballs: crossbuild
	bash scripts/build.sh tarballs

# TEST_PLATFORMS built, packed and checked: static, --version and a scrape of
# a recorded scenario equal to its golden file, each under qemu-<arch>-static
# but amd64; tarball names, contents and sha256sums.txt.
release-test:
	bash scripts/build.sh $(TEST_PLATFORMS) >/dev/null
	bash scripts/build.sh tarballs
	$(GO) test -tags release -count=1 -v ./internal/release/ -args -platforms "$(TEST_PLATFORMS)"

# The example unit, verified by systemd itself.
systemd-test:
	bash scripts/test-systemd.sh

demo:
	bash scripts/demo.sh
