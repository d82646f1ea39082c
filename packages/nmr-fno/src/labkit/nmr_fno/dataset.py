"""Resumable, sharded generation of (parameters -> trajectories) datasets, across processes or ranks.

Layout under `out_dir` (format version 1):
    manifest.json                 parts, seed, time grid, shard size, observables, shard list (written when complete)
    N06/p0_shard_00003.npz        shard 3 of part 0 (finished): params (S, P) float64 [SpinSystem.to_vector layout],
                                  Mx, My, I1z (S, T), times (T,), sample_index (S,), topology (S,) str,
                                  meta (JSON string: n_spins, method, part, seed, format)
    N06/p0_shard_00003.partial.npz in-progress shard, rewritten atomically every `checkpoint_every` samples
    progress_rank0.json           per-N samples done by this rank

Sample i of part p is drawn from np.random.default_rng([seed, p, i]) alone, so any kill/resume
order, and any split over ranks, gives the same dataset. Shards are dealt round-robin to ranks
(rank/world_size from the arguments, torch.distributed if initialised, or RANK/WORLD_SIZE).

Example:
    >>> import tempfile
    >>> d = tempfile.mkdtemp()
    >>> m = generate_dataset(d, [DatasetPart(3, 4)], shard_size=2, progress=False)
    >>> load_dataset(d)[3]["Mx"].shape
    (4, 300)
"""

from __future__ import annotations

import io
import json
import os
import sys
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .grid import check_observables, check_times
from .methods import methods_with
from .simulate import simulate
from .systems import TOPOLOGIES, random_system

__all__ = ["FORMAT_VERSION", "DatasetPart", "generate_dataset", "load_dataset", "plan_mix"]

FORMAT_VERSION = 1


@dataclass(frozen=True)
class DatasetPart:
    """`count` systems of `n_spins` spins; topology 'mixed' cycles chain/ring/star/random by sample index."""

    n_spins: int
    count: int
    topology: str = "mixed"
    method: str = "exact"
    j_range: tuple[float, float] = (5.0, 20.0)
    offset_range: tuple[float, float] = (-100.0, 100.0)

    def __post_init__(self) -> None:
        if self.n_spins < 1:
            raise ValueError(f"n_spins: must be >= 1, got {self.n_spins}")
        if self.count < 0:
            raise ValueError(f"count: must be >= 0, got {self.count}")
        if self.topology not in (*TOPOLOGIES, "mixed"):
            raise ValueError(f"topology: must be one of {(*TOPOLOGIES, 'mixed')}, got {self.topology!r}")
        if self.method not in methods_with("dataset"):
            raise ValueError(f"method: must be one of {list(methods_with('dataset'))}, got {self.method!r}")


def plan_mix(n_values: Sequence[int], total_samples: int, cost_exponent: float = 0.0) -> list[DatasetPart]:
    """Multi-fidelity mix: counts per N proportional to cost(N)^-a, cost(N) = sum_k C(N,k)^3 (eigh work).

    a = 0 gives equal counts; a = 1 gives equal compute per N (many cheap small-N, few large-N).
    >>> [p.count for p in plan_mix([4, 8], 100, cost_exponent=1.0)]
    [99, 1]
    """
    from math import comb

    cost = np.array([sum(comb(n, k) ** 3 for k in range(n + 1)) for n in n_values], dtype=float)
    w = cost ** (-cost_exponent)
    counts = np.maximum(1, np.floor(total_samples * w / w.sum())).astype(int)
    return [DatasetPart(int(n), int(c)) for n, c in zip(n_values, counts, strict=True)]


def _distributed() -> Any:
    """torch.distributed when a process group is initialised (never imports torch just to ask)."""
    if "torch" not in sys.modules:
        return None
    import torch.distributed as dist

    return dist if dist.is_available() and dist.is_initialized() else None


def _rank_world(rank: int | None, world_size: int | None) -> tuple[int, int]:
    if rank is not None and world_size is not None:
        pass
    else:
        dist = _distributed()
        if dist is not None:
            rank, world_size = dist.get_rank(), dist.get_world_size()
        if rank is None or world_size is None:
            rank, world_size = int(os.environ.get("RANK", 0)), int(os.environ.get("WORLD_SIZE", 1))
    if not 0 <= rank < world_size:
        raise ValueError(f"rank: must lie in [0, world_size={world_size}), got {rank}")
    return rank, world_size


def _sample(part: DatasetPart, part_index: int, i: int, seed: int, times: np.ndarray, obs: tuple[str, ...]) -> tuple[np.ndarray, str, dict[str, np.ndarray]]:
    rng = np.random.default_rng([seed, part_index, i])
    topo = TOPOLOGIES[i % len(TOPOLOGIES)] if part.topology == "mixed" else part.topology
    system = random_system(part.n_spins, topo, seed=rng, j_range=part.j_range, offset_range=part.offset_range)
    out = simulate(system, times, part.method, obs)
    return system.to_vector(), topo, out


def _npz_bytes(arrays: dict[str, Any]) -> bytes:
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    return buf.getvalue()


def _write_shard(path: Path, rows: list[tuple[int, np.ndarray, str, dict[str, np.ndarray]]], times: np.ndarray, meta: dict[str, Any], obs: tuple[str, ...]) -> None:
    from labkit.core import atomic_write_bytes

    arrays: dict[str, Any] = {
        "params": np.stack([r[1] for r in rows]) if rows else np.zeros((0, 0)),
        "sample_index": np.array([r[0] for r in rows], dtype=np.int64),
        "topology": np.array([r[2] for r in rows], dtype="U8"),
        "times": times,
        "meta": np.array(json.dumps(meta, sort_keys=True)),
    }
    for o in obs:
        arrays[o] = np.stack([r[3][o] for r in rows]) if rows else np.zeros((0, times.size))
    atomic_write_bytes(path, _npz_bytes(arrays))


def _read_rows(path: Path, obs: tuple[str, ...]) -> list[tuple[int, np.ndarray, str, dict[str, np.ndarray]]]:
    with np.load(path) as z:
        return [(int(z["sample_index"][r]), z["params"][r], str(z["topology"][r]), {o: z[o][r] for o in obs})
                for r in range(z["sample_index"].size)]


def generate_dataset(
    out_dir: str | os.PathLike[str],
    parts: Sequence[DatasetPart] | dict[int, int],
    *,
    seed: int = 0,
    times: Sequence[float] | np.ndarray | None = None,
    shard_size: int = 64,
    checkpoint_every: int = 8,
    observables: Sequence[str] | None = None,
    rank: int | None = None,
    world_size: int | None = None,
    progress: bool = True,
) -> dict[str, Any]:
    """Generate (or resume) this rank's shards; returns the manifest (written once every shard exists)."""
    from labkit.core import atomic_write_json

    if isinstance(parts, dict):
        parts = [DatasetPart(int(n), int(c)) for n, c in parts.items()]
    parts = list(parts)
    if shard_size < 1 or checkpoint_every < 1:
        raise ValueError(f"shard_size and checkpoint_every must be >= 1, got {shard_size}, {checkpoint_every}")
    t = check_times(times)
    obs = check_observables(observables)
    rank, world = _rank_world(rank, world_size)
    root = Path(out_dir)
    root.mkdir(parents=True, exist_ok=True)
    shards = [(p, j) for p, part in enumerate(parts) for j in range(-(-part.count // shard_size))]
    mine = [s for g, s in enumerate(shards) if g % world == rank]
    done_per_n: dict[str, list[int]] = {}
    for p, part in enumerate(parts):
        key = f"N{part.n_spins:02d}"
        done_per_n.setdefault(key, [0, 0])[1] += sum(
            min(shard_size, part.count - j * shard_size) for (q, j) in mine if q == p)
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=sum(v[1] for v in done_per_n.values()), desc=f"dataset rank {rank}")
    for p, j in mine:
        part = parts[p]
        key = f"N{part.n_spins:02d}"
        final = root / key / f"p{p}_shard_{j:05d}.npz"
        partial = final.with_name(final.stem + ".partial.npz")
        lo, hi = j * shard_size, min(part.count, (j + 1) * shard_size)
        meta = {"format": FORMAT_VERSION, "n_spins": part.n_spins, "method": part.method, "part": p, "seed": seed,
                "shard": j, "observables": list(obs)}
        if final.exists():
            rows = None
            n_done = hi - lo
        else:
            rows = _read_rows(partial, obs) if partial.exists() else []
            for i in range(lo + len(rows), hi):
                vec, topo, out = _sample(part, p, i, seed, t, obs)
                rows.append((i, vec, topo, out))
                if (i + 1 - lo) % checkpoint_every == 0 and i + 1 < hi:
                    _write_shard(partial, rows, t, meta, obs)
                if bar is not None:
                    bar.update(1)
            _write_shard(final, rows, t, meta, obs)
            partial.unlink(missing_ok=True)
            n_done = hi - lo
        done_per_n[key][0] += n_done
        if bar is not None and rows is None:
            bar.update(n_done)
        atomic_write_json(root / f"progress_rank{rank}.json",
                          {k: {"done": v[0], "total": v[1]} for k, v in done_per_n.items()})
    if bar is not None:
        bar.close()
    manifest = {
        "format": FORMAT_VERSION,
        "seed": seed,
        "parts": [asdict(p) for p in parts],
        "shard_size": shard_size,
        "observables": list(obs),
        "times": t.tolist(),
        "shards": [f"N{parts[p].n_spins:02d}/p{p}_shard_{j:05d}.npz" for p, j in shards],
    }
    dist = _distributed()
    if dist is not None:
        dist.barrier()
    if all((root / s).exists() for s in manifest["shards"]):
        atomic_write_json(root / "manifest.json", manifest)
    return manifest


def load_dataset(out_dir: str | os.PathLike[str]) -> dict[int, dict[str, np.ndarray]]:
    """Concatenate every finished shard per N: {N: {"params", "Mx", "My", "I1z", "sample_index", "topology", "times"}}."""
    root = Path(out_dir)
    mpath = root / "manifest.json"
    if not mpath.exists():
        raise FileNotFoundError(f"out_dir: {root} has no manifest.json (generation not finished?)")
    manifest = json.loads(mpath.read_text())
    grouped: dict[int, list[dict[str, np.ndarray]]] = {}
    for rel in manifest["shards"]:
        with np.load(root / rel) as z:
            arrays = {k: z[k] for k in z.files if k != "meta"}
            n = int(json.loads(str(z["meta"]))["n_spins"])
        grouped.setdefault(n, []).append(arrays)
    out: dict[int, dict[str, np.ndarray]] = {}
    for n, chunks in grouped.items():
        out[n] = {k: np.concatenate([c[k] for c in chunks]) for k in chunks[0] if k != "times"}
        out[n]["times"] = chunks[0]["times"]
    return out
