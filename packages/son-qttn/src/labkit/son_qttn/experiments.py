"""Experiments registered by the plugin; no JAX at import (the work lives in ``_runs``)."""

from __future__ import annotations

from typing import Any

from labkit.core import Experiment, RunContext
from labkit.son_qttn._device import device_scope
from labkit.son_qttn.config import CompressConfig, EBMConfig, HybridConfig


class Hybrid(Experiment):
    """SON -> QTTN -> reinjection feedback loop on images (flagship)."""

    name = "hybrid"
    summary = "Oscillator network on images, QTT-compressed and fed back every update_frequency steps."
    config_class = HybridConfig
    framework = "jax"
    flagship = True
    presets = {
        "quick": {"n_images": 128, "n_cycles": 20, "qttn": {"svd_tolerance": 0.05, "rank_truncation": 16}},
        "paper": {"n_images": 1797, "n_cycles": 100},
    }

    def run(self, ctx: RunContext) -> dict[str, Any]:
        from labkit.son_qttn._runs import run_hybrid

        with device_scope(ctx.device):
            return run_hybrid(ctx)


class Compress(Experiment):
    """TT/QTT rate-distortion on an image set against truncated SVD of the image matrix."""

    name = "compress"
    summary = "TT and QTT rate-distortion curves with certified bounds vs truncated SVD."
    config_class = CompressConfig
    framework = "jax"
    presets = {"quick": {"n_images": 256, "tolerances": [0.3, 0.2, 0.1, 0.05, 0.02]}, "paper": {"n_images": 1797}}

    def run(self, ctx: RunContext) -> dict[str, Any]:
        from labkit.son_qttn._runs import run_compress

        with device_scope(ctx.device):
            return run_compress(ctx)


class EBM(Experiment):
    """Langevin samplers of a Gaussian EBM and a thrml-trained Ising EBM on binarised digits."""

    name = "ebm"
    summary = "Gaussian EBM: ULA/MALA/BAOAB covariance error; Ising EBM: thrml block Gibbs training + inpainting."
    config_class = EBMConfig
    framework = "jax"
    presets = {
        "quick": {"n_chains": 2000, "n_steps": 2000, "n_images": 256, "train_steps": 30, "gibbs_chains": 32, "gibbs_sweeps": 10},
        "paper": {"n_chains": 1000, "n_steps": 10_000, "train_steps": 500},
    }

    def run(self, ctx: RunContext) -> dict[str, Any]:
        from labkit.son_qttn._runs import run_ebm

        with device_scope(ctx.device):
            return run_ebm(ctx)
