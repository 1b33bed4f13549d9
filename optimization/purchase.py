"""The purchase options, in one registry from which every list of them derives.

`OPTIONS` holds one `PurchaseOption` per way of buying an instance-hour. What derives from it:
the names an `Offer`, a `Constraints` or a `Guardrails` accepts (`PURCHASE_OPTIONS`); the
simulator's cost-by-option keys (`simulation.cluster`, `simulation.metrics`); the offers read
from a pricing catalog (`optimization.catalog`); the catalog's stored values and labels, one per
term (`CATALOG_CHOICES`, `apps.catalog.models.PurchaseOption`); and the Karpenter capacity type a
pool is pinned to (`actuators.kubernetes`). Adding an option is one entry here
(docs/architecture.md section 14).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class PurchaseOption:
    """One way to buy an instance-hour, and what it means for planning and billing.

    Attributes:
        name: the key the libraries use: `Offer.purchase_option`, the second half of a pool,
            the simulator's cost-by-option keys.
        label: for people; a catalog term is added to it ("Reserved 1Y").
        interruptible: the cloud may reclaim it at short notice (spot): it does not count
            towards a non-spot floor, and the simulator interrupts it.
        committed: bought for a term and billed every hour whether used or not (a
            reservation); an offer of it says how many replicas are committed
            (`Offer.committed_count`), and no more can be used.
        terms: the catalog's terms, each priced and stored as its own value `<name>_<term>`
            ("reserved_1y", "reserved_3y"); the libraries price the option at the first. With
            no terms, the catalog stores the name.
        capacity_type: the capacity its replicas run on, as Karpenter's
            `karpenter.sh/capacity-type` node label names it.
    """

    name: str
    label: str
    interruptible: bool = False
    committed: bool = False
    terms: tuple[str, ...] = ()
    capacity_type: str = "on-demand"

    @property
    def catalog_choices(self) -> tuple[tuple[str, str], ...]:
        """(value, label) per term, ("reserved_1y", "Reserved 1Y"); without terms, one pair."""
        if not self.terms:
            return ((self.name, self.label),)
        return tuple((f"{self.name}_{term}", f"{self.label} {term.upper()}") for term in self.terms)

    @property
    def catalog_values(self) -> tuple[str, ...]:
        """The catalog's stored values for this option, one per term."""
        return tuple(value for value, _ in self.catalog_choices)

    @property
    def catalog_value(self) -> str:
        """The catalog value whose price the libraries use (the first term's)."""
        return self.catalog_values[0]

    @property
    def price_key(self) -> str:
        """The field of a `ballast.pricing-catalog/v1` instance that holds that price."""
        return f"{self.catalog_value}_hourly"


OPTIONS = (
    PurchaseOption("on_demand", "On Demand"),
    PurchaseOption("spot", "Spot", interruptible=True, capacity_type="spot"),
    PurchaseOption(
        "reserved", "Reserved", committed=True, terms=("1y", "3y"), capacity_type="reserved"
    ),
)
PURCHASE_OPTIONS = tuple(option.name for option in OPTIONS)
OPTION = {option.name: option for option in OPTIONS}
# The catalog's (value, label) pairs, Django's choices of `apps.catalog.models.PurchaseOption`.
CATALOG_CHOICES = tuple(choice for option in OPTIONS for choice in option.catalog_choices)


def option_named(name: str) -> PurchaseOption:
    """The option called `name`.

    Raises:
        ValueError: naming the known options when `name` is not one.
    """
    try:
        return OPTION[name]
    except (KeyError, TypeError):
        raise ValueError(
            f"purchase_option must be one of {PURCHASE_OPTIONS}, got {name!r}"
        ) from None
