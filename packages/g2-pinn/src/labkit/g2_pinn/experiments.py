"""Experiment declarations of labkit-g2-pinn (light: no torch or scipy at import; bodies in ``_run_<name>.py``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from labkit.core import ConfigError, Experiment, RunContext, option

__all__ = ["BryantSalamonConfig", "BryantSalamonExperiment", "SpectrumConfig", "SpectrumExperiment", "TrainConfig",
           "TrainExperiment"]


@dataclass
class TrainConfig:
    """Configuration of ``g2-pinn:train``."""

    chart: str = option("round", help="neck model: round S^1 x S^3 x S^3 (curved, torsionful warm start) or flat T^7",
                        choices=("round", "flat"))
    radii: list[float] = option((33.0, 28.0), help="radii (r1, r2) of the two S^3")
    r0: float = option(1.0, help="circle radius of the round neck. 1, not the original 33: at r0 = 33 the circle "
                                 "mode 1/r0^2 = 9.2e-4 would be lambda_1, below the S^3 levels 3/33^2 and 3/28^2, "
                                 "and the spectrum would measure the circle, not the G2 geometry of S^3 x S^3",
                       min=0.0, min_inclusive=False)
    hidden: list[int] = option((512, 512, 512, 256), help="hidden widths of the MLP features -> ... -> 35")
    activation: str = option("silu", help="activation", choices=("silu", "tanh", "gelu", "softplus"))
    init_scale: float = option(0.1, help="scale of the last layer at init (distance from the warm start)", min=0.0)
    steps: int = option(3000, help="training steps", min=1)
    batch: int = option(256, help="collocation points per step", min=2)
    optimizer: str = option("adamw", help="optimizer", choices=("adamw", "qimad"))
    lr: float = option(1e-3, help="peak learning rate (QIMAD: eta)", min=0.0, min_inclusive=False)
    weight_decay: float = option(1e-5, help="AdamW weight decay (QIMAD has none: set 0 with optimizer qimad)", min=0.0)
    warmup: int = option(100, help="linear warm-up steps of the LR schedule", min=0)
    schedule: str = option("cosine", help="LR schedule after warm-up: cosine decay to 0 (AdamW only), or "
                                          "plateau: multiply by plateau_factor when the loss stalls (any optimizer)",
                           choices=("cosine", "plateau"))
    plateau_factor: float = option(0.5, help="plateau schedule: LR factor on a stall", min=0.0, max=1.0,
                                   min_inclusive=False, max_inclusive=False)
    plateau_patience: int = option(100, help="plateau schedule: steps without improvement before a cut", min=1)
    lr_floor: float = option(1e-6, help="plateau schedule: the LR never goes below this", min=0.0)
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
    holdout_points: int = option(64, help="held-out points on which the training objective selects the weights",
                                 min=2)
    select_every: int = option(25, help="steps between evaluations of the held-out objective", min=1)

    def validate(self) -> None:
        if not self.hidden or any(h < 1 for h in self.hidden):
            raise ConfigError("hidden", "must be a non-empty list of positive widths")
        if self.warmup >= self.steps:
            raise ConfigError("warmup", f"must be < steps = {self.steps}")
        if self.optimizer == "qimad" and self.weight_decay:
            raise ConfigError("weight_decay", f"must be 0 with optimizer 'qimad' (QIMAD has no weight decay), "
                                              f"got {self.weight_decay}")
        if self.schedule == "plateau" and self.lr_floor >= self.lr:
            raise ConfigError("lr_floor", f"must be < lr = {self.lr} for the plateau schedule, got {self.lr_floor}")
        if len(self.radii) != 2 or min(self.radii) <= 0:
            raise ConfigError("radii", f"must be two positive numbers, got {list(self.radii)}")
        if self.n_eigenvalues + 2 > self.spectrum_points:
            raise ConfigError("n_eigenvalues", "must be at most spectrum_points - 2")


class TrainExperiment(Experiment[TrainConfig]):
    """Flagship: the G2 3-form PINN on the neck, with torsion, curvature, det(g) and spectra of the selected weights."""

    name = "train"
    summary = "Train the G2 3-form PINN on the round (or flat) neck; torsion, curvature, det(g), Laplacian spectrum."
    config_class = TrainConfig
    presets = {
        # quick: width 64 instead of 512 so it fits 90 s on a 2-core CPU (the architecture is the same)
        "quick": {"hidden": [64, 64, 64, 32], "steps": 80, "batch": 64, "warmup": 10,
                  "lr": 2e-3, "eval_points": 128, "fd_points": 8, "curvature_points": 8,
                  "export_points": 1000, "spectrum_points": 1500, "n_eigenvalues": 15,
                  "checkpoint_every": 20, "holdout_points": 32, "select_every": 20},
        "paper": {"steps": 10000, "batch": 512, "spectrum_points": 10000, "galerkin_K": 3},
    }
    flagship = True

    def run(self, ctx: RunContext[TrainConfig]) -> dict[str, Any]:
        """See :func:`labkit.g2_pinn._run_train.run_train`."""
        from labkit.g2_pinn._run_train import run_train

        return run_train(ctx)


@dataclass
class SpectrumConfig:
    """Configuration of ``g2-pinn:spectrum``."""

    source: str = option("s3", help="what to analyse", choices=("s3", "torus", "product", "neck", "saved"))
    path: str | None = option(None, help="for source=saved: a train run's folder or its export/ folder "
                                         "(coords.npy, metrics.npy)")
    n_points: int = option(4000, help="sample size (known manifolds)", min=50)
    n_eigenvalues: int = option(10, help="eigenvalues to compute (lambda_0 = 0 included)", min=2)
    torus_dim: int = option(3, help="dimension of the flat torus (period 2 pi)", min=1, max=7)
    neighbour_constant: float = option(0.4, help="bandwidth: mean kernel row sum = c N^(4/(d+4))",
                                       min=0.0, min_inclusive=False)
    device: str = option("auto", help="cpu, cuda or auto (the run's device)", choices=("auto", "cpu", "cuda"))
    galerkin: bool = option(True, help="source=saved, a round-neck train run folder: also the Galerkin spectrum "
                                       "(round eigenfunctions) of its trained and initial networks")

    def validate(self) -> None:
        if self.source == "saved" and not self.path:
            raise ConfigError("path", "is required when source = 'saved'")
        if self.n_eigenvalues + 2 > self.n_points:
            raise ConfigError("n_eigenvalues", "must be at most n_points - 2")


class SpectrumExperiment(Experiment[SpectrumConfig]):
    """Laplace-Beltrami spectrum of a known manifold or a saved learned metric."""

    name = "spectrum"
    summary = "Laplace-Beltrami eigenvalues of a known manifold or a saved learned metric, against exact values."
    config_class = SpectrumConfig
    presets = {"quick": {"n_points": 2000, "n_eigenvalues": 8}}

    def estimate_memory(self, config: SpectrumConfig) -> int:
        """The sparse kernel (~c N^(4/(d+4)) neighbours a row, COO + CSR copies) and eigsh's Lanczos basis."""
        dim = config.torus_dim if config.source == "torus" else 3  # the smallest d: the densest kernel
        per_row = 10 * config.neighbour_constant * config.n_points ** (4 / (dim + 4)) + 1
        return int(64 * config.n_points * per_row + 8 * config.n_points * (2 * config.n_eigenvalues + 20))

    def run(self, ctx: RunContext[SpectrumConfig]) -> dict[str, Any]:
        """See :func:`labkit.g2_pinn._run_spectrum.run_spectrum`."""
        from labkit.g2_pinn._run_spectrum import run_spectrum

        return run_spectrum(ctx)


@dataclass
class BryantSalamonConfig:
    """Configuration of ``g2-pinn:bryant-salamon``."""

    a: float = option(1.0, help="Bryant-Salamon scale a (the bolt S^3 sits at r = a)", min=0.0, min_inclusive=False)
    r1: float = option(1.25, help="inner radius of the shell, where the data are held (at most 1.3 a)",
                       min=0.0, min_inclusive=False)
    r2: float = option(2.25, help="outer radius of the shell (at least 2 a)", min=0.0, min_inclusive=False)
    route: str = option("network", help="ansatz: SU(2)^3-invariant coefficients c_k(r) (the quick route); network: an "
                                        "unrestricted 7-D network for all 35 components of phi, with boundary data and a "
                                        "gauge (the default route)", choices=("ansatz", "network"))
    hidden: list[int] = option((), help="route ansatz: hidden widths of the coefficient network (empty: a Chebyshev "
                                        "series)")
    net_hidden: list[int] = option((128, 128, 128), help="route network: hidden widths of the 7-D network")
    activation: str = option("tanh", help="activation", choices=("silu", "tanh", "gelu", "softplus"))
    degree: int = option(8, help="route ansatz: Chebyshev degree of the coefficient functions of r", min=1, max=40)
    net_degree: int = option(2, help="route network: Chebyshev features T_1..T_k of r fed to the network; low on purpose: "
                                     "T_k'' reaches about k^4/3 at the ends of the shell, and at k = 8 the learned curvature "
                                     "was 10-50x worse near r2", min=1, max=40)
    quadrature: int = option(16, help="route ansatz: Gauss-Legendre nodes of the integrals from r1", min=4, max=64)
    gauge: str = option("frame", help="route network: frame holds the radial gauge g(d_r, d_r) = 1/f, g(d_r, angular) = 0 "
                                      "by construction (phi = phi0 pulled back by diag(f^-1/2, P(x)), P from the network); "
                                      "term trains all 35 components with w_gauge times the gauge residual",
                        choices=("frame", "term"))
    w_gauge: float = option(10.0, help="route network, gauge term: weight of the gauge residual", min=0.0)
    boundary: str = option("hard", help="route network: hard holds phi = phi_BS on the slice r = r1 by construction "
                                        "(correction times (r - r1)); soft trains w_boundary times the boundary residual",
                           choices=("hard", "soft"))
    data: str = option("inner", help="route network: slices where phi = phi_BS is given. inner: r1 only (a Cauchy "
                                     "problem: unique, but high frequencies of the error grow away from r1); both: r1 "
                                     "and r2, the whole boundary of the shell (the Dirichlet problem), the r2 slice "
                                     "trained with w_boundary", choices=("inner", "both"))
    w_boundary: float = option(10.0, help="route network: weight of the boundary residual (soft boundary, and the r2 "
                                          "slice with data=both)", min=0.0)
    boundary_points: int = option(64, help="route network: points per step of each slice where phi is given (see data)",
                                  min=1)
    init_scale: float = option(0.0, help="last-layer scale at init (0: start exactly at the cone)", min=0.0)
    optimizers: list[str] = option(("adamw", "qimad"), help="optimisers to run, each from the same start")
    # the default (network) route: 0.115 s per AdamW step and 0.47 s per QIMAD step (4 agents) on one H200
    steps: int = option(1500, help="AdamW steps", min=1)
    qimad_steps: int = option(360, help="QIMAD steps (each evaluates every agent once)", min=1)
    batch: int = option(128, help="collocation points per step (r arcsine-distributed)", min=2)
    lr: float = option(1e-3, help="AdamW peak learning rate (cosine schedule)", min=0.0, min_inclusive=False)
    warmup: int = option(100, help="AdamW linear warm-up steps", min=0)
    clip: float = option(1.0, help="gradient-norm clipping threshold", min=0.0, min_inclusive=False)
    qimad_lr: float = option(3e-4, help="QIMAD peak eta (same cosine schedule)", min=0.0, min_inclusive=False)
    qimad_agents: int = option(4, help="QIMAD swarm size", min=1)
    qimad_fixed_points: bool = option(True, help="QIMAD trains on one fixed set of collocation points (it keeps "
                                                 "the best weights by loss value, comparable only on the same points; "
                                                 "with fresh points a lucky first batch can hold the start forever)")
    polish_steps: int = option(30, help="route network: L-BFGS steps after each optimiser, on polish_points fixed "
                                       "collocation points (0: none)", min=0)
    polish_iters: int = option(10, help="route network: L-BFGS iterations per polish step (one line search each)", min=1)
    polish_points: int = option(4096, help="route network: fixed collocation points of the L-BFGS polish", min=2)
    polish_memory: int = option(50, help="route network: L-BFGS history size (curvature pairs kept)", min=1)
    time_limit: float = option(0.0, help="seconds of training per optimiser, and per L-BFGS polish, in this process "
                                         "(0: no limit); the loop stops early and the results give the steps done", min=0.0)
    eval_points: int = option(256, help="held-out points (r uniform) for torsion and metric error", min=8)
    curvature_points: int = option(48, help="held-out points for Ricci and |Rm|", min=1)
    slice_points: int = option(64, help="route network: Haar points of S^3 x S^3 per slice for the orbit and shell "
                                        "volumes", min=1)
    export_points: int = option(200, help="points in export/bryant_salamon.npz", min=2)
    checkpoint_every: int = option(100, help="steps between checkpoints", min=1)

    def validate(self) -> None:
        if not self.r1 > self.a:
            raise ConfigError("r1", f"must be > a = {self.a} (the bolt), got {self.r1}")
        if self.r1 > 1.3 * self.a:
            raise ConfigError("r1", f"must be <= 1.3 a = {1.3 * self.a} (near the bolt, where the answer is far "
                                    f"from its cone), got {self.r1}")
        if self.r2 < 2 * self.a or self.r2 <= self.r1:
            raise ConfigError("r2", f"must be >= 2 a = {2 * self.a} and > r1, got {self.r2}")
        if any(h < 1 for h in self.hidden):
            raise ConfigError("hidden", "must be positive widths (or empty)")
        if not self.net_hidden or any(h < 1 for h in self.net_hidden):
            raise ConfigError("net_hidden", "must be a non-empty list of positive widths")
        if not self.optimizers or any(o not in ("adamw", "qimad") for o in self.optimizers) \
                or len(set(self.optimizers)) != len(self.optimizers):
            raise ConfigError("optimizers", f"must be distinct names from adamw, qimad; got {list(self.optimizers)}")
        if self.warmup >= self.steps:
            raise ConfigError("warmup", f"must be < steps = {self.steps}")


class BryantSalamonExperiment(Experiment[BryantSalamonConfig]):
    """The Bryant-Salamon structure on a shell from its data at r1, per optimiser, against the exact answer."""

    name = "bryant-salamon"
    summary = ("Find the Bryant-Salamon torsion-free G2 structure on a shell of R^4 x S^3 from its data at r1 "
               "(unrestricted 7-D network with boundary data and a gauge; quick: cohomogeneity-one ansatz), real "
               "torsion, AdamW and QIMAD; gauge-invariant errors against the exact answer.")
    config_class = BryantSalamonConfig
    presets = {
        # the cohomogeneity-one ansatz: one CPU core, <= 2 minutes for both optimisers
        "quick": {"route": "ansatz", "steps": 120, "qimad_steps": 80, "batch": 24, "lr": 1e-2, "warmup": 10,
                  "qimad_lr": 2e-2, "eval_points": 128, "curvature_points": 8, "checkpoint_every": 20},
    }

    def run(self, ctx: RunContext[BryantSalamonConfig]) -> dict[str, Any]:
        """See :func:`labkit.g2_pinn._run_bryant_salamon.run_bryant_salamon`."""
        from labkit.g2_pinn._run_bryant_salamon import run_bryant_salamon

        return run_bryant_salamon(ctx)
