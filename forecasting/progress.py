"""A progress bar for the command lines' long runs (`python -m forecasting`, `-m simulation`).

The libraries report progress as a fraction done through an optional callback; the command
lines turn it into a percent bar on stderr, drawn only when stderr is a terminal, so that logs,
pipes and CI see nothing.
"""

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from tqdm import tqdm

# A percent bar and the time it took and has left (no rate: the steps are of unequal length).
BAR = "{l_bar}{bar}| {elapsed}<{remaining}"


@contextmanager
def progress_bar(what: str) -> Iterator[Callable[[float], None]]:
    """A callback that moves a bar labelled `what` to the fraction done it is given."""
    with tqdm(total=100, desc=what, file=sys.stderr, disable=None, bar_format=BAR) as bar:

        def advance(done: float) -> None:
            bar.update(round(100 * done) - bar.n)

        yield advance
