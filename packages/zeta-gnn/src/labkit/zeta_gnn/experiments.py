"""Experiment declarations of zeta-gnn (light: no torch or flint at import; bodies in ``_run_<name>.py``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from labkit.core import ConfigError, Experiment, RunContext, option

__all__ = ["StatisticsConfig", "StatisticsExperiment", "TrainConfig", "TrainExperiment", "ZerosConfig", "ZerosExperiment"]

_LAWS = ("empirical", "bogomolny", "gaudin", "wigner")


@dataclass
class TrainConfig:
    """Configuration of ``zeta-gnn:train``."""

    n_zeros: int = option(10_000, help="N: zeros 1..N are used; first 80% train, next 10% validate (best epoch), last 10% test",
                          min=2)
    predict_k: int = option(100, help="then predict zeros N+1..N+k", min=0)
    target: str = option("residual", help="residual over the smooth baseline, raw ordinate, or next spacing",
                         choices=("residual", "ordinate", "spacing"))
    primes: list[int] = option((2, 3, 5, 7, 11), help="primes p of the residue-class edges (i, i+p)")
    graph: str = option("adelic", help="adelic edges, or degree-matched random edges", choices=("adelic", "random"))
    ablation: bool = option(False, help="also train on degree-matched random edges and compare")
    hidden: int = option(128, help="hidden width of the MLP and GCN layers", min=1)
    epochs: int = option(200, help="training epochs", min=1)
    lr: float = option(3e-3, help="learning rate", min=0.0, min_inclusive=False)
    optimizer: str = option("adam", help="a registered optimizer: adam, adamw, sgd (core), qimad (labkit-qimad)")
    batching: str = option("full", help="full batch, or Cluster-GCN batches from METIS / contiguous blocks",
                           choices=("full", "metis", "contiguous"))
    n_parts: int = option(64, help="clusters for Cluster-GCN", min=1)
    clusters_per_batch: int = option(8, help="clusters merged into one mini-batch", min=1)
    accumulate: int = option(1, help="batches whose mean gradient makes one optimizer step per process "
                                     "(--nproc K with accumulate=a steps on K*a batches, as one process with K*a)", min=1)
    w_nll: float = option(0.02, help="weight of the spacing NLL", min=0.0)
    w_mmd: float = option(0.1, help="weight of the spacing MMD", min=0.0)
    w_rg: float = option(0.0, help="weight of the RG consistency penalty (full batch, residual/ordinate)", min=0.0)
    spacing_law: str = option("empirical", help="law the NLL/MMD pull towards (empirical = training zeros)",
                              choices=_LAWS)
    lags: int = option(10, help="previous spacings used as features (target=spacing)", min=1)
    mmd_samples: int = option(256, help="spacings per MMD evaluation", min=2)
    threads: int = option(0, help="torch CPU threads (0 = leave as is; 1 avoids oversubscription on busy CPUs)", min=0)
    checkpoint_every: int = option(10, help="epochs between checkpoints", min=1)
    backend: str = option("auto", help="zero backend", choices=("auto", "flint", "mpmath"))
    cache_dir: str | None = option(None, help="zeros cache folder (default $LABKIT_ZETA_CACHE or user cache)")
    data_path: str | None = option(None, help="read zeros from this text table (one ordinate a line)")
    data_first_index: int | None = option(None, help="zero index of the table's first line (default: it must be zero 1)",
                                          min=1)

    def validate(self) -> None:
        """Cross-field checks."""
        if self.w_rg > 0 and self.batching != "full":
            raise ConfigError("w_rg", "the RG penalty needs batching='full'")
        if self.w_rg > 0 and self.target == "spacing":
            raise ConfigError("w_rg", "the RG penalty is defined for target 'residual' or 'ordinate'")
        if self.accumulate > 1 and self.batching == "full":
            raise ConfigError("accumulate", "the full batch is one batch per epoch: accumulate needs batching "
                                            "'metis' or 'contiguous'")
        if self.batching != "full" and self.n_parts > self.n_zeros:
            raise ConfigError("n_parts", f"must be <= n_zeros ({self.n_zeros}), got {self.n_parts}")
        if self.spacing_law == "bogomolny" and self.n_zeros < 2000:
            raise ConfigError("spacing_law", "bogomolny needs n_zeros >= 2000 (N_eff > 1.5)")
        if len(set(self.primes)) != len(self.primes) or any(p < 2 or any(p % q == 0 for q in range(2, int(p**0.5) + 1)) for p in self.primes):
            raise ConfigError("primes", f"must be distinct primes >= 2, got {self.primes}")


class TrainExperiment(Experiment[TrainConfig]):
    """Flagship: the adelic GCN on zeta zeros, extrapolated and compared with the smooth baseline."""

    name = "train"
    summary = ("Train the adelic GCN on zeros 1..N (80% train, 10% validation picks the best epoch, 10% test), "
               "predict N+1..N+k, vs the RvM baseline; saves the model.")
    config_class = TrainConfig
    presets = {
        "quick": {"n_zeros": 5000, "epochs": 60, "hidden": 64, "w_rg": 0.1, "ablation": True,
                  "checkpoint_every": 20, "threads": 1},
        "spacing": {"n_zeros": 20_000, "target": "spacing", "epochs": 150, "ablation": True},
        "metis": {"n_zeros": 20_000, "epochs": 60, "batching": "metis", "n_parts": 64, "clusters_per_batch": 8,
                  "ablation": True},
        "100k": {"n_zeros": 100_000, "epochs": 30, "batching": "metis", "n_parts": 256, "clusters_per_batch": 16,
                 "spacing_law": "bogomolny"},
        # strong scaling on GPUs: 8 batches of ~2,380 nodes per epoch, each step a forward and backward
        # through two 4096x4096 layers (~0.5 TFLOP per batch); --nproc K splits every step's batches
        "scale": {"n_zeros": 19_000, "predict_k": 50, "batching": "contiguous", "n_parts": 64, "clusters_per_batch": 8,
                  "hidden": 4096, "lr": 1e-3, "epochs": 20, "checkpoint_every": 20},
    }
    flagship = True

    def check_world_size(self, config: TrainConfig, world_size: int) -> None:
        """Cluster-GCN batches split across processes; the full batch (one per epoch) does not."""
        if world_size > 1 and config.batching == "full":
            raise ConfigError("batching", f"'full' is one batch per epoch, nothing to split over {world_size} "
                                          "processes: use 'metis' or 'contiguous' with --nproc/torchrun")

    def estimate_memory(self, config: TrainConfig) -> int:
        """Edge lists (int64 + weights), one batch's float32 GCN messages with gradients, node activations."""
        nodes = config.n_zeros + config.predict_k + 1
        edges = nodes * (3 + 2 * len(config.primes))  # self loop, +-1 and +-p neighbours
        share = 1.0 if config.batching == "full" else min(1.0, config.clusters_per_batch / config.n_parts)
        return int(48 * edges + share * 12 * edges * config.hidden + 48 * nodes * config.hidden)

    def run(self, ctx: RunContext[TrainConfig]) -> dict[str, Any]:
        """See :func:`labkit.zeta_gnn._run_train.run_train`."""
        from labkit.zeta_gnn._run_train import run_train

        return run_train(ctx)


@dataclass
class ZerosConfig:
    """Configuration of ``zeta-gnn:zeros``."""

    start: int = option(1, help="first zero index (1-based)", min=1)
    count: int = option(1000, help="number of zeros", min=1)
    backend: str = option("auto", help="zero backend", choices=("auto", "flint", "mpmath"))
    workers: int = option(0, help="processes (0 = one per CPU)", min=0)
    chunk_size: int = option(1000, help="zeros per cached chunk", min=1)
    cache_dir: str | None = option(None, help="cache folder (default $LABKIT_ZETA_CACHE or user cache)")
    write_table: bool = option(True, help="also write zeros.txt (one ordinate a line) in the run folder")
    check_mpmath: int = option(3, help="cross-check this many zeros against mpmath", min=0)


class ZerosExperiment(Experiment[ZerosConfig]):
    """Generate (and cache) a range of zeros, cross-checked against mpmath."""

    name = "zeros"
    summary = "Compute zeros start..start+count-1 with flint in parallel chunks; cache them; check vs mpmath."
    config_class = ZerosConfig
    presets = {"quick": {"start": 20_001, "count": 200, "chunk_size": 100, "check_mpmath": 2}}

    def run(self, ctx: RunContext[ZerosConfig]) -> dict[str, Any]:
        """See :func:`labkit.zeta_gnn._run_zeros.run_zeros`."""
        from labkit.zeta_gnn._run_zeros import run_zeros

        return run_zeros(ctx)


@dataclass
class StatisticsConfig:
    """Configuration of ``zeta-gnn:statistics``."""

    start: int = option(1, help="first zero index", min=1)
    count: int = option(20_000, help="number of zeros", min=100)
    backend: str = option("auto", help="zero backend", choices=("auto", "flint", "mpmath"))
    cache_dir: str | None = option(None, help="zeros cache folder")
    data_path: str | None = option(None, help="read zeros from this text table instead")


class StatisticsExperiment(Experiment[StatisticsConfig]):
    """Spacing, spacing-ratio and pair-correlation statistics of true zeros vs GUE laws (Odlyzko-style check)."""

    name = "statistics"
    summary = "Spacing distribution, KS to Wigner/Gaudin/Bogomolny, <r>, pair correlation vs Montgomery."
    config_class = StatisticsConfig
    presets = {"quick": {"count": 5000}}

    def run(self, ctx: RunContext[StatisticsConfig]) -> dict[str, Any]:
        """See :func:`labkit.zeta_gnn._run_statistics.run_statistics`."""
        from labkit.zeta_gnn._run_statistics import run_statistics

        return run_statistics(ctx)
