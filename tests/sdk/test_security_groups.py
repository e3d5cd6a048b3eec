"""Security groups through the official ECS SDK (both signatures), the legacy core SDK and
hand-signed requests: create, describe (filters, paging, tags), rules of every kind in both the
flat and Permissions.N forms, revoke, modify, delete, and every rejection with its exact code."""

import json
import uuid

import pytest
from Tea.exceptions import TeaException
from alibabacloud_ecs20140526 import models as m


def uniq(prefix="sg"):
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def create(ecs, region, name=None, **kw):
    req = m.CreateSecurityGroupRequest(region_id=region, security_group_name=name or uniq(), **kw)
    return ecs.create_security_group(req).body.security_group_id


def delete(ecs, region, group_id):
    ecs.delete_security_group(m.DeleteSecurityGroupRequest(region_id=region, security_group_id=group_id))


def rules(ecs, region, group_id, direction=None):
    body = ecs.describe_security_group_attribute(
        m.DescribeSecurityGroupAttributeRequest(region_id=region, security_group_id=group_id, direction=direction)
    ).body
    return body.permissions.permission


def describe(ecs, region, **kw):
    return ecs.describe_security_groups(m.DescribeSecurityGroupsRequest(region_id=region, **kw)).body


def new_vpc(legacy, region):
    """A real VPC for groups to live in (a random 10.x.0.0/16)."""
    import random

    cidr = f"10.{random.randint(0, 255)}.0.0/16"
    return legacy("CreateVpc", "2016-04-28", RegionId=region, CidrBlock=cidr)["VpcId"]


def refused(call, code, status):
    with pytest.raises(TeaException) as e:
        call()
    assert e.value.code == code, e.value.message
    assert e.value.status_code == status
    return e.value


def ingress(ecs, region, group_id, **kw):
    return ecs.authorize_security_group(
        m.AuthorizeSecurityGroupRequest(region_id=region, security_group_id=group_id, **kw)
    )


def egress(ecs, region, group_id, **kw):
    return ecs.authorize_security_group_egress(
        m.AuthorizeSecurityGroupEgressRequest(region_id=region, security_group_id=group_id, **kw)
    )


@pytest.fixture
def group(ecs, region):
    gid = create(ecs, region)
    yield gid
    try:
        delete(ecs, region, gid)
    except TeaException:
        pass


def test_create_describe_attribute_delete(ecs, legacy, region):
    vpc_id = new_vpc(legacy, region)
    name = uniq("web")
    gid = create(
        ecs,
        region,
        name=name,
        description="web servers",
        vpc_id=vpc_id,
        security_group_type="normal",
        resource_group_id="rg-test",
        tag=[m.CreateSecurityGroupRequestTag(key="team", value="blue")],
    )
    assert gid.startswith("sg-")
    body = describe(ecs, region, security_group_id=gid)
    assert body.total_count == 1 and body.page_number == 1 and body.page_size == 10
    g = body.security_groups.security_group[0]
    assert (g.security_group_id, g.security_group_name, g.description) == (gid, name, "web servers")
    assert (g.vpc_id, g.security_group_type, g.resource_group_id) == (vpc_id, "normal", "rg-test")
    assert g.ecs_count == 0 and g.rule_count == 0 and g.service_managed is False
    assert g.available_instance_amount == 2000
    assert g.creation_time.endswith("Z")
    assert [(t.tag_key, t.tag_value) for t in g.tags.tag] == [("team", "blue")]

    attr = ecs.describe_security_group_attribute(
        m.DescribeSecurityGroupAttributeRequest(region_id=region, security_group_id=gid)
    ).body
    assert attr.security_group_id == gid and attr.security_group_name == name
    assert attr.inner_access_policy == "Accept"
    assert attr.vpc_id == vpc_id
    assert attr.permissions.permission == []

    delete(ecs, region, gid)
    assert describe(ecs, region, security_group_id=gid).total_count == 0
    refused(lambda: delete(ecs, region, gid), "InvalidSecurityGroupId.NotFound", 404)


def test_enterprise_group_isolates_members(ecs, region):
    gid = create(ecs, region, security_group_type="enterprise")
    try:
        attr = ecs.describe_security_group_attribute(
            m.DescribeSecurityGroupAttributeRequest(region_id=region, security_group_id=gid)
        ).body
        assert attr.inner_access_policy == "Drop"
        g = describe(ecs, region, security_group_id=gid).security_groups.security_group[0]
        assert g.security_group_type == "enterprise"
    finally:
        delete(ecs, region, gid)


def test_legacy_sdk_create_authorize_describe_delete(legacy, region):
    gid = legacy("CreateSecurityGroup", RegionId=region, SecurityGroupName=uniq())["SecurityGroupId"]
    legacy("AuthorizeSecurityGroup", RegionId=region, SecurityGroupId=gid, IpProtocol="tcp",
           PortRange="22/22", SourceCidrIp="0.0.0.0/0")
    attr = legacy("DescribeSecurityGroupAttribute", RegionId=region, SecurityGroupId=gid)
    [p] = attr["Permissions"]["Permission"]
    assert (p["IpProtocol"], p["PortRange"], p["SourceCidrIp"], p["Policy"], p["Priority"]) == (
        "TCP", "22/22", "0.0.0.0/0", "Accept", "1")
    body = legacy("DescribeSecurityGroups", RegionId=region, SecurityGroupIds=json.dumps([gid]))
    assert body["SecurityGroups"]["SecurityGroup"][0]["RuleCount"] == 1
    legacy("DeleteSecurityGroup", RegionId=region, SecurityGroupId=gid)
    body = legacy("DescribeSecurityGroups", RegionId=region, SecurityGroupIds=json.dumps([gid]))
    assert body["TotalCount"] == 0


def test_client_token(ecs, region):
    token = uuid.uuid4().hex
    name = uniq()
    a = create(ecs, region, name=name, client_token=token)
    b = create(ecs, region, name=name, client_token=token)
    try:
        assert a == b
        assert describe(ecs, region, security_group_name=name).total_count == 1
        refused(lambda: create(ecs, region, name=uniq(), client_token=token), "IdempotentParameterMismatch", 400)
    finally:
        delete(ecs, region, a)


@pytest.mark.parametrize(
    "kw,code,status",
    [
        ({"security_group_name": "1bad"}, "InvalidSecurityGroupName.Malformed", 400),
        ({"security_group_name": "http://x"}, "InvalidSecurityGroupName.Malformed", 400),
        ({"description": "https://x.example"}, "InvalidDescription.Malformed", 400),
        ({"security_group_type": "premium"}, "InvalidParameter", 400),
        ({"tag": [m.CreateSecurityGroupRequestTag(key="aliyun-x", value="v")]}, "InvalidTagKey.Malformed", 400),
    ],
)
def test_create_rejections_create_nothing(ecs, region, kw, code, status):
    marker = uniq("bad")
    kw = dict(kw)
    name = kw.pop("security_group_name", marker)
    tag = kw.pop("tag", []) + [m.CreateSecurityGroupRequestTag(key="marker", value=marker)]
    refused(lambda: create(ecs, region, name=name, tag=tag, **kw), code, status)
    assert describe(ecs, region, tag=[m.DescribeSecurityGroupsRequestTag(key="marker", value=marker)]).total_count == 0


def test_wrong_region_and_missing_region(ecs, raw):
    refused(lambda: create(ecs, "no-such-region"), "InvalidRegionId.NotFound", 404)
    r = raw.send(raw.common("CreateSecurityGroup"))
    assert r.status == 400 and r.json()["Code"] == "MissingParameter"
    assert "RegionId" in r.json()["Message"]


def test_paging_and_tag_filter(ecs, region):
    marker = uniq("page")
    ids = [create(ecs, region, tag=[m.CreateSecurityGroupRequestTag(key="paging", value=marker)]) for _ in range(5)]
    other = create(ecs, region, tag=[m.CreateSecurityGroupRequestTag(key="paging", value="other")])
    try:
        tag = [m.DescribeSecurityGroupsRequestTag(key="paging", value=marker)]
        seen = []
        for page in (1, 2, 3):
            body = describe(ecs, region, tag=tag, page_number=page, page_size=2)
            assert body.total_count == 5 and body.page_number == page and body.page_size == 2
            seen += [g.security_group_id for g in body.security_groups.security_group]
        assert seen == ids  # creation order, no repeats across pages
        # NextToken paging visits the same groups.
        seen, token = [], None
        while True:
            body = describe(ecs, region, tag=tag, max_results=10, next_token=token)
            seen += [g.security_group_id for g in body.security_groups.security_group]
            token = body.next_token
            if not token:
                break
        assert seen == ids
        # A key-only tag filter matches any value.
        keyonly = describe(ecs, region, tag=[m.DescribeSecurityGroupsRequestTag(key="paging")], page_size=50,
                           security_group_ids=json.dumps(ids + [other]))
        assert keyonly.total_count == 6
        # SecurityGroupIds filter.
        body = describe(ecs, region, security_group_ids=json.dumps(ids[:2]))
        assert sorted(g.security_group_id for g in body.security_groups.security_group) == sorted(ids[:2])
        refused(lambda: describe(ecs, region, page_size=51), "InvalidPageSize.Malformed", 400)
        refused(lambda: describe(ecs, region, security_group_ids="sg-1,sg-2"), "InvalidParameter", 400)
        refused(lambda: describe(ecs, region, dry_run=True), "DryRunOperation", 400)
    finally:
        for gid in ids + [other]:
            delete(ecs, region, gid)


def test_max_results_pages_across_tokens(ecs, region):
    marker = uniq("tok")
    ids = [create(ecs, region, tag=[m.CreateSecurityGroupRequestTag(key="tok", value=marker)]) for _ in range(12)]
    try:
        tag = [m.DescribeSecurityGroupsRequestTag(key="tok", value=marker)]
        first = describe(ecs, region, tag=tag, max_results=10)
        assert len(first.security_groups.security_group) == 10 and first.next_token
        second = describe(ecs, region, tag=tag, max_results=10, next_token=first.next_token)
        assert [g.security_group_id for g in second.security_groups.security_group] == ids[10:]
        assert second.next_token == ""
    finally:
        for gid in ids:
            delete(ecs, region, gid)


def test_rules_of_each_protocol_flat_form(ecs, region, group):
    ingress(ecs, region, group, ip_protocol="tcp", port_range="22/22", source_cidr_ip="10.0.0.0/8",
            description="ssh")
    ingress(ecs, region, group, ip_protocol="UDP", port_range="53/53", source_cidr_ip="192.168.1.7",
            policy="drop", priority="5")
    ingress(ecs, region, group, ip_protocol="icmp", port_range="-1/-1", source_cidr_ip="0.0.0.0/0")
    ingress(ecs, region, group, ip_protocol="gre", port_range="-1/-1", source_cidr_ip="1.2.3.0/24")
    ingress(ecs, region, group, ip_protocol="all", port_range="-1/-1", source_cidr_ip="172.16.0.0/12",
            nic_type="intranet", priority="100")
    got = rules(ecs, region, group)
    summary = [(p.ip_protocol, p.port_range, p.source_cidr_ip, p.policy, p.priority, p.direction) for p in got]
    assert summary == [
        ("TCP", "22/22", "10.0.0.0/8", "Accept", "1", "ingress"),
        ("UDP", "53/53", "192.168.1.7/32", "Drop", "5", "ingress"),
        ("ICMP", "-1/-1", "0.0.0.0/0", "Accept", "1", "ingress"),
        ("GRE", "-1/-1", "1.2.3.0/24", "Accept", "1", "ingress"),
        ("ALL", "-1/-1", "172.16.0.0/12", "Accept", "100", "ingress"),
    ]
    assert got[0].description == "ssh" and got[0].nic_type == "intranet"
    assert all(p.security_group_rule_id.startswith("sgr-") for p in got)
    assert all(p.create_time.endswith("Z") for p in got)
    assert describe(ecs, region, security_group_id=group).security_groups.security_group[0].rule_count == 5


def test_authorizing_twice_adds_one_rule(ecs, region, group):
    for _ in range(2):
        ingress(ecs, region, group, ip_protocol="tcp", port_range="80/80", source_cidr_ip="0.0.0.0/0")
    # Same rule written differently (case, default policy spelled out) is still the same rule.
    ingress(ecs, region, group, ip_protocol="TCP", port_range="80/80", source_cidr_ip="0.0.0.0/0", policy="accept",
            priority="1")
    assert len(rules(ecs, region, group)) == 1


def test_permissions_form_and_egress(ecs, region, group):
    ingress(ecs, region, group, permissions=[
        m.AuthorizeSecurityGroupRequestPermissions(ip_protocol="tcp", port_range="443/443", source_cidr_ip="0.0.0.0/0"),
        m.AuthorizeSecurityGroupRequestPermissions(ip_protocol="udp", port_range="1000/2000", source_cidr_ip="10.1.0.0/16",
                                                   source_port_range="5000/5001", description="range"),
    ])
    egress(ecs, region, group, ip_protocol="tcp", port_range="25/25", dest_cidr_ip="0.0.0.0/0", policy="drop")
    egress(ecs, region, group, permissions=[
        m.AuthorizeSecurityGroupEgressRequestPermissions(ip_protocol="all", port_range="-1/-1", dest_cidr_ip="10.0.0.0/8"),
    ])
    ins = rules(ecs, region, group, direction="ingress")
    outs = rules(ecs, region, group, direction="egress")
    assert [(p.ip_protocol, p.port_range, p.source_cidr_ip) for p in ins] == [
        ("TCP", "443/443", "0.0.0.0/0"), ("UDP", "1000/2000", "10.1.0.0/16")]
    assert ins[1].source_port_range == "5000/5001" and ins[1].description == "range"
    assert [(p.ip_protocol, p.port_range, p.dest_cidr_ip, p.policy, p.direction) for p in outs] == [
        ("TCP", "25/25", "0.0.0.0/0", "Drop", "egress"), ("ALL", "-1/-1", "10.0.0.0/8", "Accept", "egress")]
    assert len(rules(ecs, region, group)) == 4

    # Revoke egress by parameters (flat), ingress by Permissions.N and by rule ID.
    ecs.revoke_security_group_egress(m.RevokeSecurityGroupEgressRequest(
        region_id=region, security_group_id=group, ip_protocol="TCP", port_range="25/25", dest_cidr_ip="0.0.0.0/0",
        policy="Drop"))
    assert [p.ip_protocol for p in rules(ecs, region, group, direction="egress")] == ["ALL"]
    ecs.revoke_security_group(m.RevokeSecurityGroupRequest(region_id=region, security_group_id=group, permissions=[
        m.RevokeSecurityGroupRequestPermissions(ip_protocol="tcp", port_range="443/443", source_cidr_ip="0.0.0.0/0")]))
    assert [p.ip_protocol for p in rules(ecs, region, group, direction="ingress")] == ["UDP"]
    ecs.revoke_security_group(m.RevokeSecurityGroupRequest(region_id=region, security_group_id=group,
                                                           security_group_rule_id=[ins[1].security_group_rule_id]))
    assert rules(ecs, region, group, direction="ingress") == []
    ecs.revoke_security_group_egress(m.RevokeSecurityGroupEgressRequest(
        region_id=region, security_group_id=group, permissions=[m.RevokeSecurityGroupEgressRequestPermissions(
            ip_protocol="all", port_range="-1/-1", dest_cidr_ip="10.0.0.0/8")]))
    assert rules(ecs, region, group) == []


def test_revoking_a_rule_that_does_not_exist_succeeds(ecs, region, group):
    ingress(ecs, region, group, ip_protocol="tcp", port_range="22/22", source_cidr_ip="0.0.0.0/0")
    # A different priority is a different rule: nothing is removed, and no error (as ECS).
    ecs.revoke_security_group(m.RevokeSecurityGroupRequest(
        region_id=region, security_group_id=group, ip_protocol="tcp", port_range="22/22", source_cidr_ip="0.0.0.0/0",
        priority="2"))
    assert len(rules(ecs, region, group)) == 1
    # A rule ID that is not in the group is refused, and nothing is removed.
    refused(lambda: ecs.revoke_security_group(m.RevokeSecurityGroupRequest(
        region_id=region, security_group_id=group, security_group_rule_id=["sgr-doesnotexist"])),
        "InvalidSecurityGroupRuleId.NotFound", 404)
    assert len(rules(ecs, region, group)) == 1
    refused(lambda: ecs.revoke_security_group(m.RevokeSecurityGroupRequest(
        region_id=region, security_group_id="sg-doesnotexist", ip_protocol="tcp", port_range="22/22",
        source_cidr_ip="0.0.0.0/0")), "InvalidSecurityGroupId.NotFound", 404)


def test_group_peers_and_dependency_violation(ecs, region):
    web = create(ecs, region)
    db = create(ecs, region, name=uniq("db"))
    try:
        ingress(ecs, region, db, ip_protocol="tcp", port_range="5432/5432", source_group_id=web)
        egress(ecs, region, web, ip_protocol="tcp", port_range="5432/5432", dest_group_id=db)
        [inp] = rules(ecs, region, db)
        assert (inp.source_group_id, inp.source_cidr_ip) == (web, "")
        [out] = rules(ecs, region, web)
        assert (out.dest_group_id, out.dest_cidr_ip, out.direction) == (db, "", "egress")
        db_name = describe(ecs, region, security_group_id=db).security_groups.security_group[0].security_group_name
        assert out.dest_group_name == db_name
        g = describe(ecs, region, security_group_id=db).security_groups.security_group[0]
        assert (g.rule_count, g.group_to_group_rule_count) == (1, 1)

        # web is named by db's rule: it cannot go, and nothing of it is removed.
        e = refused(lambda: delete(ecs, region, web), "DependencyViolation", 403)
        assert db in e.message
        assert describe(ecs, region, security_group_id=web).total_count == 1
        assert len(rules(ecs, region, web)) == 1

        # A missing peer group is refused and adds nothing.
        refused(lambda: ingress(ecs, region, db, ip_protocol="tcp", port_range="1/2", source_group_id="sg-nosuchgroup"),
                "InvalidSecurityGroupId.NotFound", 404)
        refused(lambda: egress(ecs, region, db, ip_protocol="tcp", port_range="1/2", dest_group_id="sg-nosuchgroup"),
                "InvalidSecurityGroupId.NotFound", 404)
        assert len(rules(ecs, region, db)) == 1

        # db is named by web's egress rule, so it cannot go either, until that rule is revoked.
        refused(lambda: delete(ecs, region, db), "DependencyViolation", 403)
        ecs.revoke_security_group_egress(m.RevokeSecurityGroupEgressRequest(
            region_id=region, security_group_id=web, security_group_rule_id=[out.security_group_rule_id]))
        # A group's rules naming itself or others do not hold it back; deleting db frees web.
        ingress(ecs, region, db, ip_protocol="all", port_range="-1/-1", source_group_id=db)
        delete(ecs, region, db)
        db = None
        delete(ecs, region, web)
        web = None
    finally:
        for gid in (db, web):
            if gid:
                try:
                    delete(ecs, region, gid)
                except TeaException:
                    pass


BAD_RULES = [
    ({"ip_protocol": "sctp", "port_range": "1/2", "source_cidr_ip": "0.0.0.0/0"}, "InvalidIpProtocol.Malformed"),
    ({"ip_protocol": "tcp", "port_range": "0/10", "source_cidr_ip": "0.0.0.0/0"}, "InvalidPortRange.Malformed"),
    ({"ip_protocol": "tcp", "port_range": "80/22", "source_cidr_ip": "0.0.0.0/0"}, "InvalidPortRange.Malformed"),
    ({"ip_protocol": "tcp", "port_range": "1/65536", "source_cidr_ip": "0.0.0.0/0"}, "InvalidPortRange.Malformed"),
    ({"ip_protocol": "tcp", "port_range": "-1/-1", "source_cidr_ip": "0.0.0.0/0"}, "InvalidPortRange.Malformed"),
    ({"ip_protocol": "icmp", "port_range": "22/22", "source_cidr_ip": "0.0.0.0/0"}, "InvalidPortRange.Malformed"),
    ({"ip_protocol": "tcp", "port_range": "22", "source_cidr_ip": "0.0.0.0/0"}, "InvalidPortRange.Malformed"),
    ({"ip_protocol": "tcp", "port_range": "22/22", "source_cidr_ip": "10.0.0.0/33"}, "InvalidSourceCidrIp.Malformed"),
    ({"ip_protocol": "tcp", "port_range": "22/22", "source_cidr_ip": "256.0.0.1"}, "InvalidSourceCidrIp.Malformed"),
    ({"ip_protocol": "tcp", "port_range": "22/22", "source_cidr_ip": "0.0.0.0/0", "policy": "reject"}, "InvalidPolicy.Malformed"),
    ({"ip_protocol": "tcp", "port_range": "22/22", "source_cidr_ip": "0.0.0.0/0", "priority": "0"}, "InvalidPriority.ValueNotSupported"),
    ({"ip_protocol": "tcp", "port_range": "22/22", "source_cidr_ip": "0.0.0.0/0", "priority": "101"}, "InvalidPriority.ValueNotSupported"),
    ({"ip_protocol": "tcp", "port_range": "22/22", "source_cidr_ip": "0.0.0.0/0", "priority": "high"}, "InvalidPriority.Malformed"),
    ({"ip_protocol": "tcp", "port_range": "22/22"}, "MissingParameter"),
    ({"ip_protocol": "tcp", "port_range": "22/22", "source_cidr_ip": "0.0.0.0/0", "nic_type": "wan"}, "InvalidNicType.ValueNotSupported"),
]


@pytest.mark.parametrize("kw,code", BAD_RULES)
def test_bad_ingress_rules_are_refused_and_add_nothing(ecs, region, group, kw, code):
    refused(lambda: ingress(ecs, region, group, **kw), code, 400)
    assert rules(ecs, region, group) == []


def test_bad_rules_in_permissions_form_add_nothing(ecs, region, group):
    # The first entry is fine, the second is not: neither is added.
    e = refused(lambda: ingress(ecs, region, group, permissions=[
        m.AuthorizeSecurityGroupRequestPermissions(ip_protocol="tcp", port_range="22/22", source_cidr_ip="0.0.0.0/0"),
        m.AuthorizeSecurityGroupRequestPermissions(ip_protocol="tcp", port_range="99999/1", source_cidr_ip="0.0.0.0/0"),
    ]), "InvalidPortRange.Malformed", 400)
    assert "Permissions.2.PortRange" in e.message
    assert rules(ecs, region, group) == []


def test_bad_egress_rules(ecs, region, group):
    refused(lambda: egress(ecs, region, group, ip_protocol="tcp", port_range="22/22", dest_cidr_ip="1.2.3"),
            "InvalidDestCidrIp.Malformed", 400)
    # SourceCidrIp is not the peer of an egress rule: a destination is still needed.
    refused(lambda: egress(ecs, region, group, ip_protocol="tcp", port_range="22/22", source_cidr_ip="0.0.0.0/0"),
            "MissingParameter", 400)
    refused(lambda: egress(ecs, region, "sg-nosuchgroup", ip_protocol="tcp", port_range="22/22", dest_cidr_ip="0.0.0.0/0"),
            "InvalidSecurityGroupId.NotFound", 404)
    assert rules(ecs, region, group) == []


def test_attribute_filters_and_errors(ecs, region, group):
    ingress(ecs, region, group, ip_protocol="tcp", port_range="22/22", source_cidr_ip="0.0.0.0/0")
    egress(ecs, region, group, ip_protocol="tcp", port_range="22/22", dest_cidr_ip="0.0.0.0/0")
    assert len(rules(ecs, region, group, direction="all")) == 2
    assert [p.direction for p in rules(ecs, region, group, direction="egress")] == ["egress"]
    refused(lambda: rules(ecs, region, group, direction="sideways"), "InvalidParameter", 400)
    refused(lambda: rules(ecs, region, "sg-nosuchgroup"), "InvalidSecurityGroupId.NotFound", 404)


def test_modify_attribute(ecs, region, group):
    new = uniq("renamed")
    ecs.modify_security_group_attribute(m.ModifySecurityGroupAttributeRequest(
        region_id=region, security_group_id=group, security_group_name=new, description="changed"))
    g = describe(ecs, region, security_group_id=group).security_groups.security_group[0]
    assert (g.security_group_name, g.description) == (new, "changed")
    refused(lambda: ecs.modify_security_group_attribute(m.ModifySecurityGroupAttributeRequest(
        region_id=region, security_group_id=group, security_group_name="9lives")),
        "InvalidSecurityGroupName.Malformed", 400)
    assert describe(ecs, region, security_group_id=group).security_groups.security_group[0].security_group_name == new
    refused(lambda: ecs.modify_security_group_attribute(m.ModifySecurityGroupAttributeRequest(
        region_id=region, security_group_id="sg-nosuchgroup", description="changed")),
        "InvalidSecurityGroupId.NotFound", 404)


def test_delete_removes_rules_and_tags(ecs, region):
    marker = uniq("del")
    gid = create(ecs, region, tag=[m.CreateSecurityGroupRequestTag(key="del", value=marker)])
    ingress(ecs, region, gid, ip_protocol="tcp", port_range="22/22", source_cidr_ip="0.0.0.0/0")
    delete(ecs, region, gid)
    assert describe(ecs, region, tag=[m.DescribeSecurityGroupsRequestTag(key="del", value=marker)]).total_count == 0
    refused(lambda: rules(ecs, region, gid), "InvalidSecurityGroupId.NotFound", 404)


def test_xml_format(raw, region):
    r = raw.send(raw.common("CreateSecurityGroup", RegionId=region, Format="XML"))
    assert r.status == 200 and "<SecurityGroupId>sg-" in r.body
    gid = r.body.split("<SecurityGroupId>")[1].split("<")[0]
    r = raw.send(raw.common("DeleteSecurityGroup", RegionId=region, SecurityGroupId=gid))
    assert r.status == 200, r.body


def test_describe_filters(ecs, legacy, region):
    vpc_id = new_vpc(legacy, region)
    name = uniq("flt")
    a = create(ecs, region, name=name, vpc_id=vpc_id)
    b = create(ecs, region, vpc_id=vpc_id, security_group_type="enterprise", resource_group_id="rg-filter")
    c = create(ecs, region, name=name)  # classic: no VpcId
    try:
        ids = lambda body: sorted(g.security_group_id for g in body.security_groups.security_group)
        assert ids(describe(ecs, region, vpc_id=vpc_id)) == sorted([a, b])
        assert ids(describe(ecs, region, vpc_id=vpc_id, security_group_type="enterprise")) == [b]
        assert ids(describe(ecs, region, security_group_name=name)) == sorted([a, c])
        assert ids(describe(ecs, region, security_group_name=name, network_type="classic")) == [c]
        assert ids(describe(ecs, region, security_group_name=name, network_type="vpc")) == [a]
        assert ids(describe(ecs, region, resource_group_id="rg-filter", vpc_id=vpc_id)) == [b]
        both = json.dumps([a, b])
        assert ids(describe(ecs, region, security_group_ids=both, security_group_id=b)) == [b]
        refused(lambda: describe(ecs, region, security_group_type="premium"), "InvalidParameter", 400)
        refused(lambda: describe(ecs, "no-such-region"), "InvalidRegionId.NotFound", 404)
    finally:
        for gid in (a, b, c):
            delete(ecs, region, gid)


def test_authorize_client_token(ecs, region, group):
    token = uuid.uuid4().hex
    kw = dict(ip_protocol="tcp", port_range="8080/8080", source_cidr_ip="0.0.0.0/0", client_token=token)
    ingress(ecs, region, group, **kw)
    ingress(ecs, region, group, **kw)
    assert len(rules(ecs, region, group)) == 1
    kw["port_range"] = "9090/9090"
    refused(lambda: ingress(ecs, region, group, **kw), "IdempotentParameterMismatch", 400)
    assert len(rules(ecs, region, group)) == 1


def test_rule_quota_and_attribute_paging(ecs, region, group):
    def batch(first):
        return [m.AuthorizeSecurityGroupRequestPermissions(ip_protocol="tcp", port_range=f"{p}/{p}",
                                                           source_cidr_ip="0.0.0.0/0")
                for p in range(first, first + 100)]
    ingress(ecs, region, group, permissions=batch(1000))
    egress(ecs, region, group, permissions=[
        m.AuthorizeSecurityGroupEgressRequestPermissions(ip_protocol="tcp", port_range=f"{p}/{p}", dest_cidr_ip="0.0.0.0/0")
        for p in range(1000, 1100)])
    assert len(rules(ecs, region, group)) == 200
    # The 201st rule is refused and nothing is added; re-authorizing an existing rule is still fine.
    refused(lambda: ingress(ecs, region, group, ip_protocol="udp", port_range="1/1", source_cidr_ip="0.0.0.0/0"),
            "AuthorizationLimitExceed", 403)
    ingress(ecs, region, group, ip_protocol="tcp", port_range="1000/1000", source_cidr_ip="0.0.0.0/0")
    assert len(rules(ecs, region, group)) == 200
    refused(lambda: ingress(ecs, region, group, permissions=batch(2000) + batch(3000)[:1]), "InvalidParameter", 400)

    # DescribeSecurityGroupAttribute pages with MaxResults/NextToken.
    seen, token = [], None
    while True:
        body = ecs.describe_security_group_attribute(m.DescribeSecurityGroupAttributeRequest(
            region_id=region, security_group_id=group, direction="ingress", max_results=30, next_token=token)).body
        page = body.permissions.permission
        assert len(page) <= 30
        seen += [p.port_range for p in page]
        token = body.next_token
        if not token:
            break
    assert seen == [f"{p}/{p}" for p in range(1000, 1100)]


def test_unfiltered_total_follows_creates_and_deletes(ecs, region):
    before = describe(ecs, region).total_count
    gid = create(ecs, region)
    assert describe(ecs, region).total_count == before + 1
    # A page past the end still reports the total.
    far = describe(ecs, region, page_number=100000, page_size=50)
    assert far.total_count == before + 1 and far.security_groups.security_group == []
    delete(ecs, region, gid)
    assert describe(ecs, region).total_count == before
