# wxbackend: `make run` serves on embedded defaults, `make test` runs every test.
SHELL   := /bin/bash
GO      ?= go
BIN     ?= bin/wxbackend
PKGS    ?= ./...

# make run's defaults: a placeholder app. Set your own appid and secret to talk
# to WeChat.
export WXB_WECHAT_APP_ID     ?= wx0000000000000000
export WXB_WECHAT_APP_SECRET ?= change-me

.PHONY: run build test lint

run: ## serve on embedded defaults (SQLite file + in-memory sessions)
	$(GO) run ./cmd/wxbackend

build: ## build the server binary into bin/
	$(GO) build -trimpath -o $(BIN) ./cmd/wxbackend

test: ## every test, with the race detector, against the local servers
	@for svc in MariaDB:3306 PostgreSQL:5432 Redis:6379; do \
	  name=$${svc%%:*}; port=$${svc##*:}; \
	  if ! (exec 3<>/dev/tcp/127.0.0.1/$$port) 2>/dev/null; then \
	    echo "!!! $$name is not listening on 127.0.0.1:$$port: its tests will be SKIPPED (CI fails instead)."; \
	    echo "!!! bash .ci/run starts it; or point WXB_TEST_*_DSN at yours."; \
	  fi; \
	done
	$(GO) test -race -count=1 $(PKGS)

lint: ## gofmt and go vet
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet $(PKGS)
