import pytest

from actuators.kubernetes import KARPENTER_CAPACITY_TYPES
from optimization.catalog import offers_from_catalog
from optimization.problem import SPOT_HAZARD_PER_HOUR, Offer
from optimization.purchase import CATALOG_CHOICES, OPTIONS, PURCHASE_OPTIONS, option_named
from optimization.suite import load_catalog


def test_the_vocabularies_derive_from_the_registry_with_the_stored_values_and_labels():
    assert PURCHASE_OPTIONS == ("on_demand", "spot", "reserved")
    # The catalog's stored values and labels (apps/catalog/migrations/0001_initial.py).
    assert CATALOG_CHOICES == (
        ("on_demand", "On Demand"),
        ("spot", "Spot"),
        ("reserved_1y", "Reserved 1Y"),
        ("reserved_3y", "Reserved 3Y"),
    )
    assert KARPENTER_CAPACITY_TYPES == {
        "on_demand": "on-demand",
        "spot": "spot",
        "reserved": "reserved",
    }
    assert [o.price_key for o in OPTIONS] == [
        "on_demand_hourly",
        "spot_hourly",
        "reserved_1y_hourly",
    ]


def test_an_offer_takes_its_meaning_from_its_option():
    spot = Offer("a/spot", "a", "spot", 1.0)
    reserved = Offer("a/reserved", "a", "reserved", 1.0, committed_count=2, max_count=9)
    on_demand = Offer("a/on_demand", "a", "on_demand", 1.0, max_count=9)
    assert (spot.is_spot, spot.is_committed) == (True, False)
    assert (reserved.is_spot, reserved.is_committed, reserved.available_count) == (False, True, 2)
    assert (on_demand.is_spot, on_demand.is_committed, on_demand.available_count) == (
        False,
        False,
        9,
    )
    with pytest.raises(ValueError, match="a reserved offer needs committed_count >= 1"):
        Offer("a/reserved", "a", "reserved", 1.0)
    with pytest.raises(ValueError, match=r"offer a/x: purchase_option must be one of"):
        Offer("a/x", "a", ["spot"], 1.0)
    with pytest.raises(ValueError, match="got 'savings_plan'"):
        option_named("savings_plan")


def test_offers_from_catalog_offer_each_priced_option_and_commitments_where_given():
    catalog = load_catalog()
    offers = offers_from_catalog(
        catalog, instance_types=["m5.large"], committed_counts={"m5.large/reserved": 3}
    )
    row = next(r for r in catalog["instances"] if r["name"] == "m5.large")
    assert [(o.name, o.price_per_hour_usd, o.committed_count) for o in offers] == [
        ("m5.large/on_demand", row["on_demand_hourly"], 0),
        ("m5.large/spot", row["spot_hourly"], 0),
        ("m5.large/reserved", row["reserved_1y_hourly"], 3),
    ]
    assert (
        offers[1].interruption_rate_per_hour == SPOT_HAZARD_PER_HOUR[row["spot_interruption_band"]]
    )
    assert {o.boot_delay_s for o in offers} == {60.0}
    # No commitment, no reserved offer; no spot price (a refresh found no zone), no spot offer.
    no_spot = {"instances": [{k: v for k, v in row.items() if k != "spot_hourly"}]}
    assert [o.purchase_option for o in offers_from_catalog(no_spot)] == ["on_demand"]
