"""labkit-zeta-gnn: Riemann zeta zeros, the adelic graph, a Cluster-GCN with GUE spacing losses.

Names are loaded lazily so that ``import labkit.zeta_gnn`` (and the plugin) stay free of torch.

Example:
    >>> from labkit.zeta_gnn import zeta_zeros, smooth_zeros
    >>> round(float(zeta_zeros(1, 1)[0]), 9)
    14.134725142
"""

from __future__ import annotations

from labkit.core import lazy_exports

__version__ = "0.1.0"

_EXPORTS = {
    "zeta_zeros": "zeros", "compute_zeros": "zeros", "ZeroComputationError": "zeros",
    "ZeroCache": "_cache", "default_cache_dir": "_cache",
    "read_zero_table": "tables", "write_zero_table": "tables", "shipped_zeros": "tables", "ZeroTableError": "tables",
    "smooth_zeros": "baseline", "smooth_count": "baseline", "density": "baseline", "mean_spacing": "baseline",
    "unfolded_spacings": "baseline", "spacing_baselines": "baseline",
    "adelic_edges": "graph", "gcn_norm": "graph", "random_matched_edges": "graph", "coarsen": "graph",
    "wigner_pdf": "spectral", "wigner_cdf": "spectral", "sample_wigner": "spectral", "spacing_law": "spectral",
    "ks_distance": "spectral", "pair_correlation": "spectral", "bogomolny_neff": "spectral",
    "SpacingLoss": "losses", "ZetaGCN": "model", "partition": "batching", "cluster_batches": "batching",
    "prepare": "training", "train_epoch": "training", "evaluate": "training", "ZetaPredictor": "predictor",
}

__all__ = sorted(_EXPORTS)
__getattr__ = lazy_exports(__name__, {name: f".{module}" for name, module in _EXPORTS.items()})
