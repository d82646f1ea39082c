"""Experiments registered by the plugin; no JAX at import (bodies in ``_run_<name>.py``)."""

from __future__ import annotations

from typing import Any

from labkit.core import Experiment, RunContext
from labkit.son_qttn._device import device_scope
from labkit.son_qttn.config import CompressConfig, EBMConfig, HybridConfig


class HybridExperiment(Experiment[HybridConfig]):
    """SON -> QTTN -> reinjection feedback loop on images (flagship); saves the final SON state and its QTT."""

    name = "hybrid"
    summary = "Oscillator network on images, QTT-compressed and fed back every update_frequency steps."
    config_class = HybridConfig
    framework = "jax"
    flagship = True
    presets = {
        "quick": {"n_images": 128, "n_cycles": 20, "qttn": {"svd_tolerance": 0.05, "rank_truncation": 16}},
        "paper": {"n_images": 1797, "n_cycles": 100},
    }

    def run(self, ctx: RunContext[HybridConfig]) -> dict[str, Any]:
        from labkit.son_qttn._run_hybrid import run_hybrid

        with device_scope(ctx.device):
            return run_hybrid(ctx)


class CompressExperiment(Experiment[CompressConfig]):
    """TT/QTT rate-distortion on an image set against truncated SVD of the image matrix."""

    name = "compress"
    summary = "TT and QTT rate-distortion curves with certified bounds vs truncated SVD."
    config_class = CompressConfig
    framework = "jax"
    presets = {"quick": {"n_images": 256, "tolerances": [0.3, 0.2, 0.1, 0.05, 0.02]}, "paper": {"n_images": 1797}}

    def run(self, ctx: RunContext[CompressConfig]) -> dict[str, Any]:
        from labkit.son_qttn._run_compress import run_compress

        with device_scope(ctx.device):
            return run_compress(ctx)


class EBMExperiment(Experiment[EBMConfig]):
    """Langevin samplers of a Gaussian EBM and a thrml-trained Ising EBM on binarised digits."""

    name = "ebm"
    summary = "Gaussian EBM: ULA/MALA/BAOAB covariance error; Ising EBM: thrml block Gibbs training + inpainting."
    config_class = EBMConfig
    framework = "jax"
    presets = {
        "quick": {"n_chains": 2000, "n_steps": 2000, "n_images": 256, "train_steps": 30, "gibbs_chains": 32, "gibbs_sweeps": 10},
        "paper": {"n_chains": 1000, "n_steps": 10_000, "train_steps": 500},
    }

    def estimate_memory(self, config: EBMConfig) -> int:
        """Chain states, proposals, gradients and moment sums of the Langevin chains (float64, ~16 copies)."""
        return 8 * 16 * config.n_chains * (config.dim + 1) + 8 * 16 * config.dim**2

    def run(self, ctx: RunContext[EBMConfig]) -> dict[str, Any]:
        from labkit.son_qttn._run_ebm import run_ebm

        with device_scope(ctx.device):
            return run_ebm(ctx)
