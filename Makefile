# consul_status_exporter. `make test` is the whole suite, as .ci/run runs it.
GO        ?= go
BIN       := consul_status_exporter
STATICCHECK := $(GO) tool -modfile=tools/lint/go.mod staticcheck

BUILDAH   := STORAGE_DRIVER=vfs BUILDAH_ISOLATION=chroot buildah --root .cache/buildah/root --runroot .cache/buildah/run

.PHONY: all build test deps lint unit checkmetrics monitoring integration fuzz soak gameday bench bench-micro image-test demo docker docker-base

all: build

# promu (pinned in tools/promu) builds as .promu.yml says: static, with the
# version, revision, branch, user and date that --version prints.
build:
	cp "$$(bash scripts/build.sh)" $(BIN)

# The whole suite. FUZZTIME and SOAK_DURATION keep their CI-sized defaults;
# `make soak` alone runs the full 5 minutes.
FUZZTIME      ?= 60
SOAK_DURATION ?= 5m
SOAK_REPORT   ?=
test: deps lint unit bench-micro checkmetrics monitoring integration image-test fuzz
	$(MAKE) soak SOAK_DURATION=60s

deps:
	bash scripts/install-deps.sh

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed: $$out"; exit 1; fi
	$(GO) vet ./...
	$(GO) vet -tags 'integration soak record gameday' ./...
	$(STATICCHECK) ./...
	$(STATICCHECK) -tags 'integration soak record gameday' ./...

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

# promtool check/test rules on monitoring/, and the dashboard and rules
# checked against the collector's metric table.
monitoring:
	bash scripts/test-monitoring.sh

# The micro-benchmarks, once each, so that they cannot rot; `make bench`
# is the measurement (docs/benchmarks.md).
bench-micro:
	$(GO) test -run '^$$' -bench . -benchmem -benchtime=1x ./collector/

bench:
	$(GO) run ./bench $(BENCH_FLAGS)

integration:
	$(GO) test -race -tags integration -count=1 -v -timeout 20m ./integration/

# Every fuzz target for FUZZTIME seconds, one after the other.
fuzz:
	bash scripts/fuzz.sh $(FUZZTIME)

# 8 scrapers against a real agent restarted twice: nothing fails, nothing
# grows. SOAK_REPORT=docs/soak.md writes the figures.
soak:
	$(GO) test -tags 'integration soak' -run TestSoak -count=1 -v -timeout 15m ./integration/ \
		-args -soak.duration=$(SOAK_DURATION) $(if $(SOAK_REPORT),-soak.report=$(abspath $(SOAK_REPORT)))

# The game day (issue 11): the shipped rules beside the rules operators copy
# for consul_exporter, on real clusters (four at once) through a real
# Alertmanager, fault after fault; about 15 minutes on an idle machine.
# Writes docs/gameday.md (between its markers) and docs/gameday/*.jsonl.
# GAMEDAY_FLAGS passes more, e.g. -gameday.only=quorum. Not part of make
# test, which runs the short variant (TestGameDayShort) in make integration.
GAMEDAY_FLAGS ?=
gameday: deps
	$(GO) test -tags 'integration gameday' -run 'TestGameDay$$' -count=1 -parallel 4 -v -timeout 90m ./integration/ \
		-args -gameday.report=$(abspath docs/gameday.md) $(GAMEDAY_FLAGS)

# The Dockerfile, built by buildah on a locally assembled busybox base (no
# Docker engine or registry needed), then checked: static binary, user
# nobody, exposed port = default listen port, --version, a live /metrics.
image-test:
	bash scripts/test-image.sh

docker-base:
	bash scripts/build-image-base.sh

docker: docker-base
	bash scripts/build.sh >/dev/null
	$(BUILDAH) build --pull-never -t consul_status_exporter:$$(cat VERSION) .

demo:
	bash scripts/demo.sh
