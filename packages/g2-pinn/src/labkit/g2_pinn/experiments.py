"""Experiment declarations of labkit-g2-pinn (light: torch and scipy load inside ``run``)."""

from __future__ import annotations

from dataclasses import dataclass

from labkit.core import ConfigError, Experiment, RunContext, option

__all__ = ["Spectrum", "SpectrumConfig", "Train", "TrainConfig"]


@dataclass
class TrainConfig:
    """Configuration of ``g2-pinn:train``."""

    chart: str = option("round", help="neck model: round S^1 x S^3 x S^3 (curved, torsionful warm start) or flat T^7",
                        choices=("round", "flat"))
    radii: list[float] = option((33.0, 28.0), help="radii (r1, r2) of the two S^3 (the circle has radius 1)")
    hidden: list[int] = option((512, 512, 512, 256), help="hidden widths of the MLP features -> ... -> 35")
    activation: str = option("silu", help="activation", choices=("silu", "tanh", "gelu", "softplus"))
    init_scale: float = option(0.1, help="scale of the last layer at init (distance from the warm start)", min=0.0)
    steps: int = option(3000, help="training steps", min=1)
    batch: int = option(256, help="collocation points per step", min=2)
    optimizer: str = option("adamw", help="optimizer", choices=("adamw", "qimad"))
    lr: float = option(1e-3, help="peak learning rate (QIMAD: eta)", min=0.0, min_inclusive=False)
    weight_decay: float = option(1e-5, help="AdamW weight decay", min=0.0)
    warmup: int = option(100, help="linear warm-up steps of the cosine schedule", min=0)
    clip: float = option(1.0, help="gradient-norm clipping threshold", min=0.0, min_inclusive=False)
    patience: int = option(300, help="early stopping: steps without relative improvement min_delta", min=1)
    min_delta: float = option(1e-3, help="early stopping: relative improvement that resets patience", min=0.0)
    qimad_agents: int = option(4, help="QIMAD swarm size", min=1)
    w_dphi: float = option(1.0, help="weight of torsion_dphi = mean |d phi|^2_g", min=0.0)
    w_dstar: float = option(1.0, help="weight of torsion_dstar = mean |d*phi|^2_g", min=0.0)
    w_standard_form: float = option(0.0, help="weight of proxy_standard_form", min=0.0)
    w_det: float = option(1.0, help="weight of proxy_det = mean (det g - 65/32)^2", min=0.0)
    w_normalisation: float = option(0.1, help="weight of proxy_normalisation", min=0.0)
    w_smoothness: float = option(0.0, help="weight of proxy_smoothness", min=0.0)
    eval_points: int = option(512, help="held-out points for torsion after training", min=8)
    fd_points: int = option(32, help="held-out points for the finite-difference d phi check", min=1)
    curvature_points: int = option(64, help="points for the curvature norms", min=1)
    export_points: int = option(4000, help="points exported (coords, metrics, phi)", min=10)
    spectrum_points: int = option(4000, help="points for the diffusion-map spectrum", min=50)
    n_eigenvalues: int = option(15, help="eigenvalues to compute", min=2)
    galerkin_K: int = option(2, help="Fourier-Galerkin basis |k|_1 <= K (flat chart only)", min=1, max=3)
    checkpoint_every: int = option(100, help="steps between checkpoints", min=1)

    def validate(self) -> None:
        if not self.hidden or any(h < 1 for h in self.hidden):
            raise ConfigError("hidden", "must be a non-empty list of positive widths")
        if self.warmup >= self.steps:
            raise ConfigError("warmup", f"must be < steps = {self.steps}")
        if len(self.radii) != 2 or min(self.radii) <= 0:
            raise ConfigError("radii", f"must be two positive numbers, got {list(self.radii)}")
        if self.n_eigenvalues + 2 > self.spectrum_points:
            raise ConfigError("n_eigenvalues", "must be at most spectrum_points - 2")


class Train(Experiment):
    name = "train"
    summary = "Train the G2 3-form PINN on the round (or flat) neck; torsion, curvature, det(g), Laplacian spectrum."
    config_class = TrainConfig
    presets = {
        # quick: width 64 instead of 512 so it fits 90 s on a 2-core CPU (the architecture is the same)
        "quick": {"hidden": [64, 64, 64, 32], "steps": 80, "batch": 64, "warmup": 10,
                  "lr": 2e-3, "eval_points": 128, "fd_points": 8, "curvature_points": 8,
                  "export_points": 1000, "spectrum_points": 1500, "n_eigenvalues": 15,
                  "checkpoint_every": 20},
        "paper": {"steps": 10000, "batch": 512, "spectrum_points": 10000, "galerkin_K": 3},
    }
    flagship = True

    def run(self, ctx: RunContext) -> dict:
        from labkit.g2_pinn.training import run_train

        return run_train(ctx)


@dataclass
class SpectrumConfig:
    """Configuration of ``g2-pinn:spectrum``."""

    source: str = option("s3", help="what to analyse", choices=("s3", "torus", "product", "neck", "saved"))
    path: str | None = option(None, help="for source=saved: a train run's export/ folder (coords.npy, metrics.npy)")
    n_points: int = option(4000, help="sample size (known manifolds)", min=50)
    n_eigenvalues: int = option(10, help="eigenvalues to compute (lambda_0 = 0 included)", min=2)
    torus_dim: int = option(3, help="dimension of the flat torus (period 2 pi)", min=1, max=7)
    neighbour_constant: float = option(0.4, help="bandwidth: mean kernel row sum = c N^(4/(d+4))",
                                       min=0.0, min_inclusive=False)
    device: str = option("auto", help="cpu, cuda or auto (the run's device)", choices=("auto", "cpu", "cuda"))

    def validate(self) -> None:
        if self.source == "saved" and not self.path:
            raise ConfigError("path", "is required when source = 'saved'")
        if self.n_eigenvalues + 2 > self.n_points:
            raise ConfigError("n_eigenvalues", "must be at most n_points - 2")


class Spectrum(Experiment):
    name = "spectrum"
    summary = "Laplace-Beltrami eigenvalues of a known manifold or a saved learned metric, against exact values."
    config_class = SpectrumConfig
    presets = {"quick": {"n_points": 2000, "n_eigenvalues": 8}}

    def estimate_memory(self, config: SpectrumConfig) -> int:
        """The sparse kernel (~c N^(4/(d+4)) neighbours a row, COO + CSR copies) and eigsh's Lanczos basis."""
        dim = config.torus_dim if config.source == "torus" else 3  # the smallest d: the densest kernel
        per_row = 10 * config.neighbour_constant * config.n_points ** (4 / (dim + 4)) + 1
        return int(64 * config.n_points * per_row + 8 * config.n_points * (2 * config.n_eigenvalues + 20))

    def run(self, ctx: RunContext) -> dict:
        from labkit.g2_pinn.spectrum_run import run_spectrum

        return run_spectrum(ctx)
