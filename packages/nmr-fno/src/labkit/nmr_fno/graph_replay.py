"""Replay a fixed-shape tensor function as a CUDA graph (the GPU ``predict`` path of the FID surrogate).

A :class:`GraphReplay` calls ``fn(*inputs)`` (one tensor out) eagerly the first time it sees a key and
input shapes, captures it as a CUDA graph the second time, and replays the graph from then on: one
launch instead of ~10^2 kernel launches from Python. ``fn`` must not synchronise with the host and
must read its weights from memory that stays put (in-place updates are seen; weights moved or rebound
need a new key). Inputs on the CPU, and every call after a failed capture (the reason is kept in
``failed``), run eagerly; so does every call with ``enabled = False``.

Example (on the CPU it is just the function):
    >>> import torch
    >>> rep = GraphReplay(lambda x: x * 2)
    >>> rep("double", torch.ones(2)).tolist(), rep.graphs
    ([2.0, 2.0], 0)
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any

__all__ = ["GraphReplay"]


class GraphReplay:
    """``fn`` of fixed-shape tensors, replayed as a CUDA graph per (key, input shapes) once seen twice; at most ``max_graphs`` kept."""

    def __init__(self, fn: Callable[..., Any], max_graphs: int = 8) -> None:
        self.fn, self.max_graphs = fn, max_graphs
        self.enabled = True
        self.failed: str | None = None
        self._graphs: OrderedDict[Hashable, tuple[Any, list, Any]] = OrderedDict()
        self._seen: set[Hashable] = set()

    @property
    def graphs(self) -> int:
        """How many graphs are held."""
        return len(self._graphs)

    def __call__(self, key: Hashable, *inputs: Any) -> Any:
        if not (self.enabled and self.failed is None and inputs[0].is_cuda):
            return self.fn(*inputs)
        full = (key, *((tuple(x.shape), x.dtype, str(x.device)) for x in inputs))
        entry = self._graphs.get(full)
        if entry is None:
            if full not in self._seen:  # a shape seen once stays eager (a capture costs more than a few eager calls)
                if len(self._seen) > 64:
                    self._seen.clear()
                self._seen.add(full)
                return self.fn(*inputs)
            try:
                entry = self._capture(inputs)
            except Exception as exc:  # any capture problem: eager from now on, the reason kept
                self.failed = f"{type(exc).__name__}: {exc}"
                self._graphs.clear()
                return self.fn(*inputs)
            self._graphs[full] = entry
            if len(self._graphs) > self.max_graphs:
                self._graphs.popitem(last=False)
        self._graphs.move_to_end(full)
        graph, static_in, static_out = entry
        for dst, src in zip(static_in, inputs, strict=True):
            dst.copy_(src)
        graph.replay()
        return static_out.clone()  # the next replay overwrites the graph's output

    def _capture(self, inputs: tuple) -> tuple[Any, list, Any]:
        import torch

        with torch.cuda.device(inputs[0].device):
            static_in = [x.clone() for x in inputs]
            side = torch.cuda.Stream()
            side.wait_stream(torch.cuda.current_stream())
            with torch.cuda.stream(side):  # warm-up off the default stream, as capture requires (lazy init of kernels, cuBLAS)
                for _ in range(2):
                    self.fn(*static_in)
            torch.cuda.current_stream().wait_stream(side)
            graph = torch.cuda.CUDAGraph()
            with torch.cuda.graph(graph):
                static_out = self.fn(*static_in)
        return graph, static_in, static_out
