import copy
import json
from decimal import Decimal
from pathlib import Path

import pytest
from django.core.management import call_command

from apps.catalog.models import InstanceType, Offer, PurchaseOption, ServerlessOffer
from apps.catalog.services import CatalogError, import_catalog

CATALOG = Path(__file__).resolve().parents[3] / "data" / "pricing" / "aws-us-east-1.json"


@pytest.fixture
def catalog():
    return json.loads(CATALOG.read_text())


def test_shipped_catalog_imports_every_type_and_option(db, catalog):
    summary = import_catalog(catalog)

    assert InstanceType.objects.count() == len(catalog["instances"]) == summary.instance_types
    g5 = Offer.objects.filter(instance_type__name="g5.xlarge")
    assert set(g5.values_list("purchase_option", flat=True)) == set(PurchaseOption.values)
    spot = g5.get(purchase_option="spot")
    assert spot.price_per_hour_usd == Decimal("0.4125")
    assert spot.interruption_band == ">20%"
    assert g5.get(purchase_option="reserved_3y").is_estimate
    assert not g5.get(purchase_option="on_demand").is_estimate
    assert InstanceType.objects.get(name="g5.xlarge").gpu_model == "NVIDIA A10G"
    assert ServerlessOffer.objects.filter(name="lambda-x86_64").exists()


def test_importing_twice_changes_nothing(db, catalog):
    import_catalog(catalog)
    rows = sorted(Offer.objects.values_list("pk", "price_per_hour_usd"))

    second = import_catalog(catalog)

    assert second.offers_created == 0 and second.serverless_created == 0
    assert sorted(Offer.objects.values_list("pk", "price_per_hour_usd")) == rows


def test_a_newer_price_is_added_beside_the_old_one(db, catalog):
    import_catalog(catalog)
    newer = copy.deepcopy(catalog)
    entry = next(i for i in newer["instances"] if i["name"] == "c5.xlarge")
    entry["on_demand_hourly"] = 0.18
    entry["as_of"] = "2026-11-01"

    import_catalog(newer)

    history = Offer.objects.filter(instance_type__name="c5.xlarge", purchase_option="on_demand")
    assert sorted(history.values_list("price_per_hour_usd", flat=True)) == [
        Decimal("0.17"),
        Decimal("0.18"),
    ]
    assert history.in_force().get().price_per_hour_usd == Decimal("0.18")


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("on_demand_hourly", -0.1, "on_demand_hourly: must be >= 0"),
        ("spot_hourly", float("nan"), "spot_hourly: must be a finite number"),
        ("spot_interruption_band", "30%", "spot_interruption_band: '30%' is not one of"),
        ("vcpu", 0, "vcpu: must be a whole number >= 1"),
    ],
)
def test_bad_entry_is_refused_by_name_and_nothing_is_stored(db, catalog, field, value, message):
    catalog["instances"][3][field] = value

    with pytest.raises(
        CatalogError, match=r"instances\[3\] \(g5.2xlarge\)\." + message.replace("(", r"\(")
    ):
        import_catalog(catalog)

    assert not InstanceType.objects.exists() and not Offer.objects.exists()


def test_command_reports_counts(db, capsys):
    call_command("import_catalog", str(CATALOG))

    assert "12 instance types; offers: 48 new, 0 unchanged" in capsys.readouterr().out
