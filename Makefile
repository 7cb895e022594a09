# fsel — every target installs what it needs into a project-local virtual environment.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.fsel-installed
# The CPU build of torch: an unpinned torch pulls a multi-GB CUDA build.
TORCH  := torch==2.13.0

.PHONY: install browser demo test lint bench clean datasets

install: $(STAMP)

$(STAMP): pyproject.toml Makefile
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet $(TORCH)
	$(BIN)/python -m pip install --quiet -e '.[dev]' $(TORCH)
	touch $(STAMP)

demo: install
	$(BIN)/fsel datasets
	$(BIN)/fsel evaluate ckd --target class --n-jobs 2 --out runs/ckd

# Headless Chromium and its driver, for the HTML report's browser test (Debian packages).
browser:
	@command -v chromium >/dev/null && command -v chromedriver >/dev/null || { \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver; }

test: install browser
	$(BIN)/python -m pytest -q

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

bench: install
	$(BIN)/python -m benchmarks

# Rebuild datasets/ckd.csv (and the other bundled CSVs) from the raw files in ../shared.
datasets: install
	$(BIN)/python -m fsel._build_datasets

clean:
	rm -rf $(VENV) .pytest_cache build dist *.egg-info
