"""What serverless functions cost and how fast they run: the sizing every policy shares."""

from __future__ import annotations

from policies.scenario import Serverless, Variant

MB_PER_VCPU = 1769  # Lambda gives one vCPU-equivalent at 1,769 MB [S]


def duration_ms(variant: Variant, memory_mb: int) -> float:
    """Request duration at `memory_mb`: CPU share grows with memory up to one vCPU."""
    return variant.serverless_ms_at_1769mb * max(1.0, MB_PER_VCPU / memory_mb)


def size_memory(variant: Variant, fn: Serverless, target_ms: float) -> int:
    """Paragon's sizing: the cheapest memory whose duration stays under half the target."""

    def cost(m: int) -> float:
        return m * duration_ms(variant, m)

    fitting = [m for m in fn.memory_options_mb if duration_ms(variant, m) <= target_ms / 2]
    candidates = fitting or list(fn.memory_options_mb)
    return min(candidates, key=lambda m: (cost(m), duration_ms(variant, m)))


def cost_per_request_usd(variant: Variant, fn: Serverless, memory_mb: int) -> float:
    """One warm request's bill: the request fee plus its GB-seconds."""
    return fn.per_request_usd + memory_mb / 1024 * duration_ms(variant, memory_mb) / 1000 * (
        fn.per_gb_s_usd
    )


def break_even_rps(
    vm_price_per_hour_usd: float, variant: Variant, fn: Serverless, memory_mb: int
) -> float:
    """The steady rate below which functions cost less than one more VM replica.

    A replica costs its price whatever it serves; functions cost per request. Under this rate
    (about 18 rps for a c6i.xlarge spot replica against 1,769 MB functions) a step's last,
    nearly idle replica is better left to serverless.
    """
    return vm_price_per_hour_usd / 3600 / cost_per_request_usd(variant, fn, memory_mb)
