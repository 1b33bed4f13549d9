"""`refresh_aws_catalog`: prices from the Price List stand-in and moto's spot history, imported."""

from django.core.management import call_command

from apps.catalog.models import Offer
from tests.sources.test_aws_prices import price_list_server  # noqa: F401 (fixture)


def test_fresh_prices_become_new_price_points(db, aws, price_list_server, capsys):  # noqa: F811
    pricing, _ = price_list_server
    call_command("import_catalog")
    before = Offer.objects.filter(instance_type__name="m5.large").count()

    call_command(
        "refresh_aws_catalog",
        types="m5.large",
        pricing_endpoint_url=pricing.meta.endpoint_url,
        ec2_endpoint_url=aws("ec2").meta.endpoint_url,
    )

    offers = Offer.objects.in_force().filter(instance_type__name="m5.large")
    assert {o.purchase_option: float(o.price_per_hour_usd) for o in offers}["on_demand"] == 0.096
    assert Offer.objects.filter(instance_type__name="m5.large").count() > before
    assert "1 instance types refreshed in us-east-1" in capsys.readouterr().out
