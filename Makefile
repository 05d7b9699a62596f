# Plugyard — two commands: `make run` (the whole local stack) and `make test` (lint + every test).
SHELL := /bin/bash
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
COV_MIN ?= 88
export PYTHONPATH := $(CURDIR):$(CURDIR)/plugin-runtime
export AWS_DEFAULT_REGION ?= us-east-1

.PHONY: run test lint security format unit integration bench screenshots system-deps browser-deps console-deps clean

$(STAMP): requirements.txt requirements-dev.txt plugin-runtime/pyproject.toml pyproject.toml
	@test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install -q --disable-pip-version-check -r requirements-dev.txt 2>&1 | grep -v "is ignored" || true
	@# The `plugyard` and `plugyard-admin` commands (pyproject's [project.scripts]), editable: this checkout's code.
	$(BIN)/pip install -q --disable-pip-version-check --no-deps -e . 2>&1 | grep -v "is ignored" || true
	@# The plugin SDK and its test kit (plugyard_runtime), editable, so a plugin's own tests run in this virtualenv.
	$(BIN)/pip install -q --disable-pip-version-check --no-deps -e ./plugin-runtime 2>&1 | grep -v "is ignored" || true
	@$(BIN)/python -c "import chalice, moto, pynamodb, waitress" || { echo "dependency install failed"; exit 1; }
	@test -x $(BIN)/plugyard || { echo "the plugyard command was not installed"; exit 1; }
	@env -u PYTHONPATH $(BIN)/python -c "import plugyard_runtime.testing" || { echo "the plugin test kit was not installed"; exit 1; }
	@touch $(STAMP)

# Debian packages the sandbox needs; installed only when missing so repeated runs stay fast.
system-deps:
	@command -v bwrap >/dev/null || { echo "Installing bubblewrap (Debian)…"; \
		(apt-get update -qq && apt-get install -y -qq bubblewrap) >/dev/null; }

# The three browser engines the console's tests drive (tests/e2e/browsers/): Debian's Chromium, Firefox ESR and
# WPE WebKit (its WebDriver and the cog browser); installed only when missing. Nothing is downloaded at run time.
BROWSER_PKGS := chromium:/usr/bin/chromium firefox-esr:/usr/bin/firefox-esr wpewebkit-driver:/usr/bin/WPEWebDriver cog:/usr/bin/cog
browser-deps:
	@missing=""; for pair in $(BROWSER_PKGS); do test -x "$${pair#*:}" || missing="$$missing $${pair%%:*}"; done; \
	if [ -n "$$missing" ]; then echo "Installing$$missing (Debian)…"; \
		(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing) >/dev/null; fi

# The console's npm packages (axe-core for the accessibility checks), exactly as the lockfile pins them.
CONSOLE_NPM := tests/e2e/browsers
$(CONSOLE_NPM)/node_modules/.package-lock.json: $(CONSOLE_NPM)/package.json $(CONSOLE_NPM)/package-lock.json
	cd $(CONSOLE_NPM) && npm ci --no-audit --no-fund --loglevel=error
console-deps: $(CONSOLE_NPM)/node_modules/.package-lock.json

run: $(STAMP) system-deps
	$(BIN)/python -m chalicelib.local.stack

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy chalicelib plugin-runtime/plugyard_runtime

# Security scan: bandit's rules (ruff's S) over the project's own code, each finding fixed or argued in
# place with `# noqa: S…`; then a vulnerability audit of the pinned dependencies (infra/audit_dependencies.py
# says SKIPPED, and why, when no vulnerability service is reachable).
security: $(STAMP)
	$(BIN)/ruff check --select S .
	$(BIN)/python infra/audit_dependencies.py

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

test: $(STAMP) system-deps browser-deps console-deps lint security
	rm -f .coverage .coverage.*
	COVERAGE_PROCESS_START=$(CURDIR)/pyproject.toml $(BIN)/python -m pytest -p no:cacheprovider \
		--durations=25 --cov --cov-report=term --cov-fail-under=$(COV_MIN) tests

unit: $(STAMP)
	$(BIN)/python -m pytest -q tests/unit

# Every benchmark, one after the other (each starts its own stack on free ports); reports, not tests.
bench: $(STAMP) system-deps
	$(BIN)/python bench/api_latency.py --server waitress
	$(BIN)/python bench/installs.py
	$(BIN)/python bench/events.py
	$(BIN)/python bench/webhooks.py
	$(BIN)/python bench/invoke.py
	$(BIN)/python bench/provision.py

# The user guide's pictures of the console (docs/images/), from a fresh make run driven in Chromium.
screenshots: $(STAMP) system-deps browser-deps
	$(BIN)/python -m tests.e2e.console.screenshots

clean:
	rm -rf $(VENV) .coverage .coverage.* .pytest_cache .mypy_cache .ruff_cache out

# Packaging and deployment targets live beside the template.
-include infra/infra.mk
