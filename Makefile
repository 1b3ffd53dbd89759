# CaDIS Studio — the two sacred commands are `make run` and `make test`.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
PIP    := $(PY) -m pip
SAMPLE ?= data/phantom
SHOT_DIR ?= /tmp/cadis-studio-screenshot
STAMP  := $(VENV)/.installed
TORCH_VERSION ?= 2.13.0
export QT_API = pyside6

.PHONY: setup run run-sample test bench sample lint starter-models installer installer-xvfb clean screenshot \
	screenshot-synthesis

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

# no argument: the last project where you left off; on the very first start the phantom sample (made in your
# data folder, ~/.local/share/CaDIS Studio/) with the starter models. `make run SOURCE=path` opens another one.
SOURCE ?=
run: setup
	PYTHON=$(PY) sh scripts/check_qt_libs.sh
	$(VENV)/bin/cadis-studio $(SOURCE)

run-sample: setup
	PYTHON=$(PY) sh scripts/check_qt_libs.sh
	$(VENV)/bin/cadis-studio --sample

# ruff (rules in pyproject.toml [tool.ruff]) and the import-linter contracts (the layers, [tool.importlinter])
lint: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/lint-imports

test: lint
	QT_QPA_PLATFORM=offscreen $(PY) -m pytest -q -p no:cacheprovider tests

bench: setup
	QT_QPA_PLATFORM=offscreen $(PY) -m benchmarks

# the window as on a first start (maximized) on a 1920x1080 and a 1366x768 screen; a throw-away project
screenshot: setup sample
	rm -rf $(SHOT_DIR)
	$(VENV)/bin/cadis-studio $(SAMPLE) --project $(SHOT_DIR)/project --settings $(SHOT_DIR)/settings.ini \
		--screenshot docs/img/app.png --screen 1920x1080
	$(VENV)/bin/cadis-studio $(SAMPLE) --project $(SHOT_DIR)/project --settings $(SHOT_DIR)/settings.ini \
		--screenshot docs/img/app_1366x768.png --screen 1366x768

# the Synthesize dock with a repaint result (starter model), maximized on a 1920x1080 and a 1366x768 screen
screenshot-synthesis: setup sample
	rm -rf $(SHOT_DIR)-synth && mkdir -p $(SHOT_DIR)-synth/a $(SHOT_DIR)-synth/b
	ln -s $(abspath $(SAMPLE)) $(SHOT_DIR)-synth/a/sample && ln -s $(abspath $(SAMPLE)) $(SHOT_DIR)-synth/b/sample
	QT_QPA_PLATFORM=offscreen $(PY) -m tests.gui.synthesis_probe $(SHOT_DIR)-synth/a 1920x1080 \
		resources/models/starter-synthesis docs/img/repaint.png
	QT_QPA_PLATFORM=offscreen $(PY) -m tests.gui.synthesis_probe $(SHOT_DIR)-synth/b 1366x768 \
		resources/models/starter-synthesis docs/img/repaint_1366x768.png

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
