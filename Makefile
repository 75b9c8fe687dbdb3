# The README's two commands: `make demo` and `make test`. Everything else is a step of those.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python

.PHONY: install demo test bench lint format clean lock audit

# Exactly the versions and hashes in requirements.lock (made from pyproject.toml by `make lock`), then the
# project itself without looking at its dependencies again.
$(VENV)/.installed: pyproject.toml requirements.lock
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --require-hashes -r requirements.lock
	$(PY) -m pip install --quiet --no-deps -e .
	touch $@

install: $(VENV)/.installed

demo: install
	mkdir -p var
	DJANGO_DEBUG=1 $(PY) manage.py demo

test: install
	$(PY) -m pytest

# `make bench` runs every part; `make bench PARTS="image_intake audit"` runs some.
bench: install
	$(PY) bench/run.py $(PARTS)

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy config integrations media_sync tests bench

format: install
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

# After changing a pin in pyproject.toml: every package, pinned with its hashes, for Python 3.11.
lock: install
	$(PY) -m pip install --quiet uv==0.13.9
	$(VENV)/bin/uv pip compile pyproject.toml --all-extras --generate-hashes --python-version 3.11 \
		--no-header --quiet -o requirements.lock

# Known vulnerabilities in anything the lock installs (CI runs it).
audit: install
	$(PY) .ci/audit.py

clean:
	rm -rf $(VENV) var
