# CaDIS Studio — the two sacred commands are `make run` and `make test`.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
PIP    := $(PY) -m pip
SAMPLE ?= data/phantom
STAMP  := $(VENV)/.installed
TORCH_VERSION ?= 2.13.0
export QT_API = pyside6

.PHONY: setup run test bench sample lint starter-models installer installer-xvfb clean screenshot

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PIP) install -q --upgrade pip

# torch first: pin the CPU wheel that lies on this disk when it exists, otherwise the normal index
# (a user's workstation gets its CUDA build there). See docs/adr/0002-install-torch-first.md.
$(STAMP): pyproject.toml | $(PY)
	$(PIP) install -q "torch==$(TORCH_VERSION)" || $(PIP) install -q torch
	$(PIP) install -q -e ".[test,lora]"
	touch $(STAMP)

setup: $(STAMP)

$(SAMPLE)/.complete: | $(STAMP)
	$(VENV)/bin/cadis phantom $(SAMPLE) --videos 3 --frames-per-video 8 --seed 0
	touch $(SAMPLE)/.complete

sample: $(SAMPLE)/.complete

run: setup sample
	$(VENV)/bin/cadis-studio $(SAMPLE)

test: setup
	$(VENV)/bin/lint-imports
	QT_QPA_PLATFORM=offscreen $(PY) -m pytest -q -p no:cacheprovider tests

bench: setup
	QT_QPA_PLATFORM=offscreen $(PY) -m benchmarks

screenshot: setup sample
	QT_QPA_PLATFORM=offscreen $(VENV)/bin/cadis-studio $(SAMPLE) --screenshot docs/img/app.png

starter-models: setup
	$(PY) -m benchmarks.train_starter_models

# The onedir bundle lands in dist/cadis-studio/ (see docs/reliability.md#the-installer); the smoke test starts
# the built app offscreen on a phantom sample and checks its screenshot is not blank.
installer: setup
	$(PIP) install -q "pyinstaller>=6.0"
	$(VENV)/bin/pyinstaller --noconfirm --log-level WARN installer.spec
	PYTHON=$(PY) scripts/smoke_installer.sh dist/cadis-studio

installer-xvfb: installer
	XVFB=1 PYTHON=$(PY) scripts/smoke_installer.sh dist/cadis-studio

clean:
	rm -rf build dist .pytest_cache

# Every CUDA path once, one table (< 5 min on one GPU); on a machine without CUDA one line and exit 0.
# GPU_CHECK_ARGS="--json gpu-check.json" keeps the numbers; "--dry-run" runs it all on the CPU at tiny sizes.
.PHONY: gpu-check
gpu-check: setup
	QT_QPA_PLATFORM=offscreen $(PY) -m benchmarks.gpu_check $(GPU_CHECK_ARGS)
