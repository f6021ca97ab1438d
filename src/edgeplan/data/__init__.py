"""Datasets (streaming readers), accuracy metrics and label-free agreement."""
