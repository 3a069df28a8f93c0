# Two commands: `make run` serves the app with demo data, `make test` runs the suite.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 5000
# Babel names Simplified Chinese (China) zh_Hans_CN; users pick "zh_CN".
PO := supervise/translations/zh_Hans_CN/LC_MESSAGES/messages.po
MO := $(PO:.po=.mo)
PIP := $(BIN)/pip install --disable-pip-version-check -q

.PHONY: run test test-browser test-print lint translations extract-messages clean bench echarts

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# Installs again only when the requirements change.
$(VENV)/.run-deps: requirements.txt | $(BIN)/python
	$(PIP) -r requirements.txt
	touch $@

$(VENV)/.dev-deps: requirements-dev.txt $(VENV)/.run-deps
	$(PIP) -r requirements-dev.txt
	touch $@

$(MO): $(PO) $(VENV)/.run-deps
	$(BIN)/pybabel compile --statistics -d supervise/translations

translations: $(MO)

run: $(VENV)/.run-deps $(MO)
	$(BIN)/flask --app wsgi db upgrade
	$(BIN)/flask --app wsgi seed-demo
	@echo "Serving on http://127.0.0.1:$(PORT), with the worker (emails, reminders) beside it"
	@$(BIN)/flask --app wsgi worker & worker=$$!; \
	trap 'kill $$worker 2>/dev/null; wait $$worker 2>/dev/null' EXIT; \
	$(BIN)/gunicorn --workers 2 --bind 127.0.0.1:$(PORT) --access-logfile - wsgi:app

test: $(VENV)/.dev-deps $(MO)
	$(BIN)/pytest -m "not browser and not print and not servers" $(PYTEST_ARGS)

# Needs Debian's Chromium and a CJK font:
#   apt-get install -y --no-install-recommends chromium fonts-wqy-microhei
test-browser: $(VENV)/.dev-deps $(MO)
	@test -x /usr/bin/chromium || { echo "Install Chromium first: apt-get install -y chromium fonts-wqy-microhei"; exit 1; }
	$(BIN)/pytest -m browser $(PYTEST_ARGS)

# Prints the ledgers and the official documents to PDF; needs LibreOffice and poppler:
#   apt-get install -y --no-install-recommends libreoffice-calc-nogui libreoffice-writer-nogui poppler-utils
test-print: $(VENV)/.dev-deps $(MO)
	@command -v soffice >/dev/null && command -v pdftotext >/dev/null || { echo "Install LibreOffice and poppler first: apt-get install -y --no-install-recommends libreoffice-calc-nogui libreoffice-writer-nogui poppler-utils"; exit 1; }
	$(BIN)/pytest -m print $(PYTEST_ARGS)

lint: $(VENV)/.dev-deps
	$(BIN)/ruff check .
	$(BIN)/lint-imports

# After changing user-facing strings: refresh the catalogue, then translate the new entries.
# (The template goes to a file of its own: two checkouts extracting at once must not share one.)
extract-messages: $(VENV)/.run-deps
	@pot=$$(mktemp --suffix=.pot) && trap 'rm -f $$pot' EXIT && \
	$(BIN)/pybabel extract -F babel.cfg -k _l -k lazy_gettext --no-location --sort-output -o $$pot . && \
	$(BIN)/pybabel update -i $$pot -d supervise/translations --no-fuzzy-matching --ignore-obsolete

# The benchmarks (bench/): a database grown to 1,000 and to 100,000 findings, on SQLite and on
# PostgreSQL (BENCH_PG, emptied), every list page timed. Needs wrk: apt-get install -y wrk.
BENCH_PG ?= postgresql+psycopg://postgres@127.0.0.1:5432/supervise_bench
BENCH_SIZES ?= 1000 100000
bench: $(VENV)/.dev-deps $(MO)
	@command -v wrk >/dev/null || { echo "Install wrk first: apt-get install -y wrk"; exit 1; }
	@for n in $(BENCH_SIZES); do \
	  for url in sqlite:///$(CURDIR)/bench/data/$$n.db $(BENCH_PG); do \
	    $(BIN)/python bench/grow.py --database $$url --findings $$n >/dev/null 2>&1 && \
	    $(BIN)/python bench/run.py --database $$url --label "$$n findings" 2>/dev/null \
	    || exit 1; \
	  done; \
	done

# Apache ECharts (Apache-2.0), served by the app itself from $(ECHARTS_DIR): the product runs on
# an intranet, with no CDN. `make echarts` packs the pinned version with npm, checks the tarball
# against the registry's dist.integrity, and copies dist/echarts.min.js with its LICENSE, NOTICE
# and the d3 licence it embeds; VERSION records what was taken. Change the version here only.
ECHARTS_VERSION := 6.1.0
ECHARTS_DIR := supervise/static/vendor/echarts
echarts:
	@command -v npm >/dev/null || { echo "Install npm first: apt-get install -y npm"; exit 1; }
	@set -euo pipefail; tmp=$$(mktemp -d); trap 'rm -rf "$$tmp"' EXIT; \
	expected=$$(npm view "echarts@$(ECHARTS_VERSION)" dist.integrity); \
	test -n "$$expected" || { echo "The registry gives no dist.integrity for echarts@$(ECHARTS_VERSION)"; exit 1; }; \
	tarball=$$(cd "$$tmp" && npm pack --silent "echarts@$(ECHARTS_VERSION)" | tail -n 1); \
	actual=$$($(PYTHON) -c 'import base64, hashlib, sys; print("sha512-" + base64.b64encode(hashlib.sha512(open(sys.argv[1], "rb").read()).digest()).decode())' "$$tmp/$$tarball"); \
	test "$$actual" = "$$expected" || { echo "echarts-$(ECHARTS_VERSION).tgz: integrity $$actual, the registry says $$expected"; exit 1; }; \
	tar -xzf "$$tmp/$$tarball" -C "$$tmp" package/dist/echarts.min.js package/LICENSE package/NOTICE package/licenses/LICENSE-d3; \
	mkdir -p $(ECHARTS_DIR); \
	cp "$$tmp/package/dist/echarts.min.js" "$$tmp/package/LICENSE" "$$tmp/package/NOTICE" $(ECHARTS_DIR)/; \
	cp "$$tmp/package/licenses/LICENSE-d3" $(ECHARTS_DIR)/LICENSE-d3; \
	{ echo "Apache ECharts $(ECHARTS_VERSION) (Apache-2.0), from the npm registry by make echarts"; \
	  echo "tarball   $$(npm view "echarts@$(ECHARTS_VERSION)" dist.tarball)"; \
	  echo "integrity $$expected (checked)"; \
	  echo "sha256    $$(sha256sum $(ECHARTS_DIR)/echarts.min.js | cut -d' ' -f1)  echarts.min.js"; } > $(ECHARTS_DIR)/VERSION; \
	cat $(ECHARTS_DIR)/VERSION

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
