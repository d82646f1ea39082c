"""labkit.son_qttn: stochastic oscillator networks (JAX), TT/QTT compression with error bounds,
energy-based sampling (Langevin, thrml block Gibbs) and the SON -> QTTN feedback loop.

JAX runs in whatever precision the caller set; experiments switch float64 on only inside
their run (:func:`precision_scope`), never globally at import. Names load lazily (PEP 562),
so ``import labkit.son_qttn.plugin`` does not import JAX.

Example:
    >>> import numpy as np
    >>> from labkit.son_qttn import tt_svd
    >>> tt_svd(np.outer(np.arange(1.0, 5.0), np.ones(3)), tol=1e-4).ranks
    (1, 1, 1)
"""

from __future__ import annotations

from labkit.core import lazy_exports

_EXPORTS = {
    "Coupling": "labkit.son_qttn.topology",
    "IDXFormatError": "labkit.son_qttn.data",
    "RLCBank": "labkit.son_qttn.rlc",
    "SONParams": "labkit.son_qttn.son",
    "TT": "labkit.son_qttn.tt",
    "from_qtt_tensor": "labkit.son_qttn.qtt",
    "langevin_sample": "labkit.son_qttn.langevin",
    "load_images": "labkit.son_qttn.data",
    "make_coupling": "labkit.son_qttn.topology",
    "max_rel_cov_error": "labkit.son_qttn.langevin",
    "precision_scope": "labkit.son_qttn._precision",
    "radices": "labkit.son_qttn.qtt",
    "read_idx": "labkit.son_qttn.data",
    "simulate_rlc": "labkit.son_qttn.rlc",
    "simulate_son": "labkit.son_qttn.son",
    "son_energy": "labkit.son_qttn.son",
    "to_qtt_tensor": "labkit.son_qttn.qtt",
    "tt_einsum": "labkit.son_qttn.qtt",
    "tt_entry": "labkit.son_qttn.qtt",
    "tt_full": "labkit.son_qttn.tt",
    "tt_inner": "labkit.son_qttn.qtt",
    "tt_norm": "labkit.son_qttn.qtt",
    "tt_round": "labkit.son_qttn.tt",
    "tt_svd": "labkit.son_qttn.tt",
    "tt_svd_fixed": "labkit.son_qttn.tt",
    "write_idx": "labkit.son_qttn.data",
}

__all__ = sorted(_EXPORTS)
__getattr__ = lazy_exports(__name__, _EXPORTS)
