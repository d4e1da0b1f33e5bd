# sohoa — two commands on a fresh Debian machine with Python: `make demo` and `make test`.
# Both install what is missing (apt packages, a .venv with the project) and are safe to rerun.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
APT_PACKAGES := tesseract-ocr tesseract-ocr-vie tesseract-ocr-eng tesseract-ocr-osd fonts-dejavu-core fonts-liberation2 poppler-utils softhsm2
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
DEMO_DATA ?= data/demo

.PHONY: demo test lint bench system browser clean-demo

system: ## apt packages: tesseract with Vietnamese and English data, fonts for the sample scans
	@missing=""; \
	for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	$(PYTHON) -c "import ensurepip, venv" >/dev/null 2>&1 || missing="$$missing python3-venv"; \
	if [ -n "$$missing" ]; then \
	  echo "installing system packages:$$missing"; \
	  $(SUDO) apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
	fi

browser: ## Debian's Chromium for the web app's browser tests (Playwright drives /usr/bin/chromium)
	@dpkg -s chromium >/dev/null 2>&1 || { \
	  echo "installing system packages: chromium"; \
	  $(SUDO) apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends chromium >/dev/null; }

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'
	touch $(STAMP)

DEMO_SIGNING = $(DEMO_DATA)/demo-signing
DEMO_ENV = SOHOA_DATA_DIR=$(DEMO_DATA) SOHOA_SIGNING_PKCS12=$(DEMO_SIGNING)/station.p12 \
	SOHOA_SIGNING_PASSWORD=demo SOHOA_SIGNING_TRUST_ROOTS=$(DEMO_SIGNING)/ca.pem

demo: system $(STAMP) ## generate sample scans and import them in embedded mode, signed by a demo station identity
	$(BIN)/python examples/synth.py examples/scans
	$(BIN)/python examples/certificates.py $(DEMO_SIGNING) >/dev/null
	$(DEMO_ENV) $(BIN)/sohoa import examples/scans --wait
	@pdf=$$(find $(DEMO_DATA)/objects -name searchable.pdf | head -n 1); \
	if [ -n "$$pdf" ]; then echo "sohoa verify $$pdf"; $(DEMO_ENV) $(BIN)/sohoa verify "$$pdf"; fi

clean-demo:
	rm -rf $(DEMO_DATA) examples/scans

test: system browser $(STAMP) ## the whole suite, against real PostgreSQL, Redis, RabbitMQ (started if down) and SeaweedFS
	$(BIN)/python scripts/test_servers.py
	$(BIN)/pytest -q

bench: system $(STAMP) ## OCR accuracy and speed against plain tesseract and OCRmyPDF (slow; BENCH_ARGS=--quick)
	@missing=""; \
	for p in unpaper ghostscript; do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing system packages:$$missing"; \
	  $(SUDO) apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
	fi
	$(BIN)/pip install -q -e '.[dev,bench]'
	$(BIN)/python bench/ocr.py $(BENCH_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check errors ingest ocr classifiers storage api tests
	$(BIN)/mypy
