"""An instance's place on the network through the official ECS SDK (both signatures) and the
legacy core SDK: AllocatePublicIpAddress (from the server's public_ip_pool, 203.0.113.0/27 in
conftest, shown in DescribeInstances, DNATed by the host, released with the instance) and
JoinSecurityGroup / LeaveSecurityGroup (reflected in DescribeInstances, DescribeSecurityGroups'
EcsCount and the host's firewall at once). Every rejection asserts its code, HTTP status and that
nothing changed.

Instances here are made with CreateInstance, so they stay Stopped (no capacity held); only
test_instance_status_is_checked starts one (1 vCPU held for good: see test_instances' budget)."""

import json
import os
import threading

import pytest
from aliyunsdkcore.acs_exception.exceptions import ServerException
from alibabacloud_ecs20140526 import models as m

from conftest import Hearth
from test_instances import IMAGE_ID, install_image, refused, uniq

POOL_PREFIX = "203.0.113."
ROOT = os.geteuid() == 0


class Env:
    pass


def network(call, region, second):
    """A VPC 10.<second>.0.0/16 with a /24 VSwitch and a security group in it."""
    e = Env()
    e.region = region
    e.zone = call("DescribeZones", "2014-05-26", RegionId=region)["Zones"]["Zone"][0]["ZoneId"]
    e.vpc_id = call("CreateVpc", "2016-04-28", RegionId=region, CidrBlock=f"10.{second}.0.0/16")["VpcId"]
    e.vswitch_id = call("CreateVSwitch", "2016-04-28", RegionId=region, ZoneId=e.zone, VpcId=e.vpc_id,
                        CidrBlock=f"10.{second}.7.0/24")["VSwitchId"]
    e.sg_id = call("CreateSecurityGroup", "2014-05-26", RegionId=region, VpcId=e.vpc_id)["SecurityGroupId"]
    return e


@pytest.fixture(scope="module")
def env(hearth):
    install_image(hearth.data_dir)
    e = network(hearth.call_legacy, hearth.region, 77)
    e.hearth = hearth
    e.other_vpc = hearth.call_legacy("CreateVpc", "2016-04-28", RegionId=e.region, CidrBlock="172.29.0.0/16")["VpcId"]
    e.other_sg = hearth.call_legacy("CreateSecurityGroup", "2014-05-26", RegionId=e.region,
                                    VpcId=e.other_vpc)["SecurityGroupId"]
    return e


def create(call, e, sg=None):
    return call("CreateInstance", "2014-05-26", RegionId=e.region, ImageId=IMAGE_ID, InstanceType="ecs.t6.small",
                SecurityGroupId=sg or e.sg_id, VSwitchId=e.vswitch_id, InstanceName=uniq("vm"))["InstanceId"]


def delete(call, e, instance_id):
    call("DeleteInstance", "2014-05-26", RegionId=e.region, InstanceId=instance_id, Force="true")


def shown(ecs, e, instance_id):
    body = ecs.describe_instances(m.DescribeInstancesRequest(
        region_id=e.region, instance_ids=json.dumps([instance_id]))).body
    assert body.total_count == 1
    return body.instances.instance[0]


def public_of(ecs, e, instance_id):
    return shown(ecs, e, instance_id).public_ip_address.ip_address


def groups_of(ecs, e, instance_id):
    return shown(ecs, e, instance_id).security_group_ids.security_group_id


def allocate(ecs, instance_id, ip=None):
    return ecs.allocate_public_ip_address(m.AllocatePublicIpAddressRequest(
        instance_id=instance_id, ip_address=ip)).body.ip_address


def ruleset(hearth):
    from test_host_network import inside
    out = inside(hearth, "nft", "list", "table", "inet", "hearth")
    assert out.returncode == 0, out.stderr
    return out.stdout


def legacy_refused(call, code, status):
    with pytest.raises(ServerException) as e:
        call()
    assert e.value.get_error_code() == code, e.value.get_error_msg()
    assert e.value.get_http_status() == status, (code, e.value.get_error_msg())


def test_allocate_describe_dnat_and_release_with_the_instance(ecs, cvm, env, hearth):
    from tencentcloud.cvm.v20170312 import models as cvm_models

    def through_cvm(**filters):
        req = cvm_models.DescribeInstancesRequest()
        req.from_json_string(json.dumps({"Filters": [{"Name": k.replace("_", "-"), "Values": [v]}
                                                     for k, v in filters.items()]}))
        return cvm.DescribeInstances(req).InstanceSet

    a = create(hearth.call_legacy, env)
    b = create(hearth.call_legacy, env)
    try:
        assert public_of(ecs, env, a) == []
        ip = allocate(ecs, a, None)
        assert ip.startswith(POOL_PREFIX) and ip not in (POOL_PREFIX + "0", POOL_PREFIX + "31")
        assert public_of(ecs, env, a) == [ip]
        attr = ecs.describe_instance_attribute(m.DescribeInstanceAttributeRequest(instance_id=a)).body
        assert attr.public_ip_address.ip_address == [ip]
        found = ecs.describe_instances(m.DescribeInstancesRequest(
            region_id=env.region, public_ip_addresses=json.dumps([ip]))).body
        assert [i.instance_id for i in found.instances.instance] == [a]
        # The same address through the CVM dialect.
        seen = through_cvm(instance_id=a)[0]
        assert (seen.PublicIpAddresses, seen.InternetAccessible.PublicIpAssigned) == ([ip], True)
        assert [i.InstanceId for i in through_cvm(public_ip_address=ip)] == [a]
        assert through_cvm(instance_id=b)[0].PublicIpAddresses == []
        private = shown(ecs, env, a).vpc_attributes.private_ip_address.ip_address[0]
        if ROOT:
            assert f"{ip} : {private}" in ruleset(hearth), "DNATed to the instance"

        refused(lambda: allocate(ecs, a), "AllocatedAlready", 403)
        refused(lambda: allocate(ecs, a, ip), "AllocatedAlready", 403)
        assert public_of(ecs, env, a) == [ip]

        # Taken by a: b cannot have it, and b is left without an address.
        refused(lambda: allocate(ecs, b, ip), "IpInUse", 403)
        assert public_of(ecs, env, b) == []

        # Deleting a gives the address back: b can now have exactly it.
        delete(hearth.call_legacy, env, a)
        a = None
        if ROOT:
            assert f"{ip} :" not in ruleset(hearth), "the DNAT goes with the instance"
        assert allocate(ecs, b, ip) == ip
        assert public_of(ecs, env, b) == [ip]
    finally:
        for i in (a, b):
            if i:
                delete(hearth.call_legacy, env, i)


@pytest.mark.parametrize("address,code,status", [
    ("198.51.100.7", "InvalidIpAddress.NotFound", 404),   # outside the pool
    ("203.0.113.0", "InvalidIpAddress.NotFound", 404),    # the pool's network address
    ("203.0.113.31", "InvalidIpAddress.NotFound", 404),   # the pool's broadcast address
    ("203.0.113", "InvalidIpAddress.Malformed", 400),
    ("203.0.113.05", "InvalidIpAddress.Malformed", 400),
    ("not-an-ip", "InvalidIpAddress.Malformed", 400),
])
def test_allocate_rejects_addresses_outside_the_pool(ecs, env, hearth, address, code, status):
    i = create(hearth.call_legacy, env)
    try:
        refused(lambda: allocate(ecs, i, address), code, status)
        assert public_of(ecs, env, i) == []
    finally:
        delete(hearth.call_legacy, env, i)


def test_allocate_unknown_instance(ecs):
    refused(lambda: allocate(ecs, "i-doesnotexist0000"), "InvalidInstanceId.NotFound", 404)


def test_instance_status_is_checked(legacy, env, hearth):
    """Once per server (legacy SDK): an instance that is Starting (it stays so: no supervisor here)."""
    i = create(legacy, env)
    second = legacy("CreateSecurityGroup", RegionId=env.region, VpcId=env.vpc_id)["SecurityGroupId"]
    legacy("StartInstance", InstanceId=i)
    attr = legacy("DescribeInstanceAttribute", InstanceId=i)
    assert attr["Status"] == "Starting"
    legacy_refused(lambda: legacy("AllocatePublicIpAddress", InstanceId=i), "IncorrectInstanceStatus", 403)
    legacy_refused(lambda: legacy("JoinSecurityGroup", InstanceId=i, SecurityGroupId=second),
                   "IncorrectInstanceStatus", 403)
    legacy_refused(lambda: legacy("LeaveSecurityGroup", InstanceId=i, SecurityGroupId=env.sg_id),
                   "IncorrectInstanceStatus", 403)
    attr = legacy("DescribeInstanceAttribute", InstanceId=i)
    assert attr["PublicIpAddress"]["IpAddress"] == []
    assert attr["SecurityGroupIds"]["SecurityGroupId"] == [env.sg_id]
    # The legacy SDK's happy path on a Stopped instance, with the XML-free JSON answer.
    other = create(legacy, env)
    try:
        ip = legacy("AllocatePublicIpAddress", InstanceId=other, VlanId="100")["IpAddress"]
        assert ip.startswith(POOL_PREFIX)
        legacy("JoinSecurityGroup", InstanceId=other, SecurityGroupId=second)
        legacy("LeaveSecurityGroup", InstanceId=other, SecurityGroupId=second)
    finally:
        delete(legacy, env, other)


def exhaustion_server(config):
    h = Hearth(config=config)
    install_image(h.data_dir)
    return h, network(h.call_legacy, h.region, 5)


def test_no_pool_and_exhausted_pool():
    """InsufficientPublicIp (400, ECS' "Ip address not found") without a pool and once every
    usable address of the pool is taken: a /30 gives 2 (network and broadcast are kept)."""
    h, e = exhaustion_server('[network]\npublic_ip_pool = "198.51.100.8/30"\n')
    try:
        ids = [create(h.call_legacy, e) for _ in range(3)]
        got = [h.call_legacy("AllocatePublicIpAddress", "2014-05-26", InstanceId=i)["IpAddress"] for i in ids[:2]]
        assert got == ["198.51.100.9", "198.51.100.10"]
        legacy_refused(lambda: h.call_legacy("AllocatePublicIpAddress", "2014-05-26", InstanceId=ids[2]),
                       "InsufficientPublicIp", 400)
        third = h.call_legacy("DescribeInstanceAttribute", "2014-05-26", InstanceId=ids[2])
        assert third["PublicIpAddress"]["IpAddress"] == []
        delete(h.call_legacy, e, ids[0])
        assert h.call_legacy("AllocatePublicIpAddress", "2014-05-26", InstanceId=ids[2])["IpAddress"] == "198.51.100.9"
    finally:
        h.stop()
    h, e = exhaustion_server(None)
    try:
        i = create(h.call_legacy, e)
        legacy_refused(lambda: h.call_legacy("AllocatePublicIpAddress", "2014-05-26", InstanceId=i),
                       "InsufficientPublicIp", 400)
    finally:
        h.stop()


def nic_chain(hearth, private_ip):
    """The body of the chain the firewall sends traffic to this NIC through (its groups' profile)."""
    text = ruleset(hearth)
    line = next(l for l in text.splitlines() if f". {private_ip} : jump " in l or f". {private_ip} : goto " in l)
    chain = line.split(f". {private_ip} : ")[1].split()[1].rstrip(",")
    body = text.split(f"chain {chain} {{")[1].split("}")[0]
    return body


def ecs_count(ecs, e, sg):
    body = ecs.describe_security_groups(m.DescribeSecurityGroupsRequest(
        region_id=e.region, security_group_ids=json.dumps([sg]))).body
    return body.security_groups.security_group[0].ecs_count


def test_join_and_leave(ecs, env, hearth):
    i = create(hearth.call_legacy, env)
    second = ecs.create_security_group(m.CreateSecurityGroupRequest(region_id=env.region, vpc_id=env.vpc_id)).body.security_group_id
    port = 40000 + int.from_bytes(os.urandom(2), "big") % 20000
    ecs.authorize_security_group(m.AuthorizeSecurityGroupRequest(
        region_id=env.region, security_group_id=second, ip_protocol="tcp", port_range=f"{port}/{port}",
        source_cidr_ip="192.0.2.0/24"))
    private = shown(ecs, env, i).vpc_attributes.private_ip_address.ip_address[0]
    try:
        ecs.join_security_group(m.JoinSecurityGroupRequest(instance_id=i, security_group_id=second))
        assert groups_of(ecs, env, i) == [env.sg_id, second], "appended after the first group"
        assert ecs_count(ecs, env, second) == 1
        members = ecs.describe_instances(m.DescribeInstancesRequest(region_id=env.region, security_group_id=second)).body
        assert [x.instance_id for x in members.instances.instance] == [i]
        if ROOT:
            assert f"dport {port}" in nic_chain(hearth, private), "the new group's rule applies at once"

        refused(lambda: ecs.join_security_group(m.JoinSecurityGroupRequest(instance_id=i, security_group_id=second)),
                "InvalidInstanceId.AlreadyExists", 403)

        ecs.leave_security_group(m.LeaveSecurityGroupRequest(instance_id=i, security_group_id=env.sg_id))
        assert groups_of(ecs, env, i) == [second]
        refused(lambda: ecs.leave_security_group(m.LeaveSecurityGroupRequest(instance_id=i, security_group_id=env.sg_id)),
                "InvalidSecurityGroupAssociation.NotFound", 400)
        refused(lambda: ecs.leave_security_group(m.LeaveSecurityGroupRequest(instance_id=i, security_group_id=second)),
                "InstanceLastSecurityGroup", 403)
        assert groups_of(ecs, env, i) == [second]

        ecs.join_security_group(m.JoinSecurityGroupRequest(instance_id=i, security_group_id=env.sg_id, region_id=env.region))
        ecs.leave_security_group(m.LeaveSecurityGroupRequest(instance_id=i, security_group_id=second, region_id=env.region))
        assert groups_of(ecs, env, i) == [env.sg_id]
        assert ecs_count(ecs, env, second) == 0
        if ROOT:
            assert f"dport {port}" not in nic_chain(hearth, private), "the rule stops applying at once"

        # ModifyInstanceAttribute's SecurityGroupIds reaches the firewall at once too.
        ecs.modify_instance_attribute(m.ModifyInstanceAttributeRequest(instance_id=i, security_group_ids=[second]))
        assert groups_of(ecs, env, i) == [second]
        if ROOT:
            assert f"dport {port}" in nic_chain(hearth, private)
        ecs.modify_instance_attribute(m.ModifyInstanceAttributeRequest(instance_id=i, security_group_ids=[env.sg_id]))
        if ROOT:
            assert f"dport {port}" not in nic_chain(hearth, private)
    finally:
        delete(hearth.call_legacy, env, i)
        ecs.delete_security_group(m.DeleteSecurityGroupRequest(region_id=env.region, security_group_id=second))


def test_join_and_leave_rejections(ecs, env, hearth):
    i = create(hearth.call_legacy, env)
    extra = [ecs.create_security_group(m.CreateSecurityGroupRequest(region_id=env.region, vpc_id=env.vpc_id)).body.security_group_id
             for _ in range(5)]
    join = lambda **kw: ecs.join_security_group(m.JoinSecurityGroupRequest(**kw))
    leave = lambda **kw: ecs.leave_security_group(m.LeaveSecurityGroupRequest(**kw))
    try:
        for act in (join, leave):
            refused(lambda: act(instance_id="i-doesnotexist0000", security_group_id=extra[0]), "InvalidInstanceId.NotFound", 404)
            refused(lambda: act(instance_id=i, security_group_id="sg-doesnotexist000"), "InvalidSecurityGroupId.NotFound", 404)
            refused(lambda: act(network_interface_id="eni-doesnotexist0", security_group_id=extra[0]), "InvalidEniId.NotFound", 404)
            refused(lambda: act(instance_id=i, network_interface_id="eni-x", security_group_id=extra[0]),
                    "InvalidParam.EniIdAndInstanceId.Conflict", 403)
            refused(lambda: act(security_group_id=extra[0]), "MissingParameter", 400)
            refused(lambda: act(instance_id=i), "MissingParameter", 400)
        refused(lambda: join(instance_id=i, security_group_id=env.other_sg), "InvalidInstanceId.Mismatch", 400)
        refused(lambda: join(instance_id=i, security_group_id=env.sg_id), "InvalidInstanceId.AlreadyExists", 403)
        refused(lambda: leave(instance_id=i, security_group_id=extra[0]), "InvalidSecurityGroupAssociation.NotFound", 400)
        assert groups_of(ecs, env, i) == [env.sg_id]
        for sg in extra[:4]:
            join(instance_id=i, security_group_id=sg)
        refused(lambda: join(instance_id=i, security_group_id=extra[4]), "InstanceSecurityGroupLimitExceeded", 400)
        assert groups_of(ecs, env, i) == [env.sg_id] + extra[:4]
        assert ecs_count(ecs, env, extra[4]) == 0
    finally:
        delete(hearth.call_legacy, env, i)
        for sg in extra:
            ecs.delete_security_group(m.DeleteSecurityGroupRequest(region_id=env.region, security_group_id=sg))


def test_concurrent_allocations_get_distinct_addresses(env, hearth):
    """Eight instances ask at once: eight different addresses, each shown on its own instance."""
    ids = [create(hearth.call_legacy, env) for _ in range(8)]
    got, errors = {}, []

    def ask(i):
        try:
            got[i] = hearth.call_legacy("AllocatePublicIpAddress", "2014-05-26", InstanceId=i)["IpAddress"]
        except Exception as e:  # noqa: BLE001 - reported below
            errors.append(e)

    threads = [threading.Thread(target=ask, args=(i,)) for i in ids]
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert not errors, errors
        assert len(set(got.values())) == len(ids)
        for i in ids:
            attr = hearth.call_legacy("DescribeInstanceAttribute", "2014-05-26", InstanceId=i)
            assert attr["PublicIpAddress"]["IpAddress"] == [got[i]]
    finally:
        for i in ids:
            delete(hearth.call_legacy, env, i)
