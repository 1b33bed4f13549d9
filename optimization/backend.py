"""Array backends: the same GA-PSO code runs on numpy arrays or on torch tensors (CUDA if any)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from typing import Any

import numpy as np


@dataclass(frozen=True)
class NumpyBackend:
    """float64 numpy arrays on the CPU."""

    name: str = "numpy"
    device: str = "cpu"

    @property
    def xp(self) -> Any:
        """The array module."""
        return np

    def asarray(self, values: Any) -> np.ndarray:
        """Float64 array of `values` (numpy input)."""
        return np.asarray(values, dtype=np.float64)

    def as_index(self, values: np.ndarray) -> np.ndarray:
        """Integer index array of `values` (numpy input)."""
        return np.asarray(values, dtype=np.int64)

    def to_numpy(self, values: Any) -> np.ndarray:
        """A numpy copy of a backend array."""
        return np.array(values)

    def clip(self, values: Any, low: Any = None, high: Any = None) -> Any:
        """Elementwise clip; bounds may be scalars or arrays."""
        return np.clip(values, low, high)

    def amax(self, values: Any, axis: int) -> Any:
        """Maximum along `axis`."""
        return values.max(axis=axis)

    def amin(self, values: Any, axis: int) -> Any:
        """Minimum along `axis`."""
        return values.min(axis=axis)

    def take_along(self, values: Any, index: Any, axis: int) -> Any:
        """np.take_along_axis."""
        return np.take_along_axis(values, index, axis=axis)

    def single_threaded(self) -> Any:
        """No-op context: numpy's elementwise work is single-threaded already."""
        return nullcontext()

    def put_along(self, values: Any, index: Any, update: Any, axis: int) -> Any:
        """A copy of `values` with `update` added at `index` along `axis`."""
        out = values.copy()
        np.put_along_axis(out, index, np.take_along_axis(out, index, axis=axis) + update, axis)
        return out


@dataclass(frozen=True)
class TorchBackend:
    """float64 torch tensors on `device` ("cuda" or "cpu")."""

    device: str = "cpu"
    name: str = "torch"

    @property
    def xp(self) -> Any:
        """The array module."""
        import torch

        return torch

    def asarray(self, values: Any) -> Any:
        """Float64 tensor on the device."""
        return self.xp.as_tensor(np.array(values), dtype=self.xp.float64, device=self.device)

    def as_index(self, values: np.ndarray) -> Any:
        """Int64 tensor on the device."""
        return self.xp.as_tensor(np.array(values), dtype=self.xp.int64, device=self.device)

    def to_numpy(self, values: Any) -> np.ndarray:
        """A numpy copy of a tensor."""
        copy: np.ndarray = values.detach().cpu().numpy().copy()
        return copy

    def clip(self, values: Any, low: Any = None, high: Any = None) -> Any:
        """Elementwise clamp; bounds may be scalars or tensors."""
        torch = self.xp
        bounds = [
            b if b is None or isinstance(b, torch.Tensor) else self.asarray(float(b))
            for b in (low, high)
        ]
        return torch.clamp(values, min=bounds[0], max=bounds[1])

    def amax(self, values: Any, axis: int) -> Any:
        """Maximum along `axis`."""
        return values.amax(dim=axis)

    def amin(self, values: Any, axis: int) -> Any:
        """Minimum along `axis`."""
        return values.amin(dim=axis)

    def take_along(self, values: Any, index: Any, axis: int) -> Any:
        """torch.take_along_dim."""
        return self.xp.take_along_dim(values, index, dim=axis)

    def put_along(self, values: Any, index: Any, update: Any, axis: int) -> Any:
        """A copy of `values` with `update` added at `index` along `axis`."""
        return values.scatter_add(axis, index, update)

    @contextmanager
    def single_threaded(self) -> Iterator[None]:
        """One intra-op thread on the CPU while the search runs, restored afterwards.

        The population tensors are ~1e5 elements: OpenMP hand-offs cost more than they save,
        and on a busy 2-core machine spinning threads made each op 30x slower (measured).
        """
        if self.device != "cpu":
            yield
            return
        previous = self.xp.get_num_threads()
        self.xp.set_num_threads(1)
        try:
            yield
        finally:
            self.xp.set_num_threads(previous)


Backend = NumpyBackend | TorchBackend


def choose_backend(name: str = "auto") -> Backend:
    """The backend for `name`: "numpy", "torch" (CUDA if available, else CPU) or "auto".

    "auto" picks torch on CUDA when a GPU is present and numpy otherwise: on a CPU the numpy
    path is the faster of the two for these population sizes.
    """
    if name == "numpy":
        return NumpyBackend()
    if name not in ("torch", "auto"):
        raise ValueError(f"backend must be 'auto', 'numpy' or 'torch', got {name!r}")
    try:
        import torch
    except ImportError:
        if name == "torch":
            raise
        return NumpyBackend()
    if torch.cuda.is_available():
        return TorchBackend(device="cuda")
    return TorchBackend(device="cpu") if name == "torch" else NumpyBackend()
