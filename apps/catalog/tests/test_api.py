from datetime import UTC, datetime
from decimal import Decimal

import pytest

from apps.catalog.models import Offer
from apps.catalog.tests.factories import InstanceTypeFactory, OfferFactory, RegionFactory
from conftest import field_errors


def offer_payload(**changes):
    region = RegionFactory()
    instance_type = InstanceTypeFactory(name="c6i.xlarge")
    payload = {
        "region": region.pk,
        "instance_type": instance_type.pk,
        "purchase_option": "spot",
        "price_per_hour_usd": "0.068",
        "interruption_band": "15-20%",
        "valid_from": "2026-11-01T00:00:00Z",
    }
    return payload | changes


def test_finops_adds_a_price_point(finops):
    response = finops.post("/api/v1/offers/", offer_payload(), format="json")

    assert response.status_code == 201, response.data
    assert Offer.objects.get().price_per_hour_usd == Decimal("0.068")


def test_an_sre_cannot_edit_the_catalog(sre_a):
    response = sre_a.post("/api/v1/offers/", offer_payload(), format="json")

    assert response.status_code == 403
    assert not Offer.objects.exists()


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"price_per_hour_usd": "-0.5"}, "price_per_hour_usd", "greater than or equal to 0"),
        ({"price_per_hour_usd": float("nan")}, "price_per_hour_usd", "valid number"),
        ({"price_per_hour_usd": "Infinity"}, "price_per_hour_usd", "valid number"),
        ({"purchase_option": "savings_plan"}, "purchase_option", "not a valid choice"),
        ({"interruption_band": "huge"}, "interruption_band", "not a valid choice"),
        (
            {"purchase_option": "on_demand"},
            "interruption_band",
            "only spot offers have an interruption band",
        ),
    ],
)
def test_bad_offer_is_refused_naming_the_field(finops, changes, field, message):
    response = finops.post("/api/v1/offers/", offer_payload(**changes), format="json")

    assert response.status_code == 400
    assert message in str(field_errors(response)[field])
    assert not Offer.objects.exists()


def test_prices_are_history_not_overwritten(finops):
    offer = OfferFactory()

    response = finops.patch(
        f"/api/v1/offers/{offer.pk}/", {"price_per_hour_usd": "1"}, format="json"
    )

    assert response.status_code == 405
    offer.refresh_from_db()
    assert offer.price_per_hour_usd == Decimal("0.17")


def test_in_force_lists_the_latest_price_only(viewer_a):
    old = OfferFactory(valid_from=datetime(2026, 1, 1, tzinfo=UTC))
    new = OfferFactory(
        instance_type=old.instance_type,
        valid_from=datetime(2026, 6, 1, tzinfo=UTC),
        price_per_hour_usd=Decimal("0.15"),
    )

    current = viewer_a.get("/api/v1/offers/", {"in_force": "true"}).data["results"]
    back_then = viewer_a.get("/api/v1/offers/", {"at": "2026-03-01T00:00:00Z"}).data["results"]

    assert [row["id"] for row in current] == [new.pk]
    assert [row["id"] for row in back_then] == [old.pk]


def test_instance_types_filter_by_gpu(viewer_a):
    InstanceTypeFactory(name="g5.xlarge", gpu_count=1, gpu_model="NVIDIA A10G")
    InstanceTypeFactory(name="c5.xlarge")

    rows = viewer_a.get("/api/v1/instance-types/", {"has_gpu": "true"}).data["results"]

    assert [row["name"] for row in rows] == ["g5.xlarge"]
