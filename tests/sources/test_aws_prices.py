"""Catalog refresh from the Price List API and spot price history.

moto 5.2.5 has no Price List ("pricing") service: its server answers get_products with a 500
(no backend), so `test_moto_serves_no_price_list` is xfail(strict=True) and the on-demand side is
tested two ways instead: the parser on a realistic Price List item embedded below, and the whole
refresh over HTTP against `price_list_server`, a loopback stand-in that answers GetProducts with
that item in the Price List wire format, over two pages. moto does serve
describe_spot_price_history (one row per zone offering the type, every price "0.00001",
timestamp 2006-01-02), which the spot side is tested against end to end.
"""

from __future__ import annotations

import json
import threading
from datetime import UTC, date, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from sources.aws_prices import (
    BAND_NOTE,
    SCHEMA,
    SpotPrice,
    fetch_on_demand_prices,
    fetch_spot_prices,
    median_spot_prices,
    parse_price_list_item,
    refresh_catalog,
)

CATALOG = Path(__file__).resolve().parents[2] / "data" / "pricing" / "aws-us-east-1.json"

# One PriceList entry as get_products returns it (a JSON string inside the JSON response), with
# the Reserved terms AWS includes alongside, which the parser must ignore.
M5_LARGE_ITEM = """{
  "product": {
    "productFamily": "Compute Instance",
    "attributes": {
      "enhancedNetworkingSupported": "Yes", "intelTurboAvailable": "Yes", "memory": "8 GiB",
      "dedicatedEbsThroughput": "Up to 4750 Mbps", "vcpu": "2", "capacitystatus": "Used",
      "locationType": "AWS Region", "storage": "EBS only", "instanceFamily": "General purpose",
      "operatingSystem": "Linux", "physicalProcessor": "Intel Xeon Platinum 8175",
      "clockSpeed": "3.1 GHz", "ecu": "10", "networkPerformance": "Up to 10 Gigabit",
      "servicename": "Amazon Elastic Compute Cloud", "instancesku": "CDX9KQZ6Z5T3JJCW",
      "gpuMemory": "NA", "vpcnetworkingsupport": "true", "instanceType": "m5.large",
      "tenancy": "Shared", "usagetype": "BoxUsage:m5.large", "normalizationSizeFactor": "4",
      "processorFeatures": "Intel AVX; Intel AVX2; Intel AVX512; Intel Turbo",
      "servicecode": "AmazonEC2", "licenseModel": "No License required",
      "currentGeneration": "Yes", "preInstalledSw": "NA", "location": "US East (N. Virginia)",
      "regionCode": "us-east-1", "processorArchitecture": "64-bit", "marketoption": "OnDemand",
      "operation": "RunInstances", "availabilityzone": "NA"
    },
    "sku": "2WTMTR9HDDT7AA73"
  },
  "serviceCode": "AmazonEC2",
  "terms": {
    "OnDemand": {
      "2WTMTR9HDDT7AA73.JRTCKXETXF": {
        "priceDimensions": {
          "2WTMTR9HDDT7AA73.JRTCKXETXF.6YS6EN2CT7": {
            "unit": "Hrs", "endRange": "Inf",
            "description": "$0.096 per On Demand Linux m5.large Instance Hour",
            "appliesTo": [], "rateCode": "2WTMTR9HDDT7AA73.JRTCKXETXF.6YS6EN2CT7",
            "beginRange": "0", "pricePerUnit": {"USD": "0.0960000000"}
          }
        },
        "sku": "2WTMTR9HDDT7AA73", "effectiveDate": "2025-10-01T00:00:00Z",
        "offerTermCode": "JRTCKXETXF", "termAttributes": {}
      }
    },
    "Reserved": {
      "2WTMTR9HDDT7AA73.4NA7Y494T4": {
        "priceDimensions": {
          "2WTMTR9HDDT7AA73.4NA7Y494T4.6YS6EN2CT7": {
            "unit": "Hrs", "endRange": "Inf",
            "description": "Linux/UNIX (Amazon VPC), m5.large reserved instance applied",
            "appliesTo": [], "rateCode": "2WTMTR9HDDT7AA73.4NA7Y494T4.6YS6EN2CT7",
            "beginRange": "0", "pricePerUnit": {"USD": "0.0600000000"}
          }
        },
        "sku": "2WTMTR9HDDT7AA73", "effectiveDate": "2025-10-01T00:00:00Z",
        "offerTermCode": "4NA7Y494T4",
        "termAttributes": {
          "LeaseContractLength": "1yr", "OfferingClass": "standard",
          "PurchaseOption": "No Upfront"
        }
      }
    }
  },
  "version": "20251001000000",
  "publicationDate": "2025-10-01T00:00:00Z"
}"""


def price_list_item(instance_type: str, usd: str, vcpu: str = "2", memory: str = "8 GiB") -> str:
    item = json.loads(M5_LARGE_ITEM)
    item["product"]["attributes"].update(instanceType=instance_type, vcpu=vcpu, memory=memory)
    offer = item["terms"]["OnDemand"]["2WTMTR9HDDT7AA73.JRTCKXETXF"]
    next(iter(offer["priceDimensions"].values()))["pricePerUnit"]["USD"] = usd
    return json.dumps(item)


def test_parser_reads_the_hourly_usd_price_and_specs():
    price = parse_price_list_item(M5_LARGE_ITEM)
    assert price.instance_type == "m5.large" and price.price_per_hour_usd == 0.096
    assert price.effective_date == "2025-10-01" and price.sku == "2WTMTR9HDDT7AA73"
    assert (price.vcpu, price.memory_gib, price.gpu) == (2, 8.0, 0)


def test_parser_refuses_items_without_exactly_one_hourly_price():
    item = json.loads(M5_LARGE_ITEM)
    del item["terms"]["OnDemand"]
    with pytest.raises(ValueError, match="m5.large: expected one hourly on-demand USD price"):
        parse_price_list_item(json.dumps(item))
    with pytest.raises(ValueError, match="is not a number"):
        parse_price_list_item(price_list_item("m5.large", "n/a"))


def test_spot_median_takes_each_zones_latest_price():
    def row(zone, price, day):
        return {
            "InstanceType": "g5.xlarge",
            "AvailabilityZone": zone,
            "SpotPrice": price,
            "Timestamp": datetime(2026, 11, day, tzinfo=UTC),
        }

    history = [row("a", "0.90", 1), row("a", "0.40", 20), row("b", "0.50", 2), row("c", "0.30", 3)]
    assert median_spot_prices(history) == {"g5.xlarge": SpotPrice("g5.xlarge", 0.4, 3)}


def test_spot_prices_from_moto(aws):
    prices = fetch_spot_prices(aws("ec2"), ["m5.large", "g4dn.xlarge"])
    assert prices == {
        "g4dn.xlarge": SpotPrice("g4dn.xlarge", 0.00001, 5),
        "m5.large": SpotPrice("m5.large", 0.00001, 5),
    }


@pytest.mark.xfail(strict=True, raises=ClientError, reason="moto 5.2.5 has no pricing service")
def test_moto_serves_no_price_list(aws):
    fetch_on_demand_prices(aws("pricing"), ["m5.large"], "us-east-1")


class PriceListStandIn:
    """Answers GetProducts in two pages (the first empty) with one item for the filtered type."""

    PRICES = {
        "m5.large": ("0.0960000000", "2", "8 GiB"),
        "m7i.large": ("0.1008000000", "2", "8 GiB"),
    }

    def __init__(self) -> None:
        self.requests: list[dict] = []

    def answer(self, request: dict) -> dict:
        self.requests.append(request)
        if "NextToken" not in request:
            return {"FormatVersion": "aws_v1", "PriceList": [], "NextToken": "page-2"}
        terms = {f["Field"]: f["Value"] for f in request["Filters"]}
        usd, vcpu, memory = self.PRICES[terms["instanceType"]]
        item = price_list_item(terms["instanceType"], usd, vcpu, memory)
        return {"FormatVersion": "aws_v1", "PriceList": [item]}


@pytest.fixture
def price_list_server():
    stand_in = PriceListStandIn()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            request = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            body = json.dumps(stand_in.answer(request)).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/x-amz-json-1.1")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format, *args):  # noqa: A002
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    host, port = server.server_address[:2]
    client = boto3.client(
        "pricing",
        region_name="us-east-1",
        endpoint_url=f"http://{host}:{port}",
        config=Config(retries={"total_max_attempts": 1}),
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    yield client, stand_in
    server.shutdown()
    server.server_close()
    thread.join()


def test_refresh_writes_fresh_prices_and_keeps_bands(aws, price_list_server):
    pricing, stand_in = price_list_server
    existing = json.loads(CATALOG.read_text())
    old = next(entry for entry in existing["instances"] if entry["name"] == "m5.large")
    catalog = refresh_catalog(
        pricing, aws("ec2"), ["m5.large", "m7i.large"], existing=existing, today=date(2026, 11, 23)
    )
    assert catalog["schema"] == SCHEMA and catalog["notes"][-1] == BAND_NOTE
    assert catalog["serverless"] == existing["serverless"]
    m5, m7i = catalog["instances"]
    assert (m5["name"], m5["on_demand_hourly"], m5["spot_hourly"]) == ("m5.large", 0.096, 0.00001)
    assert m5["spot_interruption_band"] == old["spot_interruption_band"]
    assert m5["reserved_1y_hourly"] == old["reserved_1y_hourly"] and m5["vcpu"] == old["vcpu"]
    assert m5["as_of"] == m5["spot_as_of"] == "2026-11-23"
    assert "effective 2025-10-01" in m5["source_detail"]["on_demand"]
    assert "median over 5 availability zones" in m5["source_detail"]["spot"]
    assert m7i["on_demand_hourly"] == 0.1008 and "spot_interruption_band" not in m7i
    assert (m7i["provider"], m7i["region"], m7i["vcpu"], m7i["memory_gib"]) == (
        "aws",
        "us-east-1",
        2,
        8.0,
    )
    first, second = stand_in.requests[:2]
    assert "NextToken" not in first and second["NextToken"] == "page-2"
    assert {f["Field"]: f["Value"] for f in first["Filters"]} == {
        "location": "US East (N. Virginia)",
        "operatingSystem": "Linux",
        "tenancy": "Shared",
        "preInstalledSw": "NA",
        "capacitystatus": "Used",
        "instanceType": "m5.large",
    }
    assert first["ServiceCode"] == "AmazonEC2"


def test_refresh_refuses_an_unknown_region_and_another_schema(aws, price_list_server):
    pricing, _ = price_list_server
    with pytest.raises(ValueError, match="no Price List location"):
        refresh_catalog(pricing, aws("ec2"), ["m5.large"], region="mars-1")
    with pytest.raises(ValueError, match="schema"):
        refresh_catalog(pricing, aws("ec2"), ["m5.large"], existing={"schema": "other/v9"})
