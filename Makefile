# consul_status_exporter. `make test` is the whole suite, as .ci/run runs it.
GO        ?= go
BIN       := consul_status_exporter
VERSION   := $(shell cat VERSION)
REVISION  := $(shell git rev-parse HEAD 2>/dev/null || echo unknown)
BRANCH    := $(shell git rev-parse --abbrev-ref HEAD 2>/dev/null || echo unknown)
BUILDUSER := $(shell id -un)@$(shell hostname)
BUILDDATE := $(shell date -u +%Y%m%d-%H:%M:%S)
VPKG      := github.com/prometheus/common/version
LDFLAGS   := -X $(VPKG).Version=$(VERSION) -X $(VPKG).Revision=$(REVISION) -X $(VPKG).Branch=$(BRANCH) \
             -X $(VPKG).BuildUser=$(BUILDUSER) -X $(VPKG).BuildDate=$(BUILDDATE)
STATICCHECK := $(GO) tool -modfile=tools/lint/go.mod staticcheck

.PHONY: all build test deps lint unit checkmetrics integration demo docker

all: build

# Static: the image's busybox base has no C library.
build:
	CGO_ENABLED=0 $(GO) build -ldflags "$(LDFLAGS)" -o $(BIN) .

test: deps lint unit checkmetrics integration

deps:
	bash scripts/install-deps.sh

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed: $$out"; exit 1; fi
	$(GO) vet ./...
	$(GO) vet -tags integration ./...
	$(STATICCHECK) ./...
	$(STATICCHECK) -tags integration ./...

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

integration:
	$(GO) test -tags integration -count=1 -v -timeout 15m ./integration/

demo:
	bash scripts/demo.sh
