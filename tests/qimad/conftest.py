"""Shared helpers for the labkit-qimad tests: the sequential reference and a tiny regression task."""

from __future__ import annotations

import importlib.util
import pathlib
import sys

import pytest
import torch


def load_reference():
    """Import tests/qimad/reference_qimad.py by path (tests use --import-mode=importlib)."""
    name = "labkit_tests_qimad_reference"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, pathlib.Path(__file__).with_name("reference_qimad.py"))
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


@pytest.fixture
def reference():
    return load_reference().ReferenceQIMAD


def make_task(seed: int = 0, hidden: int = 8, dtype: torch.dtype = torch.float32):
    """A small MLP regression problem: (model, closure factory)."""
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(32, 3, generator=g).to(dtype)
    y = torch.sin(x.sum(dim=1, keepdim=True))
    torch.manual_seed(seed)
    model = torch.nn.Sequential(torch.nn.Linear(3, hidden), torch.nn.Tanh(), torch.nn.Linear(hidden, 1)).to(dtype)

    def closure_for(opt):
        def closure():
            opt.zero_grad()
            loss = torch.nn.functional.mse_loss(model(x), y)
            loss.backward()
            return loss
        return closure

    return model, closure_for


@pytest.fixture
def task():
    return make_task
