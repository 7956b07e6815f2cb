# joblot — make test runs the whole suite against real redis-server
# processes that the tests start themselves (internal/redistest).

GO ?= go
# The race detector needs cgo and a C compiler; use it wherever they exist.
RACE ?= $(shell [ "$$($(GO) env CGO_ENABLED)" = 1 ] && command -v gcc >/dev/null 2>&1 && echo -race)

.PHONY: test lint bench redis-server demo

# Nested modules (otel/) have their own go.mod, which ./... skips.
SUBMODULES := otel

test: redis-server
	$(GO) vet ./...
	$(GO) test $(RACE) -count=1 -timeout 20m ./...
	for m in $(SUBMODULES); do (cd $$m && $(GO) vet ./... && $(GO) test $(RACE) -count=1 -timeout 20m ./...) || exit 1; done

# Tests need redis-server on PATH; install it when missing and we can.
redis-server:
	@command -v redis-server >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq redis-server >/dev/null; \
	  elif command -v sudo >/dev/null 2>&1; then sudo apt-get update -qq && sudo apt-get install -y -qq redis-server >/dev/null; \
	  else echo "redis-server is missing: install it (Debian/Ubuntu: apt-get install -y redis-server)"; exit 1; fi; }

lint:
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { gofmt -l $$(git ls-files '*.go'); exit 1; }
	$(GO) vet ./...
	for m in $(SUBMODULES); do (cd $$m && $(GO) vet ./...) || exit 1; done

bench: redis-server
	$(GO) test -run '^$$' -bench . -benchtime 2x ./...

demo:
	$(GO) run ./cmd/joblot demo
