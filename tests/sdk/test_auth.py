"""Every request must be signed; the official clients' signatures are accepted and anything
else is refused with the code ECS gives."""

import xml.etree.ElementTree as ET
from datetime import datetime, timedelta, timezone

import pytest
from Tea.exceptions import TeaException
from alibabacloud_ecs20140526 import models as ecs_models
from alibabacloud_ecs20140526.client import Client as EcsClient

from conftest import tea_config


def test_both_signatures_are_accepted(ecs, region):
    resp = ecs.describe_regions(ecs_models.DescribeRegionsRequest())
    assert resp.status_code == 200
    assert [r.region_id for r in resp.body.regions.region] == [region]
    assert resp.body.request_id


def test_legacy_sdk_is_accepted(legacy, region):
    body = legacy("DescribeZones", RegionId=region)
    assert body["Zones"]["Zone"], body
    assert body["RequestId"]


def test_form_body_parameters_are_read(raw, region):
    r = raw.send(raw.common("DescribeZones", RegionId=region), in_body=True)
    assert r.status == 200, r.body
    assert r.json()["Zones"]["Zone"]


@pytest.mark.parametrize("field, value, code, status", [
    ("access_key_secret", "not-the-secret", "SignatureDoesNotMatch", 400),
    ("access_key_id", "LTAInobodyhasthiskey", "InvalidAccessKeyId.NotFound", 404),
], ids=["wrong-secret", "unknown-key"])
def test_bad_credentials_are_refused(hearth, signature, field, value, code, status):
    config = tea_config(hearth, signature)
    setattr(config, field, value)
    with pytest.raises(TeaException) as e:
        EcsClient(config).describe_regions(ecs_models.DescribeRegionsRequest())
    assert e.value.code == code
    assert e.value.status_code == status


def test_unsigned_request_is_refused(raw):
    r = raw.send(raw.common("DescribeRegions"), sign_it=False)
    assert r.status == 400
    assert r.json()["Code"] == "IncompleteSignature"


def test_tampered_parameter_is_refused(raw):
    params = raw.common("DescribeRegions")
    from hearth_raw import sign

    params["Signature"] = sign(params, raw.secret)
    params["Action"] = "DescribeZones"
    r = raw.send(params, sign_it=False)
    assert r.json()["Code"] == "SignatureDoesNotMatch"


@pytest.mark.parametrize("missing", ["AccessKeyId", "SignatureNonce", "Timestamp", "SignatureMethod"])
def test_missing_signature_pieces(raw, missing):
    r = raw.send(raw.common("DescribeRegions", **{missing: None}))
    assert r.status == 400
    assert r.json()["Code"] == "MissingParameter"
    assert missing in r.json()["Message"]


@pytest.mark.parametrize("minutes", [-16, 16])
def test_timestamp_more_than_15_minutes_off(raw, minutes):
    when = (datetime.now(timezone.utc) + timedelta(minutes=minutes)).strftime("%Y-%m-%dT%H:%M:%SZ")
    r = raw.send(raw.common("DescribeRegions", Timestamp=when))
    assert r.status == 400
    assert r.json()["Code"] == "InvalidTimeStamp.Expired"


def test_timestamp_within_15_minutes_is_accepted(raw):
    when = (datetime.now(timezone.utc) - timedelta(minutes=14)).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert raw.send(raw.common("DescribeRegions", Timestamp=when)).status == 200


def test_reused_nonce_is_refused(raw):
    params = raw.common("DescribeRegions", SignatureNonce="nonce-used-twice")
    assert raw.send(params).status == 200
    r = raw.send(params)
    assert r.status == 400
    assert r.json()["Code"] == "SignatureNonceUsed"


def test_error_envelope_has_every_field(raw):
    body = raw.call("NoSuchAction").json()
    assert set(body) == {"RequestId", "HostId", "Code", "Message", "Recommend"}
    assert body["Code"] == "InvalidAction.NotFound"


def test_unknown_action_is_404(raw):
    r = raw.call("DescribeNothing")
    assert r.status == 404
    assert r.json()["Code"] == "InvalidAction.NotFound"


def test_unknown_version(raw):
    r = raw.call("DescribeRegions", version="2099-01-01")
    assert r.status == 400
    assert r.json()["Code"] == "InvalidVersion"


def test_xml_format(raw, region):
    r = raw.call("DescribeRegions", Format="XML")
    assert r.status == 200
    assert r.content_type.startswith("text/xml")
    root = ET.fromstring(r.body)
    assert root.tag == "DescribeRegionsResponse"
    assert root.find("Regions/Region/RegionId").text == region


def test_xml_errors(raw):
    r = raw.call("NoSuchAction", Format="XML")
    assert r.status == 404
    root = ET.fromstring(r.body)
    assert root.tag == "Error"
    assert root.find("Code").text == "InvalidAction.NotFound"


def test_wrong_region_is_not_found(legacy):
    with pytest.raises(Exception) as e:
        legacy("DescribeZones", RegionId="cn-nowhere")
    assert "InvalidRegionId.NotFound" in str(e.value)
