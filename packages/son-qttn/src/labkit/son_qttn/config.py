"""Nested config dataclasses mirroring the original YAML layout (see configs/default.yaml).

Kept free of JAX imports: ``labkit info`` reads these without loading any numerics.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from labkit.core import ConfigError, option

DEFAULT_YAML = Path(__file__).with_name("configs") / "default.yaml"
IMAGE_TOPOLOGIES = ("lattice4", "torus", "gaussian")
DIGITS_IMAGES = 1797  # scikit-learn's bundled digits set


def _check_image_source(dataset: str, data_path: str | None, n_images: int) -> None:
    """Raise :class:`ConfigError` for ``fashion_mnist`` without its IDX file, or more digits than exist."""
    if dataset == "fashion_mnist" and not data_path:
        raise ConfigError("data_path", "dataset fashion_mnist needs the path of an IDX images file")
    if dataset == "digits" and n_images > DIGITS_IMAGES:
        raise ConfigError("n_images", f"the digits set holds {DIGITS_IMAGES} images; got {n_images}")


@dataclass
class NetworkConfig:
    """The oscillator network that evolves the image field."""

    topology: str = option("lattice4", help="coupling on the pixel lattice", choices=IMAGE_TOPOLOGIES)
    update: str = option("linear", help="SON update rule", choices=("linear", "tanh"))
    time_constant: float = option(1.0, help="tau: one step advances dt/tau", min=0.0, min_inclusive=False)
    dt: float = option(0.05, help="integration step", min=0.0, min_inclusive=False)
    oscillator_coupling: float = option(0.5, help="coupling strength K", min=0.0)
    omega: float = option(0.3, help="on-site frequency omega", min=0.0)
    temperature: float = option(1e-4, help="thermal noise temperature T", min=0.0)
    feedback: float = option(1.0, help="pull gamma towards the reinjected potential", min=0.0)
    sigma: float = option(1.0, help="Gaussian kernel width (topology=gaussian)", min=0.0, min_inclusive=False)

    def validate(self) -> None:
        if self.dt / self.time_constant * (8 * self.oscillator_coupling + self.omega**2 + self.feedback) >= 2:
            raise ConfigError("network.dt", "too large for a stable explicit step at this coupling; lower dt or raise time_constant")


@dataclass
class QTTNConfig:
    """The tensor-train compressor in the loop."""

    rank_truncation: int = option(32, help="maximum TT rank", min=1)
    svd_tolerance: float = option(1e-6, help="relative Frobenius tolerance of TT-SVD", min=0.0, min_inclusive=False, max=1.0)
    update_frequency: int = option(10, help="SON steps between compressions", min=1)


@dataclass
class HybridConfig:
    """SON -> QTTN -> reinjection feedback loop on images."""

    backend: str = option("jax", help="array backend", choices=("jax",))
    precision: str = option("float64", help="floating point precision", choices=("float32", "float64"))
    dataset: str = option("digits", help="image source", choices=("digits", "fashion_mnist"))
    data_path: str | None = option(None, help="IDX images file for fashion_mnist")
    n_images: int = option(256, help="images evolved together", min=1)
    n_cycles: int = option(50, help="feedback cycles (each update_frequency SON steps)", min=1)
    network: NetworkConfig = option(NetworkConfig, help="oscillator network")
    qttn: QTTNConfig = option(QTTNConfig, help="tensor-train compressor")

    def validate(self) -> None:
        _check_image_source(self.dataset, self.data_path, self.n_images)


@dataclass
class CompressConfig:
    """TT/QTT rate-distortion against truncated SVD of the image matrix."""

    precision: str = option("float64", help="floating point precision", choices=("float32", "float64"))
    dataset: str = option("digits", help="image source", choices=("digits", "fashion_mnist"))
    data_path: str | None = option(None, help="IDX images file for fashion_mnist")
    n_images: int = option(1024, help="images in the tensor", min=2)
    tolerances: list[float] = option((0.3, 0.2, 0.15, 0.1, 0.07, 0.05, 0.03, 0.02, 0.01), help="TT-SVD relative tolerances", min=0.0, min_inclusive=False)

    def validate(self) -> None:
        _check_image_source(self.dataset, self.data_path, self.n_images)


@dataclass
class EBMConfig:
    """Gaussian EBM by Langevin samplers; Ising EBM on binarised digits by thrml block Gibbs."""

    precision: str = option("float32", help="floating point precision", choices=("float32", "float64"))
    dim: int = option(5, help="Gaussian dimension", min=1)
    n_chains: int = option(1000, help="parallel Langevin chains", min=1)
    n_steps: int = option(10_000, help="Langevin steps per chain after burn-in", min=1)
    step_mala: float = option(0.3, help="MALA step size (the Metropolis test removes its bias)", min=0.0, min_inclusive=False)
    # ULA has no Metropolis correction: its stationary covariance (A(I - hA/2))^-1 is off by about h/2
    # relative, so it gets its own, smaller step (0.01 -> 0.7 % bias on the default problem) instead of MALA's.
    step_ula: float = option(0.01, help="ULA step size (unadjusted: its covariance bias grows like h/2)", min=0.0, min_inclusive=False)
    step_baoab: float = option(0.5, help="BAOAB step size", min=0.0, min_inclusive=False)
    n_images: int = option(512, help="binarised digits used to train the Ising EBM", min=2)
    train_steps: int = option(200, help="KL-gradient steps", min=1)
    lr: float = option(0.05, help="Ising learning rate", min=0.0, min_inclusive=False)
    gibbs_chains: int = option(64, help="negative-phase block-Gibbs chains", min=1)
    gibbs_sweeps: int = option(20, help="block-Gibbs warm-up sweeps per gradient", min=1)

    def validate(self) -> None:
        _check_image_source("digits", None, self.n_images)
