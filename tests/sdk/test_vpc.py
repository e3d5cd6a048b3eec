"""The VPC product (2016-04-28) through the official VPC SDK, signed both ways: VPCs and
VSwitches are created, described (filters, paging, tags), modified and deleted, and every bad
request is refused with the VPC error code and HTTP status, creating nothing."""

import uuid

import pytest
from Tea.exceptions import TeaException
from alibabacloud_vpc20160428 import models as m

VPC_VERSION = "2016-04-28"


def unique(prefix="t"):
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def refused(call):
    """(code, HTTP status, message) of a call that must fail."""
    with pytest.raises(TeaException) as e:
        call()
    return e.value.code, e.value.status_code, e.value.message


def count_vpcs(vpc, region, **filters):
    return vpc.describe_vpcs(m.DescribeVpcsRequest(region_id=region, **filters)).body.total_count


def count_vswitches(vpc, **filters):
    return vpc.describe_vswitches(m.DescribeVSwitchesRequest(**filters)).body.total_count


def make_vpc(vpc, region, cidr="10.0.0.0/8", **kw):
    return vpc.create_vpc(m.CreateVpcRequest(region_id=region, cidr_block=cidr, **kw)).body.vpc_id


def make_vswitch(vpc, region, vpc_id, cidr, zone=None, **kw):
    zone = zone or zone_of(vpc, region)
    req = m.CreateVSwitchRequest(region_id=region, zone_id=zone, vpc_id=vpc_id, cidr_block=cidr, **kw)
    return vpc.create_vswitch(req).body.v_switch_id


def zone_of(vpc, region):
    return vpc.describe_zones(m.DescribeZonesRequest(region_id=region)).body.zones.zone[0].zone_id


def delete_vpc(vpc, region, vpc_id):
    vpc.delete_vpc(m.DeleteVpcRequest(region_id=region, vpc_id=vpc_id))


def delete_vswitch(vpc, region, vsw_id):
    vpc.delete_vswitch(m.DeleteVSwitchRequest(region_id=region, v_switch_id=vsw_id))


def tag_filter(model, key, value):
    return [model(key=key, value=value)]


# ---- VPCs ----------------------------------------------------------------------------------


def test_create_describe_modify_delete_vpc(vpc, region):
    name, tag_value = unique("web"), unique("v")
    created = vpc.create_vpc(
        m.CreateVpcRequest(
            region_id=region,
            cidr_block="192.168.0.0/16",
            vpc_name=name,
            description="network for the web tier",
            tag=[m.CreateVpcRequestTag(key="team", value=tag_value)],
        )
    ).body
    assert created.vpc_id.startswith("vpc-")
    assert created.vrouter_id.startswith("vrt-")
    assert created.route_table_id.startswith("vtb-")
    assert created.resource_group_id == ""
    assert created.request_id

    body = vpc.describe_vpcs(m.DescribeVpcsRequest(region_id=region, vpc_id=created.vpc_id)).body
    assert body.total_count == 1
    v = body.vpcs.vpc[0]
    assert v.vpc_id == created.vpc_id
    assert v.region_id == region
    assert v.status == "Available"
    assert v.vpc_name == name
    assert v.description == "network for the web tier"
    assert v.cidr_block == "192.168.0.0/16"
    assert v.vrouter_id == created.vrouter_id
    assert v.router_table_ids.router_table_ids == [created.route_table_id]
    assert v.is_default is False
    assert v.creation_time.endswith("Z")
    assert v.v_switch_ids.v_switch_id == []
    assert [(t.key, t.value) for t in v.tags.tag] == [("team", tag_value)]

    # Filters: by name, by tag (key and value, or key only), and IsDefault.
    assert count_vpcs(vpc, region, vpc_name=name) == 1
    tag = tag_filter(m.DescribeVpcsRequestTag, "team", tag_value)
    assert [x.vpc_id for x in vpc.describe_vpcs(m.DescribeVpcsRequest(region_id=region, tag=tag)).body.vpcs.vpc] == [
        created.vpc_id
    ]
    assert count_vpcs(vpc, region, tag=tag_filter(m.DescribeVpcsRequestTag, "team", "other")) == 0
    assert count_vpcs(vpc, region, vpc_name=name, is_default=True) == 0
    assert count_vpcs(vpc, region, vpc_name=name, is_default=False) == 1

    new_name = unique("renamed")
    vpc.modify_vpc_attribute(
        m.ModifyVpcAttributeRequest(region_id=region, vpc_id=created.vpc_id, vpc_name=new_name, description="renamed it")
    )
    v = vpc.describe_vpcs(m.DescribeVpcsRequest(region_id=region, vpc_id=created.vpc_id)).body.vpcs.vpc[0]
    assert (v.vpc_name, v.description) == (new_name, "renamed it")

    delete_vpc(vpc, region, created.vpc_id)
    assert count_vpcs(vpc, region, vpc_id=created.vpc_id) == 0
    assert count_vpcs(vpc, region, tag=tag) == 0
    code, status, _ = refused(lambda: delete_vpc(vpc, region, created.vpc_id))
    assert (code, status) == ("InvalidVpcId.NotFound", 404)


def test_default_cidr_block(vpc, region):
    vpc_id = vpc.create_vpc(m.CreateVpcRequest(region_id=region)).body.vpc_id
    v = vpc.describe_vpcs(m.DescribeVpcsRequest(region_id=region, vpc_id=vpc_id)).body.vpcs.vpc[0]
    assert v.cidr_block == "172.16.0.0/12"
    assert v.vpc_name == ""
    delete_vpc(vpc, region, vpc_id)


def test_vpc_ids_comma_separated(vpc, region):
    a, b, c = (make_vpc(vpc, region) for _ in range(3))
    body = vpc.describe_vpcs(m.DescribeVpcsRequest(region_id=region, vpc_id=f"{a},{c}")).body
    assert body.total_count == 2
    assert {v.vpc_id for v in body.vpcs.vpc} == {a, c}
    assert count_vpcs(vpc, region, vpc_id="vpc-doesnotexist000000") == 0
    for x in (a, b, c):
        delete_vpc(vpc, region, x)


def test_paging_over_several_pages(vpc, region):
    value = unique("page")
    tag = [m.CreateVpcRequestTag(key="paging", value=value)]
    made = [make_vpc(vpc, region, tag=tag) for _ in range(5)]
    seen = []
    for number in (1, 2, 3):
        body = vpc.describe_vpcs(
            m.DescribeVpcsRequest(
                region_id=region,
                tag=tag_filter(m.DescribeVpcsRequestTag, "paging", value),
                page_number=number,
                page_size=2,
            )
        ).body
        assert (body.total_count, body.page_number, body.page_size) == (5, number, 2)
        assert len(body.vpcs.vpc) == (2 if number < 3 else 1)
        seen += [v.vpc_id for v in body.vpcs.vpc]
    assert seen == made  # creation order, no repeats, nothing missed
    for x in made:
        delete_vpc(vpc, region, x)


@pytest.mark.parametrize("size", [0, 51])
def test_page_size_out_of_range(vpc, region, size):
    code, status, message = refused(lambda: vpc.describe_vpcs(m.DescribeVpcsRequest(region_id=region, page_size=size)))
    assert (code, status) == ("InvalidPageSize.Malformed", 400)
    assert "50" in message


@pytest.mark.parametrize(
    "cidr",
    [
        "10.0.0.1/8",  # host bits set
        "172.0.0.0/8",  # wider than 172.16.0.0/12
        "11.0.0.0/8",  # not private
        "192.168.0.0/15",  # wider than 192.168.0.0/16
        "10.0.0.0/29",  # longer than /28
        "10.0.0.0",  # no prefix
        "010.0.0.0/8",  # leading zero
        "10.0.0.256/32",  # bad octet
        " 10.0.0.0/8",  # whitespace
    ],
)
def test_create_vpc_refuses_bad_cidr(vpc, region, cidr):
    before = count_vpcs(vpc, region)
    code, status, message = refused(lambda: make_vpc(vpc, region, cidr=cidr))
    assert (code, status) == ("InvalidCidrBlock.Malformed", 400)
    assert "192.168.0.0/16" in message and "/28" in message
    assert count_vpcs(vpc, region) == before


@pytest.mark.parametrize(
    "field,value,expected",
    [
        ("vpc_name", "1starts-with-digit", "InvalidVpcName.Malformed"),
        ("vpc_name", "has space", "InvalidVpcName.Malformed"),
        ("vpc_name", "http://x", "InvalidVpcName.Malformed"),
        ("vpc_name", "a" * 129, "InvalidVpcName.Malformed"),
        ("description", "x", "InvalidDescription.Malformed"),
        ("description", "https://example.com", "InvalidDescription.Malformed"),
    ],
)
def test_create_vpc_refuses_bad_name_or_description(vpc, region, field, value, expected):
    before = count_vpcs(vpc, region)
    code, status, _ = refused(lambda: make_vpc(vpc, region, **{field: value}))
    assert (code, status) == (expected, 400)
    assert count_vpcs(vpc, region) == before


def test_create_vpc_refuses_bad_tags(vpc, region):
    before = count_vpcs(vpc, region)
    code, status, _ = refused(lambda: make_vpc(vpc, region, tag=[m.CreateVpcRequestTag(key="aliyun-x", value="v")]))
    assert (code, status) == ("InvalidTagKey.Malformed", 400)
    assert count_vpcs(vpc, region) == before


def test_unknown_region_is_refused(vpc, region):
    before = count_vpcs(vpc, region)
    code, status, _ = refused(lambda: vpc.create_vpc(m.CreateVpcRequest(region_id="nowhere-1")))
    assert (code, status) == ("InvalidRegionId.NotFound", 404)
    code, status, _ = refused(lambda: vpc.describe_vpcs(m.DescribeVpcsRequest(region_id="nowhere-1")))
    assert (code, status) == ("InvalidRegionId.NotFound", 404)
    assert count_vpcs(vpc, region) == before


def test_region_id_is_required(raw, region):
    r = raw.send(raw.common("CreateVpc", VPC_VERSION, CidrBlock="10.0.0.0/8"))
    assert r.status == 400
    assert r.json()["Code"] == "MissingParameter"
    assert "RegionId" in r.json()["Message"]


def test_create_vpc_dry_run_creates_nothing(vpc, region):
    before = count_vpcs(vpc, region)
    code, status, message = refused(lambda: make_vpc(vpc, region, dry_run=True))
    assert (code, status) == ("DryRunOperation", 400)
    assert "DryRun" in message
    # A dry run still checks everything.
    code, status, _ = refused(lambda: make_vpc(vpc, region, cidr="8.8.8.0/24", dry_run=True))
    assert (code, status) == ("InvalidCidrBlock.Malformed", 400)
    assert count_vpcs(vpc, region) == before


def test_create_vpc_client_token(vpc, region):
    token = uuid.uuid4().hex
    before = count_vpcs(vpc, region)
    first = vpc.create_vpc(m.CreateVpcRequest(region_id=region, cidr_block="10.0.0.0/16", client_token=token)).body
    again = vpc.create_vpc(m.CreateVpcRequest(region_id=region, cidr_block="10.0.0.0/16", client_token=token)).body
    assert (again.vpc_id, again.vrouter_id, again.route_table_id) == (
        first.vpc_id,
        first.vrouter_id,
        first.route_table_id,
    )
    assert count_vpcs(vpc, region) == before + 1
    code, status, _ = refused(
        lambda: vpc.create_vpc(m.CreateVpcRequest(region_id=region, cidr_block="10.1.0.0/16", client_token=token))
    )
    assert (code, status) == ("IdempotentParameterMismatch", 400)
    assert count_vpcs(vpc, region) == before + 1
    delete_vpc(vpc, region, first.vpc_id)


def test_delete_vpc_dry_run_keeps_it(vpc, region):
    vpc_id = make_vpc(vpc, region)
    code, status, _ = refused(lambda: vpc.delete_vpc(m.DeleteVpcRequest(region_id=region, vpc_id=vpc_id, dry_run=True)))
    assert (code, status) == ("DryRunOperation", 400)
    assert count_vpcs(vpc, region, vpc_id=vpc_id) == 1
    delete_vpc(vpc, region, vpc_id)


def test_legacy_client_creates_a_vpc(legacy, region):
    created = legacy("CreateVpc", VPC_VERSION, RegionId=region, CidrBlock="192.168.0.0/16", VpcName=unique("legacy"))
    assert created["VpcId"].startswith("vpc-")
    found = legacy("DescribeVpcs", VPC_VERSION, RegionId=region, VpcId=created["VpcId"])
    assert found["TotalCount"] == 1
    assert found["Vpcs"]["Vpc"][0]["CidrBlock"] == "192.168.0.0/16"
    zone = legacy("DescribeZones", VPC_VERSION, RegionId=region)["Zones"]["Zone"][0]["ZoneId"]
    vsw = legacy("CreateVSwitch", VPC_VERSION, RegionId=region, ZoneId=zone, VpcId=created["VpcId"], CidrBlock="192.168.7.0/24")
    listed = legacy("DescribeVSwitches", VPC_VERSION, RegionId=region, VpcId=created["VpcId"])
    assert [v["VSwitchId"] for v in listed["VSwitches"]["VSwitch"]] == [vsw["VSwitchId"]]
    legacy("DeleteVSwitch", VPC_VERSION, RegionId=region, VSwitchId=vsw["VSwitchId"])
    legacy("DeleteVpc", VPC_VERSION, RegionId=region, VpcId=created["VpcId"])
    assert legacy("DescribeVpcs", VPC_VERSION, RegionId=region, VpcId=created["VpcId"])["TotalCount"] == 0


# ---- VSwitches -----------------------------------------------------------------------------


@pytest.fixture
def network(vpc, region):
    """A fresh 10.0.0.0/8 VPC; its VSwitches and the VPC are deleted afterwards."""
    vpc_id = make_vpc(vpc, region, cidr="10.0.0.0/8")
    yield vpc_id
    for v in vpc.describe_vswitches(m.DescribeVSwitchesRequest(vpc_id=vpc_id, page_size=50)).body.v_switches.v_switch:
        delete_vswitch(vpc, region, v.v_switch_id)
    delete_vpc(vpc, region, vpc_id)


def test_create_describe_modify_delete_vswitch(vpc, region, network):
    zone = zone_of(vpc, region)
    name, tag_value = unique("subnet"), unique("v")
    vsw_id = vpc.create_vswitch(
        m.CreateVSwitchRequest(
            region_id=region,
            zone_id=zone,
            vpc_id=network,
            cidr_block="10.20.30.0/24",
            v_switch_name=name,
            description="app subnet",
            tag=[m.CreateVSwitchRequestTag(key="tier", value=tag_value)],
        )
    ).body.v_switch_id
    assert vsw_id.startswith("vsw-")

    route_table = vpc.describe_vpcs(m.DescribeVpcsRequest(region_id=region, vpc_id=network)).body.vpcs.vpc[0]
    assert route_table.v_switch_ids.v_switch_id == [vsw_id]

    a = vpc.describe_vswitch_attributes(m.DescribeVSwitchAttributesRequest(region_id=region, v_switch_id=vsw_id)).body
    assert a.v_switch_id == vsw_id
    assert a.vpc_id == network
    assert a.zone_id == zone
    assert a.cidr_block == "10.20.30.0/24"
    assert a.status == "Available"
    assert a.v_switch_name == name
    assert a.description == "app subnet"
    assert a.is_default is False
    # 256 addresses minus network, gateway and the last three.
    assert a.available_ip_address_count == 251
    assert a.route_table.route_table_id == route_table.router_table_ids.router_table_ids[0]
    assert [(t.key, t.value) for t in a.tags.tag] == [("tier", tag_value)]

    body = vpc.describe_vswitches(m.DescribeVSwitchesRequest(region_id=region, vpc_id=network)).body
    assert body.total_count == 1
    v = body.v_switches.v_switch[0]
    assert (v.v_switch_id, v.cidr_block, v.available_ip_address_count, v.zone_id) == (vsw_id, "10.20.30.0/24", 251, zone)
    assert [(t.key, t.value) for t in v.tags.tag] == [("tier", tag_value)]

    # Every filter finds it, and a mismatching one does not.
    assert count_vswitches(vpc, v_switch_id=vsw_id) == 1
    assert count_vswitches(vpc, vpc_id=network, zone_id=zone) == 1
    assert count_vswitches(vpc, vpc_id=network, zone_id="no-such-zone") == 0
    assert count_vswitches(vpc, v_switch_name=name) == 1
    assert count_vswitches(vpc, tag=tag_filter(m.DescribeVSwitchesRequestTag, "tier", tag_value)) == 1
    assert count_vswitches(vpc, vpc_id=network, tag=tag_filter(m.DescribeVSwitchesRequestTag, "tier", "x")) == 0
    assert count_vswitches(vpc, vpc_id=network, is_default=False) == 1

    vpc.modify_vswitch_attribute(
        m.ModifyVSwitchAttributeRequest(region_id=region, v_switch_id=vsw_id, v_switch_name="renamed", description="new words")
    )
    a = vpc.describe_vswitch_attributes(m.DescribeVSwitchAttributesRequest(v_switch_id=vsw_id)).body
    assert (a.v_switch_name, a.description) == ("renamed", "new words")

    delete_vswitch(vpc, region, vsw_id)
    assert count_vswitches(vpc, vpc_id=network) == 0
    code, status, _ = refused(lambda: vpc.describe_vswitch_attributes(m.DescribeVSwitchAttributesRequest(v_switch_id=vsw_id)))
    assert (code, status) == ("InvalidVSwitchId.NotFound", 404)
    code, status, _ = refused(lambda: delete_vswitch(vpc, region, vsw_id))
    assert (code, status) == ("InvalidVSwitchId.NotFound", 404)


def test_smallest_vswitch_has_three_addresses(vpc, region, network):
    vsw_id = make_vswitch(vpc, region, network, "10.9.9.8/29")
    a = vpc.describe_vswitch_attributes(m.DescribeVSwitchAttributesRequest(v_switch_id=vsw_id)).body
    assert a.available_ip_address_count == 3


def test_vswitch_paging(vpc, region, network):
    made = [make_vswitch(vpc, region, network, f"10.1.{i}.0/24") for i in range(5)]
    seen = []
    for number in (1, 2, 3):
        body = vpc.describe_vswitches(m.DescribeVSwitchesRequest(vpc_id=network, page_number=number, page_size=2)).body
        assert (body.total_count, body.page_number, body.page_size) == (5, number, 2)
        seen += [v.v_switch_id for v in body.v_switches.v_switch]
    assert seen == made
    # Totals stay right after a delete, by VPC, by VPC and zone, and by zone alone.
    delete_vswitch(vpc, region, made[0])
    zone = zone_of(vpc, region)
    for filters in ({"vpc_id": network}, {"vpc_id": network, "zone_id": zone}):
        body = vpc.describe_vswitches(m.DescribeVSwitchesRequest(page_size=2, **filters)).body
        assert body.total_count == 4
        assert [v.v_switch_id for v in body.v_switches.v_switch] == made[1:3]
    everywhere = vpc.describe_vswitches(m.DescribeVSwitchesRequest(zone_id=zone, page_size=1)).body.total_count
    assert everywhere >= 4
    assert count_vswitches(vpc, page_size=1) == everywhere  # one zone here
    code, status, _ = refused(lambda: vpc.describe_vswitches(m.DescribeVSwitchesRequest(vpc_id=network, page_size=51)))
    assert (code, status) == ("InvalidPageSize.Malformed", 400)


@pytest.mark.parametrize(
    "cidr",
    [
        "192.168.0.0/24",  # outside the VPC
        "10.0.0.0/15",  # wider than /16
        "10.0.0.0/30",  # longer than /29
        "10.0.0.1/24",  # host bits
        "10.0.0.0",  # no prefix
        "10.0.0.0/024",  # leading zero
        "not-a-cidr",
    ],
)
def test_create_vswitch_refuses_bad_cidr(vpc, region, network, cidr):
    code, status, _ = refused(lambda: make_vswitch(vpc, region, network, cidr))
    assert (code, status) == ("InvalidCidrBlock.Malformed", 400)
    assert count_vswitches(vpc, vpc_id=network) == 0


def test_create_vswitch_refuses_overlap(vpc, region, network):
    first = make_vswitch(vpc, region, network, "10.5.0.0/16")
    for cidr in ("10.5.0.0/16", "10.5.3.0/24", "10.5.255.248/29"):
        code, status, message = refused(lambda: make_vswitch(vpc, region, network, cidr))
        assert (code, status) == ("InvalidCidrBlock.Overlapped", 400)
        assert first in message
    assert count_vswitches(vpc, vpc_id=network) == 1
    # Right next to it is fine, and another VPC may reuse the same block.
    make_vswitch(vpc, region, network, "10.6.0.0/24")
    other = make_vpc(vpc, region, cidr="10.0.0.0/8")
    other_vsw = make_vswitch(vpc, region, other, "10.5.0.0/16")
    delete_vswitch(vpc, region, other_vsw)
    delete_vpc(vpc, region, other)


def test_create_vswitch_refuses_unknown_zone_and_vpc(vpc, region, network):
    code, status, _ = refused(lambda: make_vswitch(vpc, region, network, "10.0.0.0/24", zone="no-such-zone"))
    assert (code, status) == ("InvalidZoneId.NotFound", 404)
    code, status, _ = refused(lambda: make_vswitch(vpc, region, "vpc-doesnotexist000000", "10.0.0.0/24"))
    assert (code, status) == ("InvalidVpcId.NotFound", 404)
    code, status, _ = refused(lambda: make_vswitch(vpc, region, network, "10.0.0.0/24", v_switch_name="-bad"))
    assert (code, status) == ("InvalidVSwitchName.Malformed", 400)
    code, status, message = refused(lambda: make_vswitch(vpc, region, network, None))
    assert (code, status) == ("MissingParameter", 400)
    assert "CidrBlock" in message
    assert count_vswitches(vpc, vpc_id=network) == 0
    assert count_vswitches(vpc, vpc_id="vpc-doesnotexist000000") == 0


def test_create_vswitch_client_token_and_dry_run(vpc, region, network, raw):
    token = uuid.uuid4().hex
    zone = zone_of(vpc, region)
    first = make_vswitch(vpc, region, network, "10.7.0.0/24", client_token=token)
    again = make_vswitch(vpc, region, network, "10.7.0.0/24", client_token=token)
    assert again == first
    assert count_vswitches(vpc, vpc_id=network) == 1
    code, status, _ = refused(lambda: make_vswitch(vpc, region, network, "10.8.0.0/24", client_token=token))
    assert (code, status) == ("IdempotentParameterMismatch", 400)
    # The SDK model has no DryRun for CreateVSwitch; the API accepts it as the VPC API does.
    r = raw.send(raw.common("CreateVSwitch", VPC_VERSION, RegionId=region, ZoneId=zone, VpcId=network, CidrBlock="10.9.0.0/24", DryRun="true"))
    assert (r.status, r.json()["Code"]) == (400, "DryRunOperation")
    r = raw.send(raw.common("CreateVSwitch", VPC_VERSION, RegionId=region, ZoneId=zone, VpcId=network, CidrBlock="10.7.0.0/25", DryRun="true"))
    assert (r.status, r.json()["Code"]) == (400, "InvalidCidrBlock.Overlapped")
    assert count_vswitches(vpc, vpc_id=network) == 1


def test_delete_vpc_with_vswitches_is_a_dependency_violation(vpc, region):
    vpc_id = make_vpc(vpc, region)
    a = make_vswitch(vpc, region, vpc_id, "10.1.0.0/24")
    b = make_vswitch(vpc, region, vpc_id, "10.2.0.0/24")
    code, status, message = refused(lambda: delete_vpc(vpc, region, vpc_id))
    assert (code, status) == ("DependencyViolation", 403)
    assert a in message and b in message
    assert count_vpcs(vpc, region, vpc_id=vpc_id) == 1
    delete_vswitch(vpc, region, a)
    code, status, message = refused(lambda: delete_vpc(vpc, region, vpc_id))
    assert (code, status) == ("DependencyViolation", 403)
    assert b in message and a not in message
    delete_vswitch(vpc, region, b)
    delete_vpc(vpc, region, vpc_id)
    assert count_vpcs(vpc, region, vpc_id=vpc_id) == 0


def test_delete_vswitch_dry_run_keeps_it(vpc, region, network):
    vsw_id = make_vswitch(vpc, region, network, "10.3.0.0/24")
    code, status, _ = refused(
        lambda: vpc.delete_vswitch(m.DeleteVSwitchRequest(region_id=region, v_switch_id=vsw_id, dry_run=True))
    )
    assert (code, status) == ("DryRunOperation", 400)
    assert count_vswitches(vpc, v_switch_id=vsw_id) == 1


def test_modify_refuses_unknown_ids_and_bad_names(vpc, region, network):
    code, status, _ = refused(
        lambda: vpc.modify_vpc_attribute(m.ModifyVpcAttributeRequest(vpc_id="vpc-doesnotexist000000", vpc_name="fine"))
    )
    assert (code, status) == ("InvalidVpcId.NotFound", 404)
    code, status, _ = refused(lambda: vpc.modify_vpc_attribute(m.ModifyVpcAttributeRequest(vpc_id=network, vpc_name="9lives")))
    assert (code, status) == ("InvalidVpcName.Malformed", 400)
    code, status, _ = refused(
        lambda: vpc.modify_vswitch_attribute(m.ModifyVSwitchAttributeRequest(v_switch_id="vsw-doesnotexist000000", v_switch_name="fine"))
    )
    assert (code, status) == ("InvalidVSwitchId.NotFound", 404)
    assert vpc.describe_vpcs(m.DescribeVpcsRequest(region_id=region, vpc_id=network)).body.vpcs.vpc[0].vpc_name == ""


def test_vswitch_listing_carries_each_vswitchs_own_tags(vpc, region, network):
    two = make_vswitch(
        vpc,
        region,
        network,
        "10.11.0.0/24",
        tag=[m.CreateVSwitchRequestTag(key="b", value="2"), m.CreateVSwitchRequestTag(key="a", value="1")],
    )
    none = make_vswitch(vpc, region, network, "10.12.0.0/24")
    one = make_vswitch(vpc, region, network, "10.13.0.0/24", tag=[m.CreateVSwitchRequestTag(key="c", value="")])
    body = vpc.describe_vswitches(m.DescribeVSwitchesRequest(vpc_id=network)).body
    got = {v.v_switch_id: [(t.key, t.value) for t in v.tags.tag] for v in body.v_switches.v_switch}
    assert got == {two: [("a", "1"), ("b", "2")], none: [], one: [("c", "")]}
    # A VSwitch with two tags is still one item of a page.
    for number, expected in ((1, two), (2, none), (3, one)):
        page = vpc.describe_vswitches(m.DescribeVSwitchesRequest(vpc_id=network, page_size=1, page_number=number)).body
        assert [v.v_switch_id for v in page.v_switches.v_switch] == [expected]
        assert page.total_count == 3
    # Filtering on a key alone (any value).
    keyed = vpc.describe_vswitches(
        m.DescribeVSwitchesRequest(vpc_id=network, tag=[m.DescribeVSwitchesRequestTag(key="a")])
    ).body
    assert [v.v_switch_id for v in keyed.v_switches.v_switch] == [two]


def test_vpc_with_security_groups_cannot_be_deleted(vpc, ecs, region):
    """A security group belongs to its VPC: the VPC goes only after its groups."""
    from alibabacloud_ecs20140526 import models as ecs_models
    from alibabacloud_vpc20160428 import models as vpc_models
    from Tea.exceptions import TeaException

    vpc_id = vpc.create_vpc(vpc_models.CreateVpcRequest(region_id=region, cidr_block="192.168.0.0/16")).body.vpc_id
    sg_id = ecs.create_security_group(ecs_models.CreateSecurityGroupRequest(region_id=region, vpc_id=vpc_id)).body.security_group_id
    with pytest.raises(TeaException) as e:
        vpc.delete_vpc(vpc_models.DeleteVpcRequest(region_id=region, vpc_id=vpc_id))
    assert e.value.code == "DependencyViolation"
    assert e.value.status_code == 403
    assert sg_id in e.value.message
    ecs.delete_security_group(ecs_models.DeleteSecurityGroupRequest(region_id=region, security_group_id=sg_id))
    vpc.delete_vpc(vpc_models.DeleteVpcRequest(region_id=region, vpc_id=vpc_id))


def test_security_group_in_unknown_vpc_is_refused(ecs, region):
    from alibabacloud_ecs20140526 import models as ecs_models
    from Tea.exceptions import TeaException

    with pytest.raises(TeaException) as e:
        ecs.create_security_group(ecs_models.CreateSecurityGroupRequest(region_id=region, vpc_id="vpc-doesnotexist000000"))
    assert e.value.code == "InvalidVpcId.NotFound"
    assert e.value.status_code == 404
