"""What the targets report serving, named by pool, and what the load balancer may count on.

Each actuator reads its target (`serving`: (ready, pending) replicas per pool). A platform may
leave part of a pool unnamed (""): a Deployment's pods run on whatever instance type Karpenter
picked, a SageMaker variant's type is in its endpoint config, and EC2 cannot tell a reserved
instance from an On-Demand one (a reservation only bills it). `name_pools` gives such replicas
to the pools the targets were last asked for; `ready_by_type` is what the serverless router
counts on (`policies.routing.Router.share`'s `ready`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from actuators.base import Serving
from optimization.purchase import OPTION

Pool = tuple[str, str]


def name_pools(reads: Iterable[Serving], asked: Mapping[Pool, int]) -> Serving | None:
    """The targets' reads summed per pool, unnamed parts named from the pools `asked`.

    Replicas of a pool with an unnamed part ("") go to the asked pools that match the named
    part (an "on_demand" read matches every non-spot option), the same option first, then the
    largest: ready ones first, each pool up to what it was asked, the rest to the first.

    Returns:
        (ready, pending) per pool; None when a read cannot be named (nothing asked matches it).
    """
    out: Serving = {}
    for read in reads:
        for (instance_type, option), (ready, pending) in read.items():
            matches = _matches(instance_type, option, asked)
            if not matches:
                if not instance_type or not option:
                    return None
                matches = [(instance_type, option)]
            room = {pool: asked.get(pool, 0) for pool in matches}
            for i, n in enumerate((ready, pending)):
                for pool, share in _spread(n, matches, room).items():
                    counts = list(out.get(pool, (0, 0)))
                    counts[i] += share
                    out[pool] = (counts[0], counts[1])
    return out


def ready_by_type(
    serving: Mapping[Pool, tuple[int, int]],
    desired: Mapping[Pool, int],
    reserved: Mapping[str, int],
) -> dict[str, int]:
    """Replicas per instance type the router may count on this step, reserved ones included.

    What is ready at the step's start, less what the step's decision scales in (`desired`):
    scaling in ends replicas at once, while a launch serves only after its boot.
    """
    ready: dict[str, int] = {}
    for (instance_type, _), (n, _) in serving.items():
        ready[instance_type] = ready.get(instance_type, 0) + n
    kept: dict[str, int] = {}
    for (instance_type, _), n in desired.items():
        kept[instance_type] = kept.get(instance_type, 0) + int(n)
    out = {name: min(n, kept.get(name, 0)) for name, n in ready.items()}
    for name, n in reserved.items():
        out[name] = out.get(name, 0) + n
    return out


def _matches(instance_type: str, option: str, asked: Mapping[Pool, int]) -> list[Pool]:
    """The asked pools a read may stand for, the same option first, then the most asked."""

    def fits(pool: Pool) -> bool:
        if instance_type and pool[0] != instance_type:
            return False
        if not option or pool[1] == option:
            return True
        return option == "on_demand" and not OPTION[pool[1]].interruptible

    found = [pool for pool in asked if fits(pool)]
    return sorted(found, key=lambda pool: (pool[1] != option, -asked[pool], pool))


def _spread(n: int, pools: list[Pool], room: dict[Pool, int]) -> dict[Pool, int]:
    """`n` replicas over `pools` in order, each up to its `room`; the rest to the first."""
    out = dict.fromkeys(pools, 0)
    for pool in pools:
        take = min(n, room[pool])
        out[pool] += take
        room[pool] -= take
        n -= take
    out[pools[0]] += n
    return out
