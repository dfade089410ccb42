# The front door. `make dev` runs the whole stack locally; `make test` runs every test.
# Both install what they need into ./.venv and are safe to run twice.

SHELL := /bin/bash
VENV := .venv
PYTHON ?= python3
STAMP := $(VENV)/.installed

.PHONY: dev test venv fmt lint cargo-test e2e bench bench-refresh build clean help

help:
	@echo "make dev   - moto + fake TikTok + every function under cargo lambda watch (Ctrl-C stops all)"
	@echo "make test  - fmt check, clippy -D warnings, unit and integration tests"
	@echo "make bench - warm latency and AWS/TikTok calls per request of every function (release build)"
	@echo "make bench-refresh - token-refresh job: accounts/s and peak memory for 1k/10k accounts, 1M-account scale model (~25 min)"

# The venv is rebuilt only when the requirements change.
$(STAMP): requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $(STAMP)

venv: $(STAMP)

fmt:
	cargo fmt --all -- --check

lint:
	cargo clippy --workspace --all-targets --locked -- -D warnings

# Unit tests and integration tests share one build; integration tests start their own moto
# server (from the venv) and fake TikTok on free ports.
test: venv fmt lint cargo-test e2e

cargo-test: venv
	MOTO_SERVER_BIN=$(CURDIR)/scripts/moto-server cargo test --workspace --locked

# Warm latency and round trips per request of every HTTP function, against moto and the fake
# TikTok; prints markdown tables. Not part of `make test`. BENCH_ITERATIONS=N to change the count.
bench: venv
	MOTO_SERVER_BIN=$(CURDIR)/scripts/moto-server cargo bench -p integration-tests --bench latency --locked

# The token-refresh job's throughput (accounts/s) and peak memory over 1,000 and 10,000 due
# accounts at concurrency 1/8/32/64, against the fake TikTok as a separate process (100 ms per
# call), then a scale model for a million accounts; prints markdown tables. Not part of `make
# test`; takes about 25 minutes. BENCH_REFRESH_SIZES, BENCH_REFRESH_CONCURRENCY (comma lists) and
# BENCH_REFRESH_MOTO=0 (skip the moto reference line) shorten it.
bench-refresh: venv
	cargo build --release -p fake-tiktok --locked
	MOTO_SERVER_BIN=$(CURDIR)/scripts/moto-server cargo bench -p integration-tests --bench refresh_job --locked

# `make dev` + the README's curl walkthrough, on ports of its own.
e2e: venv
	PATH="$(CURDIR)/$(VENV)/bin:$$PATH" ./tests/e2e/dev-stack.sh

dev: venv
	PATH="$(CURDIR)/$(VENV)/bin:$$PATH" ./scripts/dev.sh

build:
	cargo build --workspace --locked

clean:
	cargo clean
	rm -rf $(VENV) .dev
