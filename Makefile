# Targets: build, test, demo, bench, lint, fmt. `make test` installs what the
# tests need (Go modules, the Node packages of Grafana's query grammars and
# of Mermaid's parser, the Jaeger and VictoriaLogs binaries) and runs every
# test.

GO       ?= go
NPM      ?= npm
BIN      := bin/migrate
TOOLS    := $(GO) tool -modfile=tools/go.mod
GRAMMAR  := tools/grammar/node_modules/.installed
MERMAID  := tools/mermaid/node_modules/.installed
DEMO_OUT ?= out/demo

.PHONY: build test demo bench lint fmt deps clean

build:
	$(GO) build -o $(BIN) ./cmd/migrate

# The grammar checker's packages, reinstalled when the lockfile changes.
$(GRAMMAR): tools/grammar/package.json tools/grammar/package-lock.json
	$(NPM) ci --prefix tools/grammar --no-audit --no-fund --loglevel=error
	touch $@

# The Mermaid checker's packages, which the parity report tests use.
$(MERMAID): tools/mermaid/package.json tools/mermaid/package-lock.json
	$(NPM) ci --prefix tools/mermaid --no-audit --no-fund --loglevel=error
	touch $@

# The Jaeger v2 binary that internal/jaegertest runs, rebuilt when the tool
# versions change. The first build takes a few minutes.
bin/jaeger: tools/go.mod tools/go.sum
	$(GO) build -modfile=tools/go.mod -o $@ github.com/jaegertracing/jaeger/cmd/jaeger

# VictoriaLogs v1.52.2, the real log receiver of the gateway tests: it takes
# Elasticsearch _bulk and Loki pushes. Its own module keeps its dependencies
# apart from Jaeger's.
bin/victoria-logs: tools/victorialogs/go.mod tools/victorialogs/go.sum
	$(GO) build -modfile=tools/victorialogs/go.mod -o $@ github.com/VictoriaMetrics/VictoriaLogs/app/victoria-logs

deps: $(GRAMMAR) $(MERMAID) bin/jaeger bin/victoria-logs
	$(GO) mod download

# The end-to-end suite runs verbosely, so that when ES_URL, LOKI_URL,
# TEMPO_URL or JAEGER_URL is unset its skip message says which.
test: deps
	$(GO) test -count=1 $$($(GO) list ./... | grep -v '/e2e$$')
	$(GO) test -count=1 -v ./e2e

# The demo plan reads the real exports in testdata/ and targets closed ports
# on 127.0.0.1: it goes through inventory and translate and holds at the
# deploy gate. That hold (exit status 3) is the expected end.
demo: build
	rm -rf $(DEMO_OUT)
	./$(BIN) plan apply testdata/plans/demo.yaml --state $(DEMO_OUT)/demo.state.db; \
		status=$$?; test $$status -eq 0 -o $$status -eq 3
	./$(BIN) plan status testdata/plans/demo.yaml --state $(DEMO_OUT)/demo.state.db
	@echo "Dashboards and reports are in $(DEMO_OUT)/translate/kibana/ and $(DEMO_OUT)/translate/grafana/"

# The benchmarks recorded in docs/benchmarks.md.
bench:
	$(GO) test ./translators/kibana -run '^$$' -bench 'Corpus$$' -benchmem -count 6 -cpu 1,2
	$(GO) test ./translators/kibana -run '^$$' -bench Convert10000Dashboards -benchmem -count 3 -timeout 30m
	$(GO) test ./translators/grafana -run '^$$' -bench Corpus -benchmem -count 6 -cpu 1,2
	$(GO) test ./logmap -run '^$$' -bench . -benchmem -count 3
	$(GO) test ./backfill -run '^$$' -bench 'BackfillConvert$$' -benchmem -count 3 -cpu 1
	$(GO) test ./backfill -run '^$$' -bench 'BackfillConvertMemory' -benchtime 1x -cpu 1
	$(GO) test ./queue -run '^$$' -bench . -benchmem -count 3
	$(GO) test ./gateway -run '^$$' -bench 'ForwardOnly|GatewayBulk' -benchtime 3s -count 3

lint:
	$(GO) vet ./...
	$(TOOLS) staticcheck ./...
	@test -z "$$($(TOOLS) gofumpt -l . | grep -v '^tools/')" || { $(TOOLS) gofumpt -l .; echo "run make fmt"; exit 1; }

fmt:
	$(TOOLS) gofumpt -w $$(git ls-files '*.go')

clean:
	rm -rf bin out
