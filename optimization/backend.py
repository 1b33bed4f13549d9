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
    # None: loops that stop once nothing is left to do read that from the arrays (host memory).
    rounds_without_reads: int | None = None

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

    def generator(self, seed: int, host: np.random.Generator) -> np.random.Generator:
        """The Generator a search draws from: `host` itself, which drew the starting population."""
        return host

    def random(self, generator: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
        """Uniform [0, 1) numbers of `shape`."""
        return generator.random(shape)

    def integers(
        self, generator: np.random.Generator, low: int, high: int, shape: tuple[int, ...]
    ) -> np.ndarray:
        """Integers in [low, high) of `shape`."""
        return generator.integers(low, high, size=shape)

    def choice(self, generator: np.random.Generator, weight: np.ndarray, size: int) -> np.ndarray:
        """`size` indices drawn with replacement, with probability proportional to `weight`."""
        return generator.choice(len(weight), size=size, p=weight / weight.sum())

    def argsort(self, values: np.ndarray) -> np.ndarray:
        """Stable ascending order of a 1-d array."""
        return np.argsort(values, kind="stable")

    def flip(self, values: np.ndarray) -> np.ndarray:
        """`values` reversed along the first axis."""
        return values[::-1]

    def copy(self, values: np.ndarray) -> np.ndarray:
        """An independent copy."""
        return values.copy()

    def arange(self, n: int) -> np.ndarray:
        """0, 1, ..., n - 1 as int64."""
        return np.arange(n)

    def may_any(self, mask: np.ndarray) -> bool:
        """Whether any element of `mask` is true (a read: numpy arrays are on the host)."""
        return bool(mask.any())


@dataclass(frozen=True)
class TorchBackend:
    """float64 torch tensors on `device` ("cuda" or "cpu")."""

    device: str = "cpu"
    name: str = "torch"
    # Such loops run a fixed number of rounds instead, so a generation never waits on a read
    # from the device. 16 covers every round the numpy path used on the suite (at most 15
    # trim rounds and 8 options in one add, seed 0, both objectives; measured); the rounds
    # only remove surplus or add cheaper replicas, so a cap costs quality, never feasibility.
    rounds_without_reads: int | None = 16

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
        """Elementwise clamp; bounds may be scalars or tensors.

        A scalar bound stays a Python number: moving it to the device as a tensor would be a
        copy that waits for the device (torch synchronises a blocking host-to-device copy).
        """
        torch = self.xp
        if torch.is_tensor(low):
            values = torch.maximum(values, low)
        elif low is not None:
            values = values.clamp(min=float(low))
        if torch.is_tensor(high):
            values = torch.minimum(values, high)
        elif high is not None:
            values = values.clamp(max=float(high))
        return values

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

    def generator(self, seed: int, host: np.random.Generator) -> Any:
        """A torch.Generator on the device seeded with `seed` (`host` drew the start population).

        Draws on the device keep a generation free of host round trips; the stream differs
        from numpy's, so the two backends reach results of the same quality, not the same bits.
        """
        return self.xp.Generator(device=self.device).manual_seed(seed)

    def random(self, generator: Any, shape: tuple[int, ...]) -> Any:
        """Uniform [0, 1) float64 numbers of `shape`, drawn on the device."""
        torch = self.xp
        return torch.rand(shape, generator=generator, dtype=torch.float64, device=self.device)

    def integers(self, generator: Any, low: int, high: int, shape: tuple[int, ...]) -> Any:
        """Int64 integers in [low, high) of `shape`, drawn on the device."""
        return self.xp.randint(low, high, shape, generator=generator, device=self.device)

    def choice(self, generator: Any, weight: Any, size: int) -> Any:
        """`size` indices drawn with replacement, with probability proportional to `weight`."""
        return self.xp.multinomial(weight, size, replacement=True, generator=generator)

    def argsort(self, values: Any) -> Any:
        """Stable ascending order of a 1-d tensor."""
        return self.xp.argsort(values, stable=True)

    def flip(self, values: Any) -> Any:
        """`values` reversed along the first axis."""
        return values.flip(0)

    def copy(self, values: Any) -> Any:
        """An independent copy."""
        return values.clone()

    def arange(self, n: int) -> Any:
        """0, 1, ..., n - 1 as int64 on the device."""
        return self.xp.arange(n, device=self.device)

    def may_any(self, mask: Any) -> bool:
        """True without reading `mask`: a read would wait for the device every time it is asked.

        The callers' loops then run all their rounds; the extra rounds add nothing (masked).
        """
        return True

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
