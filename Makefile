# Two commands on a fresh Debian machine: `make search` (the main job) and `make test`.
# Each sets itself up: .venv, torch==2.13.0 first (a CPU wheel), then the package and its dev
# and export extras, and, when run as root, the Debian packages it needs.

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
DEBIAN_PACKAGES := dataset-fashion-mnist
FASHION_MNIST := /usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz

.PHONY: setup system-packages test-packages search show test test-fast lint format clean bench

setup: $(STAMP) system-packages

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet torch==2.13.0
	$(PY) -m pip install --quiet -e '.[dev,export]'
# timm only for the timm round-trip tests; --no-deps keeps torchvision out (tests/timm_shim stands in).
	$(PY) -m pip install --quiet --no-deps timm==1.0.31
	touch $(STAMP)

system-packages:
	@if [ ! -f $(FASHION_MNIST) ]; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(DEBIAN_PACKAGES); \
	  else \
	    echo "note: $(FASHION_MNIST) missing; run 'sudo apt-get install $(DEBIAN_PACKAGES)' (or use dataset=mnist5k)"; \
	  fi; \
	fi

# The PostgreSQL server the worker tests start for themselves (skipped when missing and not root).
test-packages: system-packages
	@if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql; \
	  else \
	    echo "note: PostgreSQL server binaries missing; the PostgreSQL tests will be skipped"; \
	  fi; \
	fi

search: setup
	$(PY) -m nas.search $(ARGS)

show: setup
	$(PY) -m search_spaces.show $(or $(SPEC),efficientnet_b0)

# The whole suite (what CI runs): TEST_WORKERS pytest processes share the files, then the tests that
# time things run alone; each part ends with its slowest tests. Idle OpenMP threads sleep instead of
# spinning, so two workers' threads do not starve each other on two cores.
TEST_WORKERS ?= 2
PYTEST := OMP_WAIT_POLICY=PASSIVE $(PY) -m pytest -q --durations=15
# A pass that selects nothing (exit 5, e.g. PYTEST_ARGS=tests/search_spaces/test_spec.py) is not a failure.
test: setup test-packages
	$(PYTEST) -n $(TEST_WORKERS) --dist loadfile -m "not timing" $(PYTEST_ARGS) || [ $$? -eq 5 ]
	$(PYTEST) -m timing $(PYTEST_ARGS) || [ $$? -eq 5 ]

# The quick tier: every package's unit tests, without the end-to-end runs marked slow.
test-fast: setup test-packages
	$(PYTEST) -n $(TEST_WORKERS) --dist loadfile -m "not slow and not timing" $(PYTEST_ARGS) || [ $$? -eq 5 ]
	$(PYTEST) -m "timing and not slow" $(PYTEST_ARGS) || [ $$? -eq 5 ]

# Each writes benchmarks/results/<name>.json (see benchmarks/README.md); proxy_fidelity takes about 10 minutes.
bench: setup
	$(PY) -m benchmarks.proxy_throughput
	$(PY) -m benchmarks.workers
	$(PY) -m benchmarks.defaults
	$(PY) -m benchmarks.proxy_fidelity

lint: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: setup
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
