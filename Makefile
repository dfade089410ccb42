# The front door. `make dev` runs the whole stack locally; `make test` runs every test.
# Both install what they need (./.venv; make test also ./.venv-sam for the SAM CLI) and are safe to run twice.

SHELL := /bin/bash
VENV := .venv
PYTHON ?= python3
STAMP := $(VENV)/.installed
SAM_VENV := .venv-sam
SAM_STAMP := $(SAM_VENV)/.installed
SAM_APP_DIR := $(SAM_VENV)/sam-app

# SAM and cfn-lint run without AWS credentials or network: no credentials or profile to pick up,
# a fixed region (cfn-lint and the SAM translator need one), no telemetry, no version check.
SAM_ENV := env -u AWS_ACCESS_KEY_ID -u AWS_SECRET_ACCESS_KEY -u AWS_SESSION_TOKEN -u AWS_PROFILE \
	AWS_DEFAULT_REGION=us-east-1 AWS_REGION=us-east-1 AWS_CONFIG_FILE=/dev/null \
	AWS_SHARED_CREDENTIALS_FILE=/dev/null AWS_EC2_METADATA_DISABLED=true \
	SAM_CLI_TELEMETRY=0 __SAM_CLI_APP_DIR=$(CURDIR)/$(SAM_APP_DIR)

# Every function, by its directory under functions/ (also its package, binary and the template's
# BuildProperties.Binary: tests/tests/it/least_privilege.rs holds the template to that).
FUNCTIONS := $(notdir $(wildcard functions/*))
# The release build of every function as Lambda runs it, in one cargo invocation (dependencies
# compiled once, the ten binaries built on both cores), into
# target/lambda/<function>/bootstrap. `sam-build` and `bench-cold` both use it, so the bench
# measures the binaries SAM deploys.
LAMBDA_BUILD := cargo lambda build --release --locked $(addprefix -p ,$(FUNCTIONS))

.PHONY: dev events local-aws test venv fmt lint test-build cargo-test lambda-build e2e contract browser chromium client spec-generators example bench bench-cold bench-refresh build infra-check sam-build clean help

help:
	@echo "make dev   - moto + fake TikTok + every function under cargo lambda watch (Ctrl-C stops all)"
	@echo "make test  - fmt check, clippy -D warnings, template checks, unit, integration, local-aws, e2e, contract and browser tests, sam build"
	@echo "make events - the events a running make dev put on its bus (Ctrl-C stops watching)"
	@echo "make contract - the functions against infra/openapi.yaml with schemathesis (own ports, ~2 min)"
	@echo "make browser  - the settings page in headless Chromium (installs chromium and playwright-core; own ports)"
	@echo "make client   - the TypeScript client (clients/typescript): no drift from the spec, its unit tests"
	@echo "make spec-generators - infra/openapi.yaml through openapi-python-client, warnings fail (own venv .venv-gen)"
	@echo "make example  - the Next.js example app (examples/nextjs) built and driven in headless Chromium (own ports)"
	@echo "make infra-check - sam validate --lint of infra/template.yaml, cfn-lint of its SAM transform (offline, no AWS credentials)"
	@echo "make sam-build   - sam build of every function for x86_64 into .aws-sam/build (offline)"
	@echo "make lambda-build - the release build of every function alone (what sam-build starts with)"
	@echo "make bench - warm latency and AWS/TikTok calls per request of every function (release build)"
	@echo "make bench-cold - cold start (init, first response, peak RSS, size) of every release Lambda binary beside a floor and a Node.js peer"
	@echo "make bench-refresh - token-refresh job: accounts/s and peak memory for 1k/10k accounts, 1M-account scale model (~25 min)"

# The venv is rebuilt only when the requirements change (scripts/venv.sh: uv, or pip if uv cannot).
$(STAMP): requirements-dev.txt scripts/venv.sh
	PYTHON=$(PYTHON) ./scripts/venv.sh $(VENV) requirements-dev.txt
	touch $(STAMP)

# SAM CLI (and the cfn-lint that runs with it) lives in a venv of its own: aws-sam-cli pins exact
# boto3/click/pydantic versions, which in .venv would drag moto's boto3 back to SAM's.
# SAM keeps its settings in $(SAM_APP_DIR) instead of ~/.aws-sam; the seeded lastVersionCheck
# (year 2100) keeps every command from asking PyPI for a newer SAM CLI, as SAM has no switch for it.
$(SAM_STAMP): requirements-sam.txt scripts/venv.sh
	PYTHON=$(PYTHON) ./scripts/venv.sh $(SAM_VENV) requirements-sam.txt
	mkdir -p $(SAM_APP_DIR)
	echo '{"telemetryEnabled": false, "lastVersionCheck": 4102444800}' > $(SAM_APP_DIR)/metadata.json
	touch $(SAM_STAMP)

venv: $(STAMP) $(SAM_STAMP)

fmt:
	cargo fmt --all -- --check

# check-feature-sets: the tests, the dev tools and each function alone resolve the same features,
# so one debug build serves them all (docs/development.md#one-debug-build).
lint:
	cargo clippy --workspace --all-targets --locked -- -D warnings
	./scripts/check-feature-sets.py

# `make test`'s lint is its debug build: our own crates are compiled by clippy-driver with warnings
# denied (scripts/rustc-with-clippy as cargo's RUSTC_WORKSPACE_WRAPPER), every target, as `make
# lint` checks them, and the dependencies once instead of a check build for clippy and then a full
# one for the tests. `test` exports the wrapper to every step, because cargo rebuilds our crates
# when the wrapper changes; the release build leaves it out (lambda-build, sam-build).
CLIPPY_AS_COMPILER := RUSTC_WORKSPACE_WRAPPER=$(CURDIR)/scripts/rustc-with-clippy
test-build:
	$(CLIPPY_AS_COMPILER) cargo test --workspace --all-targets --locked --no-run
	./scripts/check-feature-sets.py

# Unit tests and integration tests share one build; integration tests start their own moto
# server (from the venv) and fake TikTok on free ports. sam-build comes last: its release build is
# the slowest part and the least likely to fail.
# scripts/test-steps.sh runs them one after another and prints each one's time at the end (or at the
# first failure). The release build (lambda-build) starts in the background at nice 19 as soon as
# the venv has cargo-lambda and takes mostly the CPU the other steps leave idle (they still run
# 10-55 % slower beside it); sam-build joins it, then finds every binary fresh
# (docs/development.md#make-test-in-the-background).
TEST_STEPS := venv bg:lambda-build fmt test-build infra-check client spec-generators cargo-test local-aws e2e contract browser example join:lambda-build sam-build
test:
	@$(CLIPPY_AS_COMPILER) MAKE="$(MAKE)" ./scripts/test-steps.sh $(TEST_STEPS)

# Eight test threads on two cores: most integration tests wait on moto, the fake TikTok or
# injected AWS delays, not on the CPU. Integration tests took 195 s as twelve binaries at two
# threads each; as tests/tests/it plus faults.rs at eight, 126 s.
TEST_THREADS ?= 8
cargo-test: $(STAMP)
	MOTO_SERVER_BIN=$(CURDIR)/scripts/moto-server cargo test --workspace --locked -- --test-threads=$(TEST_THREADS)

# Warm latency and round trips per request of every HTTP function, against moto and the fake
# TikTok; prints markdown tables. Not part of `make test`. BENCH_ITERATIONS=N to change the count.
bench: $(STAMP)
	MOTO_SERVER_BIN=$(CURDIR)/scripts/moto-server cargo bench -p integration-tests --bench latency --locked

# Cold start of every function's release Lambda binary, built as `sam build` builds them (cargo
# lambda build --release, all in one invocation into target/lambda/<bin>/bootstrap), beside a
# floor (tests/floor-probe: the SDK, JSON logs, one GetItem) and a Node.js peer of user-info
# (tests/bench-node), each run as a child process under a local Lambda Runtime API, against moto
# and the fake TikTok; prints markdown tables. Not part of `make test`. BENCH_COLD_ROUNDS=N changes
# the rounds (default 3). cargo-lambda and its zig come from .venv.
BENCH_NODE_STAMP := tests/bench-node/node_modules/.installed
$(BENCH_NODE_STAMP): tests/bench-node/package-lock.json
	cd tests/bench-node && npm ci --no-audit --no-fund --loglevel=error
	touch $(BENCH_NODE_STAMP)

# The floor joins the functions' build: its dependencies are theirs with the same features, so
# it changes nothing in how they are built (and shares the artifacts of `make sam-build`).
BENCH_COLD_BUILD := $(LAMBDA_BUILD) -p floor-probe

bench-cold: $(STAMP) $(BENCH_NODE_STAMP)
	PATH="$(CURDIR)/$(VENV)/bin:$$PATH" $(BENCH_COLD_BUILD)
	BENCH_COLD_BUILD="$(BENCH_COLD_BUILD)" BENCH_COLD_COMMAND="make bench-cold" \
		MOTO_SERVER_BIN=$(CURDIR)/scripts/moto-server cargo bench -p integration-tests --bench cold_start --locked

# The token-refresh job's throughput (accounts/s) and peak memory over 1,000 and 10,000 due
# accounts at concurrency 1/8/32/64, against the fake TikTok as a separate process (100 ms per
# call), then a scale model for a million accounts; prints markdown tables. Not part of `make
# test`; takes about 25 minutes. BENCH_REFRESH_SIZES, BENCH_REFRESH_CONCURRENCY (comma lists) and
# BENCH_REFRESH_MOTO=0 (skip the moto reference line) shorten it.
bench-refresh: $(STAMP)
	cargo build --release -p fake-tiktok --locked
	MOTO_SERVER_BIN=$(CURDIR)/scripts/moto-server cargo bench -p integration-tests --bench refresh_job --locked

# The local stand-ins for AWS: EventBridge Scheduler and the event bus (scripts/local_aws.py)
# against a moto of its own (schedules fired once, retried, dead-lettered; events collected,
# forwarded), and API Gateway (scripts/gateway.py: routes, the emulator's lost answers).
local-aws: $(STAMP)
	$(VENV)/bin/python tests/local-aws/selftest.py
	$(VENV)/bin/python tests/local-aws/gateway_selftest.py

# The events `make dev` saw on its bus (scripts/local_aws.py collects them), as they arrive.
events: $(STAMP)
	$(VENV)/bin/python scripts/local_aws.py events --follow

# `make dev` + the README's curl walkthrough, on ports of its own.
e2e: $(STAMP)
	PATH="$(CURDIR)/$(VENV)/bin:$$PATH" ./tests/e2e/dev-stack.sh

# The API as infra/openapi.yaml describes it, checked against the running functions: schemathesis
# generates requests for every route (through a stand-in for API Gateway's routes) and checks every
# answer's status, headers and body against the spec, and that none carries a token or secret.
# On ports of its own, after e2e so the functions are already built; about a minute.
contract: $(STAMP)
	PATH="$(CURDIR)/$(VENV)/bin:$$PATH" ./tests/contract/run.sh

# The settings page (/tiktok/console) in a real browser: Debian's chromium (installed with apt
# when missing) driven by playwright-core from npm (tests/browser/package-lock.json), against
# `make dev`'s stack on ports of its own. Screenshots of every step go to target/browser-artifacts/.
BROWSER_STAMP := tests/browser/node_modules/.installed
$(BROWSER_STAMP): tests/browser/package-lock.json
	cd tests/browser && npm ci --no-audit --no-fund --loglevel=error
	touch $(BROWSER_STAMP)

chromium:
	@if [ ! -x /usr/bin/chromium ]; then \
		echo "installing Debian's chromium (apt-get)"; \
		if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
		$$SUDO apt-get update -qq && $$SUDO apt-get install -y -qq chromium; \
	fi

browser: $(STAMP) $(BROWSER_STAMP) chromium
	PATH="$(CURDIR)/$(VENV)/bin:$$PATH" ./tests/browser/run.sh

# The TypeScript client (clients/typescript): its committed types are what openapi-typescript
# generates from infra/openapi.yaml today (no drift), then its unit tests under node's runner.
# npm ci only when its lockfile changed.
client:
	./clients/typescript/run-tests.sh

# A second, non-TypeScript generator must take the spec without a warning: openapi-python-client
# (in .venv-gen, its own venv: it pins httpx, pydantic and ruff versions of its own).
spec-generators:
	./tests/spec-generators/run.sh

# The example app (examples/nextjs) as a person uses it: next build, next start, then headless
# Chromium against `make dev`'s stack on ports of its own (connect, confirm, videos, posts,
# scheduled posts, an event turning an account revoked, disconnect; leak scans).
example: $(STAMP) $(BROWSER_STAMP) chromium
	PATH="$(CURDIR)/$(VENV)/bin:$$PATH" ./tests/example/run.sh

dev: $(STAMP)
	PATH="$(CURDIR)/$(VENV)/bin:$$PATH" ./scripts/dev.sh

build:
	cargo build --workspace --locked

# The template as CloudFormation will see it: SAM's own lint (cfn-lint's API on the template, which
# cfn-lint transforms first; a second plain `cfn-lint` of it ran the same rules again and was
# dropped), and every IAM role SAM generates from it (the inline policies
# themselves are checked against infra/permissions.yaml by tests/tests/it/least_privilege.rs).
# Lint does not see what CloudFormation refuses at create time (a dependency cycle did that), so
# the transformed template is checked too: check_deployable.py (cycles, fixed names, settings a
# new account refuses; its self-test first shows it finds a planted cycle) and cfn-lint on it.
infra-check: $(STAMP) $(SAM_STAMP)
	$(SAM_ENV) $(SAM_VENV)/bin/sam validate --lint --template-file infra/template.yaml
	$(SAM_ENV) $(SAM_VENV)/bin/python tests/infra/check_sam_roles.py infra/template.yaml
	mkdir -p target/infra
	$(SAM_ENV) $(SAM_VENV)/bin/python tests/infra/check_deployable.py --self-test
	$(SAM_ENV) $(SAM_VENV)/bin/python tests/infra/check_deployable.py infra/template.yaml \
		--write-transformed target/infra/transformed.json
	$(SAM_ENV) $(SAM_VENV)/bin/cfn-lint target/infra/transformed.json
	$(SAM_ENV) $(VENV)/bin/python -W ignore tests/infra/create_stack_in_moto.py target/infra/transformed.json

# Release build of every function as Lambda will run it, into .aws-sam/build/<Function>/bootstrap
# (seconds when nothing changed). SAM's rust-cargolambda workflow runs `cargo lambda build
# --release --bin <Binary>` in each function's CodeUri with CARGO_TARGET_DIR set to the
# workspace's one target/; $(LAMBDA_BUILD) first builds them all at once with the same flags and
# features, so SAM finds each binary fresh and only copies it. x86_64 because that is the only
# Rust target on these machines; the built template still says !Ref Architecture, so a deploy of
# these binaries needs the same override.
# SAM passes cargo no --locked, so `cargo fetch --locked` checks Cargo.lock (and downloads any
# missing crate) first and the build itself runs offline. --no-cached: SAM's cache hashes only
# each function's own directory, so a change in shared/ or Cargo.lock would reuse a stale binary;
# cargo's own incremental build makes a rebuild of unchanged functions take seconds anyway.
# --build-in-source is the only mode the Rust workflow has (without it SAM says so per function).
# cargo-lambda and the zig it links with come from .venv. `make lambda-build` is that release
# build alone.
lambda-build: $(STAMP)
	cargo fetch --locked --target x86_64-unknown-linux-gnu
	env -u RUSTC_WORKSPACE_WRAPPER PATH="$(CURDIR)/$(VENV)/bin:$$PATH" CARGO_NET_OFFLINE=true \
		$(LAMBDA_BUILD)

sam-build: lambda-build $(SAM_STAMP)
	env -u RUSTC_WORKSPACE_WRAPPER $(SAM_ENV) PATH="$(CURDIR)/$(VENV)/bin:$$PATH" CARGO_NET_OFFLINE=true \
		$(SAM_VENV)/bin/sam build --no-cached --build-in-source --parameter-overrides Architecture=x86_64

clean:
	cargo clean
	rm -rf $(VENV) $(SAM_VENV) .venv-gen .dev .aws-sam
