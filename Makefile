# The two commands a newcomer needs: `make demo` and `make test`. Both set up .venv first.
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: setup demo test lint bench bundles server-binary clean

setup: $(STAMP)

# torch is pinned to a CPU build on this project's machines (a plain `pip install torch`
# pulls a multi-GB CUDA build); on a GPU machine install your CUDA torch into .venv first.
$(STAMP): pyproject.toml requirements.lock
	python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip show torch >/dev/null 2>&1 || $(PY) -m pip install -q torch==2.13.0
	$(PY) -m pip install -q -c requirements.lock -e '.[dev,batch]'
	touch $(STAMP)

demo: setup
	$(VENV)/bin/pixels demo --out-dir demo-output

test: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(PY) -m pytest

# The plug-in bundles artists install: dist/pixels-gimp/, dist/pixels-gimp.zip, dist/pixels-krita.zip
bundles: setup
	$(PY) packaging/build_plugins.py

# dist/pixels/pixels, a one-folder PyInstaller build bundling the torch installed in .venv
server-binary: setup
	$(PY) packaging/build_server.py

bench: setup
	$(PY) benchmarks/bench_engine.py

clean:
	rm -rf $(VENV) demo-output dist build
