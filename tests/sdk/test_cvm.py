"""The Tencent Cloud CVM dialect through the official clients (tencentcloud-sdk-python-cvm and
-vpc, TC3-HMAC-SHA256) and hand-signed TC3 requests: every action, the wire contract (HTTP 200,
Content-Type exactly application/json, the Response/Error envelope), the signature failures,
RunInstances' rejections with seed 004's codes (and nothing created), and one set of resources
seen from both dialects (instances, VPCs, subnets = VSwitches).

No supervisor runs here (instances off). Where a test needs an instance to move on (Running,
Stopped), `settle` does what the supervisor would: it writes the status and clears the intent in
the database (SQLite or PostgreSQL, whichever the server uses). Every test releases the capacity
it takes (settle Stopped, then TerminateInstances removes the instance at once), so the
instances tests that follow keep their budget."""

import base64
import hashlib
import hmac
import ipaddress
import json
import random
import sqlite3
import subprocess
import time
import urllib.request
import uuid
from datetime import datetime, timezone

import pytest
from alibabacloud_ecs20140526 import models as ecs_models
from tencentcloud.common import credential
from tencentcloud.common.exception.tencent_cloud_sdk_exception import TencentCloudSDKException
from tencentcloud.cvm.v20170312 import cvm_client
from tencentcloud.cvm.v20170312 import errorcodes as cvm_codes
from tencentcloud.cvm.v20170312 import models as m
from tencentcloud.vpc.v20170312 import errorcodes as vpc_codes
from tencentcloud.vpc.v20170312 import models as vm

from conftest import tencent_profile
from test_instances import IMAGE_ID, install_image

TYPE = "T6.SMALL1"  # ecs.t6.small: 1 vCPU, 1 GiB
PASSWORD = "Hearth-cvm-2026"


# Tencent Cloud API 3.0's common error codes (not in the per-service errorcodes modules).
COMMON_CODES = {
    "AuthFailure.InvalidAuthorization", "AuthFailure.SecretIdNotFound", "AuthFailure.SignatureExpire",
    "AuthFailure.SignatureFailure", "InternalError", "InvalidAction", "InvalidParameter", "InvalidParameterValue",
    "MissingParameter", "NoSuchVersion", "RequestSizeLimitExceeded", "ResourceNotFound", "UnknownParameter",
    "UnsupportedOperation", "UnsupportedProtocol", "UnsupportedRegion",
}
# Every code the tests expect must be one a Tencent client can know.
REAL_CODES = COMMON_CODES | {v for mod in (cvm_codes, vpc_codes) for v in vars(mod).values() if isinstance(v, str)}


def uniq(prefix="t"):
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def request(model, **params):
    req = model()
    req.from_json_string(json.dumps(params))
    return req


def refused(call, code):
    assert code in REAL_CODES, code
    with pytest.raises(TencentCloudSDKException) as e:
        call()
    assert e.value.get_code() == code, e.value.get_message()
    assert e.value.get_request_id()
    return e.value


def sql(hearth, statement, args):
    """Runs one statement on the server's database (the supervisor's side of the contract)."""
    if hearth.database_url:
        text = statement
        for a in args:
            text = text.replace("?", "'" + str(a).replace("'", "''") + "'", 1)
        subprocess.run(["psql", "-q", "-v", "ON_ERROR_STOP=1", hearth.database_url, "-c", text], check=True,
                       stdout=subprocess.DEVNULL)
    else:
        with sqlite3.connect(hearth.data_dir / "hearth.db") as c:
            c.execute(statement, args)


def settle(hearth, ids, status):
    """What the supervisor does once an instance reached `status`: record it, clear the intent."""
    for i in ids:
        sql(hearth, "UPDATE instances SET status = ?, intent = NULL WHERE id = ?", (status, i))


class Env:
    pass


@pytest.fixture(scope="module")
def env(hearth):
    """An image, a VPC and subnet made through Tencent VPC, a security group made through ECS."""
    install_image(hearth.data_dir)
    e = Env()
    e.hearth = hearth
    e.region = hearth.region
    call = hearth.call_legacy
    e.zone = call("DescribeZones", "2014-05-26", RegionId=e.region)["Zones"]["Zone"][0]["ZoneId"]
    cred = credential.Credential(hearth.key_id, hearth.key_secret)
    from tencentcloud.vpc.v20170312 import vpc_client
    tc = vpc_client.VpcClient(cred, hearth.region, tencent_profile(hearth))
    second = random.randint(0, 255)
    e.vpc_id = tc.CreateVpc(request(vm.CreateVpcRequest, VpcName=uniq("cvmvpc"),
                                    CidrBlock=f"172.{16 + second % 16}.0.0/16")).Vpc.VpcId
    e.cidr = f"172.{16 + second % 16}.{random.randint(0, 250)}.0/24"
    e.subnet_id = tc.CreateSubnet(request(vm.CreateSubnetRequest, VpcId=e.vpc_id, SubnetName=uniq("sub"),
                                          CidrBlock=e.cidr, Zone=e.zone)).Subnet.SubnetId
    e.sg_id = call("CreateSecurityGroup", "2014-05-26", RegionId=e.region, VpcId=e.vpc_id)["SecurityGroupId"]
    e.key_name = uniq("key")
    call("ImportKeyPair", "2014-05-26", RegionId=e.region, KeyPairName=e.key_name,
         PublicKeyBody="ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl cvm@hearth")
    e.other_vpc = call("CreateVpc", "2016-04-28", RegionId=e.region, CidrBlock="192.168.0.0/16")["VpcId"]
    e.other_sg = call("CreateSecurityGroup", "2014-05-26", RegionId=e.region, VpcId=e.other_vpc)["SecurityGroupId"]
    e.made = []
    yield e
    # Release whatever a failed test left: the capacity is shared with the tests that follow.
    leftover = [i for i in e.made if describe_ids(tc_cvm(hearth), [i])]
    if leftover:
        settle(hearth, leftover, "Stopped")
        sql(hearth, "UPDATE instances SET deletion_protection = 0 WHERE id IN ({})".format(
            ", ".join("?" for _ in leftover)), leftover)
        tc_cvm(hearth).TerminateInstances(request(m.TerminateInstancesRequest, InstanceIds=leftover))


def tc_cvm(hearth):
    cred = credential.Credential(hearth.key_id, hearth.key_secret)
    return cvm_client.CvmClient(cred, hearth.region, tencent_profile(hearth))


def describe_ids(cvm, ids):
    return cvm.DescribeInstances(request(m.DescribeInstancesRequest, InstanceIds=ids)).InstanceSet


def run_params(env, **kw):
    params = {
        "Placement": {"Zone": env.zone},
        "ImageId": IMAGE_ID,
        "InstanceType": TYPE,
        "VirtualPrivateCloud": {"VpcId": env.vpc_id, "SubnetId": env.subnet_id},
        "SecurityGroupIds": [env.sg_id],
        "InstanceName": uniq("vm"),
    }
    params.update(kw)
    return params


def run(cvm, env, **kw):
    ids = cvm.RunInstances(request(m.RunInstancesRequest, **run_params(env, **kw))).InstanceIdSet
    env.made.extend(ids or [])
    return ids


def gone(cvm, env, ids):
    """Stops (as the supervisor would) and terminates: the instances are removed at once."""
    settle(env.hearth, ids, "Stopped")
    cvm.TerminateInstances(request(m.TerminateInstancesRequest, InstanceIds=ids))
    assert describe_ids(cvm, ids) == []


# ---- The wire: TC3 by hand -----------------------------------------------------------------


def tc3(hearth, action, body, service="cvm", secret_id=None, secret=None, timestamp=None,
        region=None, version="2017-03-12", sign=True):
    """A hand-signed TC3-HMAC-SHA256 request (written from docs/wire-protocols.md)."""
    payload = json.dumps(body).encode()
    ts = int(time.time()) if timestamp is None else timestamp
    date = datetime.fromtimestamp(ts, timezone.utc).strftime("%Y-%m-%d")
    headers = {
        "Content-Type": "application/json",
        "Host": hearth.endpoint,
        "X-TC-Action": action,
        "X-TC-Version": version,
        "X-TC-Timestamp": str(ts),
        "X-TC-Region": region or hearth.region,
    }
    canonical = "POST\n/\n\ncontent-type:application/json\nhost:%s\n\ncontent-type;host\n%s" % (
        hearth.endpoint, hashlib.sha256(payload).hexdigest())
    scope = f"{date}/{service}/tc3_request"
    to_sign = f"TC3-HMAC-SHA256\n{ts}\n{scope}\n{hashlib.sha256(canonical.encode()).hexdigest()}"

    def h(key, msg):
        return hmac.new(key, msg.encode(), hashlib.sha256).digest()

    key = h(h(h(("TC3" + (secret or hearth.key_secret)).encode(), date), service), "tc3_request")
    signature = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
    if sign:
        headers["Authorization"] = (f"TC3-HMAC-SHA256 Credential={secret_id or hearth.key_id}/{scope}, "
                                    f"SignedHeaders=content-type;host, Signature={signature}")
    req = urllib.request.Request(f"http://{hearth.endpoint}/", data=payload, headers=headers, method="POST")
    with urllib.request.urlopen(req, timeout=30) as resp:
        return resp.status, resp.headers.get("Content-Type"), json.loads(resp.read())


def tc3_error(hearth, action, body, **kw):
    status, content_type, doc = tc3(hearth, action, body, **kw)
    assert (status, content_type) == (200, "application/json")
    assert set(doc) == {"Response"} and doc["Response"]["RequestId"]
    code = doc["Response"]["Error"]["Code"]
    assert code in REAL_CODES, code
    return code


def test_wire_contract_and_signature_failures(hearth):
    status, content_type, doc = tc3(hearth, "DescribeZones", {})
    assert (status, content_type) == (200, "application/json")
    assert "Error" not in doc["Response"] and doc["Response"]["TotalCount"] >= 1
    request_id = doc["Response"]["RequestId"]
    assert len(request_id) == 36 and request_id == request_id.lower()
    assert tc3_error(hearth, "DescribeZones", {}, secret="not-the-secret") == "AuthFailure.SignatureFailure"
    assert tc3_error(hearth, "DescribeZones", {}, timestamp=int(time.time()) - 3600) == "AuthFailure.SignatureExpire"
    assert tc3_error(hearth, "DescribeZones", {}, timestamp=int(time.time()) + 600) == "AuthFailure.SignatureExpire"
    assert tc3_error(hearth, "DescribeZones", {}, secret_id="AKIDunknown0000000000") == "AuthFailure.SecretIdNotFound"
    assert tc3_error(hearth, "DescribeZones", {}, sign=False) == "AuthFailure.SignatureFailure"
    assert tc3_error(hearth, "DescribeNothing", {}) == "InvalidAction"
    assert tc3_error(hearth, "DescribeZones", {}, version="2020-01-01") == "NoSuchVersion"
    assert tc3_error(hearth, "DescribeZones", {}, region="ap-guangzhou") == "UnsupportedRegion"
    assert tc3_error(hearth, "DescribeZones", {"Bogus": 1}) == "UnknownParameter"
    assert tc3_error(hearth, "DescribeVpcs", {}, service="cbs") == "InvalidAction"
    # The VPC service is chosen by the credential scope.
    status, content_type, doc = tc3(hearth, "DescribeVpcs", {"Limit": "1"}, service="vpc")
    assert (status, content_type) == (200, "application/json") and "VpcSet" in doc["Response"]
    # The same failures through the official client.
    cred = credential.Credential(hearth.key_id, "not-the-secret")
    bad = cvm_client.CvmClient(cred, hearth.region, tencent_profile(hearth))
    refused(lambda: bad.DescribeZones(m.DescribeZonesRequest()), "AuthFailure.SignatureFailure")
    cred = credential.Credential("AKIDunknown0000000000", hearth.key_secret)
    bad = cvm_client.CvmClient(cred, hearth.region, tencent_profile(hearth))
    refused(lambda: bad.DescribeZones(m.DescribeZonesRequest()), "AuthFailure.SecretIdNotFound")
    # GET (parameters in the query, lists counted from 0) through the official client.
    from tencentcloud.common.profile.client_profile import ClientProfile
    from tencentcloud.common.profile.http_profile import HttpProfile
    get_profile = ClientProfile(httpProfile=HttpProfile(protocol="http", endpoint=hearth.endpoint, reqMethod="GET"))
    getter = cvm_client.CvmClient(credential.Credential(hearth.key_id, hearth.key_secret), hearth.region, get_profile)
    zone = getter.DescribeZones(m.DescribeZonesRequest()).ZoneSet[0].Zone
    configs = getter.DescribeInstanceTypeConfigs(request(m.DescribeInstanceTypeConfigsRequest, Filters=[
        {"Name": "instance-type", "Values": ["S7.MEDIUM8"]}, {"Name": "zone", "Values": [zone]}])).InstanceTypeConfigSet
    assert [(c.InstanceType, c.CPU, c.Memory) for c in configs] == [("S7.MEDIUM8", 2, 8)]
    # The ECS dialect on the same port is untouched.
    assert hearth.call_legacy("DescribeRegions", "2014-05-26")["Regions"]["Region"][0]["RegionId"] == hearth.region


# ---- Catalog -------------------------------------------------------------------------------


def test_zones_types_images(cvm, ecs, env):
    zones = cvm.DescribeZones(m.DescribeZonesRequest())
    assert zones.TotalCount == len(zones.ZoneSet) >= 1
    assert zones.ZoneSet[0].Zone == env.zone and zones.ZoneSet[0].ZoneState == "AVAILABLE"
    assert zones.ZoneSet[0].ZoneId == "100001"
    configs = cvm.DescribeInstanceTypeConfigs(m.DescribeInstanceTypeConfigsRequest()).InstanceTypeConfigSet
    by_name = {c.InstanceType: c for c in configs}
    assert (by_name["S7.MEDIUM8"].CPU, by_name["S7.MEDIUM8"].Memory, by_name["S7.MEDIUM8"].InstanceFamily) == (2, 8, "S7")
    assert (by_name["C7.MEDIUM4"].CPU, by_name["C7.MEDIUM4"].Memory) == (2, 4)
    assert (by_name[TYPE].CPU, by_name[TYPE].Memory) == (1, 1)
    # The same catalog as ECS: one CVM name per ECS type, with the same shape.
    ecs_types = ecs.describe_instance_types(ecs_models.DescribeInstanceTypesRequest()).body.instance_types.instance_type
    assert len(ecs_types) == len({c.InstanceType for c in configs})
    large = next(t for t in ecs_types if t.instance_type_id == "ecs.g7.large")
    assert (large.cpu_core_count, large.memory_size) == (2, 8.0)
    one = cvm.DescribeInstanceTypeConfigs(request(m.DescribeInstanceTypeConfigsRequest, Filters=[
        {"Name": "instance-type", "Values": ["S7.MEDIUM8"]}, {"Name": "zone", "Values": [env.zone]}])).InstanceTypeConfigSet
    assert [(c.InstanceType, c.Zone) for c in one] == [("S7.MEDIUM8", env.zone)]
    fam = cvm.DescribeInstanceTypeConfigs(request(m.DescribeInstanceTypeConfigsRequest, Filters=[
        {"Name": "instance-family", "Values": ["C7"]}])).InstanceTypeConfigSet
    assert fam and {c.InstanceFamily for c in fam} == {"C7"}
    refused(lambda: cvm.DescribeInstanceTypeConfigs(request(m.DescribeInstanceTypeConfigsRequest, Filters=[
        {"Name": "gpu", "Values": ["1"]}])), "InvalidFilter")

    images = cvm.DescribeImages(m.DescribeImagesRequest())
    mine = [i for i in images.ImageSet if i.ImageId == IMAGE_ID]
    assert len(mine) == 1 and images.TotalCount >= 1
    assert (mine[0].ImageState, mine[0].ImageType, mine[0].OsName, mine[0].ImageSize) == (
        "NORMAL", "PUBLIC_IMAGE", "Test Linux 1", 1)
    by_id = cvm.DescribeImages(request(m.DescribeImagesRequest, ImageIds=[IMAGE_ID]))
    assert [i.ImageId for i in by_id.ImageSet] == [IMAGE_ID]
    none = cvm.DescribeImages(request(m.DescribeImagesRequest, Filters=[{"Name": "image-type", "Values": ["PRIVATE_IMAGE"]}]))
    assert none.TotalCount == 0 and none.ImageSet == []
    refused(lambda: cvm.DescribeImages(request(m.DescribeImagesRequest, ImageIds=[IMAGE_ID],
                                               Filters=[{"Name": "image-id", "Values": [IMAGE_ID]}])),
            "InvalidParameterCombination")
    refused(lambda: cvm.DescribeImages(request(m.DescribeImagesRequest, Limit=101)), "InvalidParameterValue.Range")


# ---- VPC service ----------------------------------------------------------------------------


def test_vpcs_and_subnets_shared_with_ecs(tcvpc, vpc, legacy, env):
    from alibabacloud_vpc20160428 import models as alivpc
    name, tag = uniq("tcv"), uniq("tag")
    second = random.randint(0, 255)
    created = tcvpc.CreateVpc(request(vm.CreateVpcRequest, VpcName=name, CidrBlock=f"10.{second}.0.0/16",
                                      Tags=[{"Key": "suite", "Value": tag}])).Vpc
    assert (created.VpcName, created.CidrBlock, created.IsDefault) == (name, f"10.{second}.0.0/16", False)
    assert created.VpcId.startswith("vpc-") and len(created.CreatedTime) == 19
    assert [(t.Key, t.Value) for t in created.TagSet] == [("suite", tag)]
    listed = tcvpc.DescribeVpcs(request(vm.DescribeVpcsRequest, VpcIds=[created.VpcId]))
    assert listed.TotalCount == 1 and listed.VpcSet[0].VpcId == created.VpcId
    by_name = tcvpc.DescribeVpcs(request(vm.DescribeVpcsRequest, Filters=[{"Name": "vpc-name", "Values": [name]}]))
    assert [v.VpcId for v in by_name.VpcSet] == [created.VpcId]
    by_tag = tcvpc.DescribeVpcs(request(vm.DescribeVpcsRequest, Filters=[{"Name": "tag:suite", "Values": [tag]}]))
    assert [v.VpcId for v in by_tag.VpcSet] == [created.VpcId]
    paged = tcvpc.DescribeVpcs(request(vm.DescribeVpcsRequest, Offset="1", Limit="1"))
    assert paged.TotalCount >= 3 and len(paged.VpcSet) == 1
    # The ECS dialect sees the same VPC.
    seen = vpc.describe_vpcs(alivpc.DescribeVpcsRequest(region_id=env.region, vpc_id=created.VpcId)).body
    assert seen.total_count == 1 and seen.vpcs.vpc[0].vpc_name == name

    subnet = tcvpc.CreateSubnet(request(vm.CreateSubnetRequest, VpcId=created.VpcId, SubnetName=name,
                                        CidrBlock=f"10.{second}.1.0/24", Zone=env.zone)).Subnet
    assert (subnet.VpcId, subnet.Zone, subnet.CidrBlock) == (created.VpcId, env.zone, f"10.{second}.1.0/24")
    assert subnet.SubnetId.startswith("vsw-")
    assert (subnet.TotalIpAddressCount, subnet.AvailableIpAddressCount) == (256, 251)
    # A VSwitch made through ECS is a subnet to CVM.
    vsw = legacy("CreateVSwitch", "2016-04-28", RegionId=env.region, ZoneId=env.zone, VpcId=created.VpcId,
                 CidrBlock=f"10.{second}.2.0/24", VSwitchName="from-ecs")["VSwitchId"]
    subnets = tcvpc.DescribeSubnets(request(vm.DescribeSubnetsRequest, Filters=[{"Name": "vpc-id", "Values": [created.VpcId]}]))
    assert subnets.TotalCount == 2
    assert {s.SubnetId for s in subnets.SubnetSet} == {subnet.SubnetId, vsw}
    both = tcvpc.DescribeSubnets(request(vm.DescribeSubnetsRequest, SubnetIds=[vsw, subnet.SubnetId]))
    assert both.TotalCount == 2
    one = tcvpc.DescribeSubnets(request(vm.DescribeSubnetsRequest, Filters=[{"Name": "subnet-name", "Values": ["from-ecs"]},
                                                                            {"Name": "vpc-id", "Values": [created.VpcId]}]))
    assert [s.SubnetId for s in one.SubnetSet] == [vsw]
    seen = vpc.describe_vswitches(alivpc.DescribeVSwitchesRequest(region_id=env.region, v_switch_id=subnet.SubnetId)).body
    assert seen.v_switches.v_switch[0].v_switch_name == name

    # Rejections create nothing.
    def vpc_count():
        return tcvpc.DescribeVpcs(vm.DescribeVpcsRequest()).TotalCount

    before = vpc_count()
    refused(lambda: tcvpc.CreateVpc(request(vm.CreateVpcRequest, VpcName=uniq("bad"), CidrBlock="10.0.0.1/16")),
            "InvalidParameterValue.Malformed")
    refused(lambda: tcvpc.CreateVpc(request(vm.CreateVpcRequest, VpcName=uniq("bad"))), "MissingParameter")
    refused(lambda: tcvpc.CreateVpc(request(vm.CreateVpcRequest, VpcName="v" * 61, CidrBlock="10.9.0.0/16")),
            "InvalidParameterValue.TooLong")
    refused(lambda: tcvpc.CreateVpc(request(vm.CreateVpcRequest, VpcName=uniq("bad"), CidrBlock="10.9.0.0/16",
                                            Tags=[{"Key": "k", "Value": "1"}, {"Key": "k", "Value": "2"}])),
            "InvalidParameterValue.DuplicateTags")
    assert vpc_count() == before

    def subnet_count():
        return tcvpc.DescribeSubnets(request(vm.DescribeSubnetsRequest, Filters=[
            {"Name": "vpc-id", "Values": [created.VpcId]}])).TotalCount

    refused(lambda: tcvpc.CreateSubnet(request(vm.CreateSubnetRequest, VpcId=created.VpcId, SubnetName="x1",
                                               CidrBlock=f"10.{second}.1.128/25", Zone=env.zone)),
            "InvalidParameterValue.SubnetConflict")
    refused(lambda: tcvpc.CreateSubnet(request(vm.CreateSubnetRequest, VpcId="vpc-doesnotexist0000000", SubnetName="x2",
                                               CidrBlock=f"10.{second}.3.0/24", Zone=env.zone)), "ResourceNotFound")
    refused(lambda: tcvpc.CreateSubnet(request(vm.CreateSubnetRequest, VpcId=created.VpcId, SubnetName="x3",
                                               CidrBlock="192.168.7.0/24", Zone=env.zone)),
            "InvalidParameterValue.Malformed")
    refused(lambda: tcvpc.CreateSubnet(request(vm.CreateSubnetRequest, VpcId=created.VpcId, SubnetName="x4",
                                               CidrBlock=f"10.{second}.4.0/24", Zone="nowhere-1")),
            "InvalidParameterValue.Range")
    refused(lambda: tcvpc.DescribeSubnets(request(vm.DescribeSubnetsRequest, Filters=[{"Name": "color", "Values": ["x"]}])),
            "InvalidParameter.FilterInvalidKey")
    assert subnet_count() == 2


# ---- RunInstances and the instance views -----------------------------------------------------


def test_run_describe_and_lifecycle(cvm, ecs, env):
    name, tag, token = uniq("web"), uniq("tag"), uuid.uuid4().hex
    user_data = base64.b64encode(b"#!/bin/sh\necho hello from cvm\n").decode()
    params = dict(
        InstanceCount=2, InstanceName=name + "_{R:3}", HostName="node{R:7}", ClientToken=token,
        SystemDisk={"DiskType": "CLOUD_SSD", "DiskSize": 30},
        DataDisks=[{"DiskType": "CLOUD_PREMIUM", "DiskSize": 20, "DeleteWithInstance": True}],
        LoginSettings={"Password": PASSWORD}, UserData=user_data,
        InternetAccessible={"InternetChargeType": "TRAFFIC_POSTPAID_BY_HOUR", "InternetMaxBandwidthOut": 5},
        TagSpecification=[{"ResourceType": "instance", "Tags": [{"Key": "suite", "Value": tag}]}],
        EnhancedService={"MonitorService": {"Enabled": True}},
    )
    ids = run(cvm, env, **params)
    assert len(ids) == 2 and all(i.startswith("i-") for i in ids)
    # ClientToken: the same request again answers the same IDs and makes nothing.
    assert run(cvm, env, **params) == ids
    listed = sorted(describe_ids(cvm, ids), key=lambda i: i.InstanceName)
    assert [i.InstanceName for i in listed] == [f"{name}_3", f"{name}_4"]
    assert [i.HostName for i in listed] == ["node7", "node8"]
    first = listed[0]
    assert (first.InstanceType, first.CPU, first.Memory, first.InstanceState) == (TYPE, 1, 1, "PENDING")
    assert (first.Placement.Zone, first.InstanceChargeType, first.RestrictState) == (env.zone, "POSTPAID_BY_HOUR", "NORMAL")
    assert (first.SystemDisk.DiskType, first.SystemDisk.DiskSize) == ("CLOUD_SSD", 30)
    assert [(d.DiskType, d.DiskSize, d.DeleteWithInstance) for d in first.DataDisks] == [("CLOUD_PREMIUM", 20, True)]
    assert (first.VirtualPrivateCloud.VpcId, first.VirtualPrivateCloud.SubnetId) == (env.vpc_id, env.subnet_id)
    assert first.PrivateIpAddresses == first.VirtualPrivateCloud.PrivateIpAddresses
    assert ipaddress.ip_address(first.PrivateIpAddresses[0]) in ipaddress.ip_network(env.cidr)
    assert first.SecurityGroupIds == [env.sg_id]
    assert [(t.Key, t.Value) for t in first.Tags] == [("suite", tag)]
    assert (first.ImageId, first.OsName, first.DisableApiTermination) == (IMAGE_ID, "Test Linux 1", False)
    assert (first.InternetAccessible.InternetMaxBandwidthOut, first.InternetAccessible.PublicIpAssigned) == (5, False)
    assert (first.ExpiredTime, first.RenewFlag) == (None, "")
    status = cvm.DescribeInstancesStatus(request(m.DescribeInstancesStatusRequest, InstanceIds=ids))
    assert status.TotalCount == 2 and {s.InstanceState for s in status.InstanceStatusSet} == {"PENDING"}

    # The ECS dialect sees the same instances.
    ecs_view = ecs.describe_instances(ecs_models.DescribeInstancesRequest(
        region_id=env.region, instance_ids=json.dumps(ids))).body.instances.instance
    ecs_view = sorted(ecs_view, key=lambda i: i.instance_name)
    assert [(i.instance_name, i.status, i.instance_type, i.host_name) for i in ecs_view] == [
        (f"{name}_3", "Pending", "ecs.t6.small", "node7"), (f"{name}_4", "Pending", "ecs.t6.small", "node8")]
    assert ecs.describe_user_data(ecs_models.DescribeUserDataRequest(
        region_id=env.region, instance_id=ids[0])).body.user_data == user_data

    # Filters and paging.
    def matching(*filters, **kw):
        return cvm.DescribeInstances(request(m.DescribeInstancesRequest, Filters=list(filters), **kw))

    assert matching({"Name": "instance-name", "Values": [f"{name}_3"]}).TotalCount == 1
    assert matching({"Name": "tag:suite", "Values": [tag]}).TotalCount == 2
    assert matching({"Name": "tag:suite", "Values": [tag]}, {"Name": "instance-state", "Values": ["PENDING"]}).TotalCount == 2
    assert matching({"Name": "tag:suite", "Values": [tag]}, {"Name": "instance-state", "Values": ["RUNNING"]}).TotalCount == 0
    assert matching({"Name": "tag:suite", "Values": [tag]}, {"Name": "zone", "Values": [env.zone]},
                    {"Name": "vpc-id", "Values": [env.vpc_id]}, {"Name": "subnet-id", "Values": [env.subnet_id]}).TotalCount == 2
    assert matching({"Name": "instance-id", "Values": ids}, {"Name": "security-group-id", "Values": [env.sg_id]}).TotalCount == 2
    assert matching({"Name": "private-ip-address", "Values": [first.PrivateIpAddresses[0]]}).TotalCount == 1
    assert matching({"Name": "tag:suite", "Values": [tag]}, {"Name": "public-ip-address", "Values": ["1.2.3.4"]}).TotalCount == 0
    page = matching({"Name": "tag:suite", "Values": [tag]}, Offset=1, Limit=1)
    assert page.TotalCount == 2 and len(page.InstanceSet) == 1
    refused(lambda: cvm.DescribeInstances(request(m.DescribeInstancesRequest, InstanceIds=ids,
                                                  Filters=[{"Name": "zone", "Values": [env.zone]}])), "InvalidParameter")
    refused(lambda: matching({"Name": "flavor", "Values": ["x"]}), "InvalidFilter")
    refused(lambda: matching({"Name": "instance-state", "Values": ["SLEEPING"]}), "InvalidParameterValue")
    refused(lambda: cvm.DescribeInstances(request(m.DescribeInstancesRequest, Limit=0)), "InvalidParameterValue.Range")

    # Lifecycle: PENDING refuses Stop; the supervisor brings them up; Reboot, Stop, Start, Terminate.
    refused(lambda: cvm.StopInstances(request(m.StopInstancesRequest, InstanceIds=ids)),
            "UnsupportedOperation.InstanceStatePending")
    settle(env.hearth, ids, "Running")
    assert {i.InstanceState for i in describe_ids(cvm, ids)} == {"RUNNING"}
    refused(lambda: cvm.StartInstances(request(m.StartInstancesRequest, InstanceIds=ids)),
            "UnsupportedOperation.InstanceStateRunning")
    cvm.RebootInstances(request(m.RebootInstancesRequest, InstanceIds=[ids[0]], StopType="SOFT"))
    assert {i.InstanceId: i.InstanceState for i in describe_ids(cvm, ids)} == {ids[0]: "REBOOTING", ids[1]: "RUNNING"}
    # All or nothing: one instance in the way refuses the whole call.
    refused(lambda: cvm.RebootInstances(request(m.RebootInstancesRequest, InstanceIds=ids)),
            "UnsupportedOperation.InstanceStateRebooting")
    settle(env.hearth, [ids[0]], "Running")
    cvm.StopInstances(request(m.StopInstancesRequest, InstanceIds=ids, StopType="HARD", StoppedMode="STOP_CHARGING"))
    assert {i.InstanceState for i in describe_ids(cvm, ids)} == {"STOPPING"}
    assert {i.status for i in ecs.describe_instances(ecs_models.DescribeInstancesRequest(
        region_id=env.region, instance_ids=json.dumps(ids))).body.instances.instance} == {"Stopping"}
    settle(env.hearth, ids, "Stopped")
    stopped = describe_ids(cvm, ids)
    assert {(i.InstanceState, i.StopChargingMode) for i in stopped} == {("STOPPED", "STOP_CHARGING")}
    cvm.StartInstances(request(m.StartInstancesRequest, InstanceIds=[ids[1]]))
    assert {i.InstanceId: i.InstanceState for i in describe_ids(cvm, ids)} == {ids[0]: "STOPPED", ids[1]: "STARTING"}
    settle(env.hearth, [ids[1]], "Running")
    # TerminateInstances needs no stop first: a running instance is TERMINATING until its VMM ends.
    cvm.TerminateInstances(request(m.TerminateInstancesRequest, InstanceIds=ids))
    states = {i.InstanceId: i.InstanceState for i in describe_ids(cvm, ids)}
    assert states == {ids[1]: "TERMINATING"}  # the stopped one is gone at once
    filtered = matching({"Name": "instance-id", "Values": ids}, {"Name": "instance-state", "Values": ["TERMINATING"]})
    assert [i.InstanceId for i in filtered.InstanceSet] == [ids[1]]
    gone(cvm, env, [ids[1]])
    with pytest.raises(Exception) as e:
        ecs.describe_instance_attribute(ecs_models.DescribeInstanceAttributeRequest(instance_id=ids[0]))
    assert "InvalidInstanceId.NotFound" in str(e.value)


def test_ecs_instance_seen_and_driven_through_cvm(cvm, legacy, env):
    name = uniq("ecs")
    iid = legacy("CreateInstance", RegionId=env.region, ImageId=IMAGE_ID, InstanceType="ecs.g7.large",
                 SecurityGroupId=env.sg_id, VSwitchId=env.subnet_id, InstanceName=name,
                 KeyPairName=env.key_name, **{"SystemDisk.Category": "cloud_essd", "SystemDisk.Size": "25",
                                              "DataDisk.1.Category": "cloud", "DataDisk.1.Size": "5",
                                              "DataDisk.1.DeleteWithInstance": "false"})["InstanceId"]
    env.made.append(iid)
    [i] = describe_ids(cvm, [iid])
    assert (i.InstanceName, i.InstanceType, i.CPU, i.Memory, i.InstanceState) == (name, "S7.MEDIUM8", 2, 8, "STOPPED")
    assert (i.SystemDisk.DiskType, i.SystemDisk.DiskSize) == ("CLOUD_HSSD", 25)
    assert [(d.DiskType, d.DiskSize, d.DeleteWithInstance) for d in i.DataDisks] == [("CLOUD_BASIC", 5, False)]
    assert i.LoginSettings.KeyIds == [env.key_name]
    assert i.StopChargingMode == "NOT_APPLICABLE"
    cvm.StartInstances(request(m.StartInstancesRequest, InstanceIds=[iid]))
    assert legacy("DescribeInstanceStatus", RegionId=env.region, **{"InstanceId.1": iid})[
        "InstanceStatuses"]["InstanceStatus"][0]["Status"] == "Starting"
    gone(cvm, env, [iid])
    refused(lambda: cvm.StartInstances(request(m.StartInstancesRequest, InstanceIds=[iid])), "InvalidInstanceId.NotFound")


def test_deletion_protection_key_pairs_and_private_ips(cvm, env):
    block = ipaddress.ip_network(env.cidr)
    ips = [str(block[random.randint(100, 150)]), str(block[random.randint(151, 200)])]
    ids = run(cvm, env, InstanceCount=2, InstanceName=None, DisableApiTermination=True,
              LoginSettings={"KeyIds": [env.key_name]},
              VirtualPrivateCloud={"VpcId": env.vpc_id, "SubnetId": env.subnet_id, "PrivateIpAddresses": ips})
    got = {i.InstanceId: i for i in describe_ids(cvm, ids)}
    assert [got[i].PrivateIpAddresses[0] for i in ids] == ips
    assert all(got[i].DisableApiTermination and got[i].LoginSettings.KeyIds == [env.key_name] for i in ids)
    assert all(got[i].InstanceName == "未命名" for i in ids)
    # An address in use cannot be given again.
    refused(lambda: run(cvm, env, VirtualPrivateCloud={"VpcId": env.vpc_id, "SubnetId": env.subnet_id,
                                                       "PrivateIpAddresses": [ips[0]]}), "VpcIpIsUsed")
    settle(env.hearth, ids, "Stopped")
    refused(lambda: cvm.TerminateInstances(request(m.TerminateInstancesRequest, InstanceIds=ids)),
            "UnsupportedOperation.InstancesProtected")
    assert len(describe_ids(cvm, ids)) == 2
    sql(env.hearth, "UPDATE instances SET deletion_protection = 0 WHERE id IN (?, ?)", ids)
    gone(cvm, env, ids)


def test_prepaid_and_spot(cvm, legacy, env):
    prepaid = run(cvm, env, InstanceChargeType="PREPAID",
                  InstanceChargePrepaid={"Period": 4, "RenewFlag": "NOTIFY_AND_AUTO_RENEW"})
    spot = run(cvm, env, InstanceChargeType="SPOTPAID", InternetAccessible={"InternetChargeType": "BANDWIDTH_POSTPAID_BY_HOUR"},
               InstanceMarketOptions={"MarketType": "spot", "SpotOptions": {"MaxPrice": "0.5"}})
    [p] = describe_ids(cvm, prepaid)
    assert (p.InstanceChargeType, p.RenewFlag) == ("PREPAID", "NOTIFY_AND_AUTO_RENEW")
    created = datetime.strptime(p.CreatedTime, "%Y-%m-%dT%H:%M:%SZ")
    expires = datetime.strptime(p.ExpiredTime, "%Y-%m-%dT%H:%M:%SZ")
    assert 118 <= (expires - created).days <= 123  # four months
    [s] = describe_ids(cvm, spot)
    assert (s.InstanceChargeType, s.InternetAccessible.InternetChargeType) == ("SPOTPAID", "BANDWIDTH_POSTPAID_BY_HOUR")
    seen = {i["InstanceId"]: i for i in legacy("DescribeInstances", RegionId=env.region,
                                                InstanceIds=json.dumps(prepaid + spot))["Instances"]["Instance"]}
    assert (seen[prepaid[0]]["InstanceChargeType"], seen[spot[0]]["SpotStrategy"], seen[spot[0]]["SpotPriceLimit"]) == (
        "PrePaid", "SpotWithPriceLimit", 0.5)
    prepaid_only = cvm.DescribeInstances(request(m.DescribeInstancesRequest, Filters=[
        {"Name": "instance-id", "Values": prepaid + spot}, {"Name": "instance-charge-type", "Values": ["PREPAID"]}]))
    assert [i.InstanceId for i in prepaid_only.InstanceSet] == prepaid
    for charge, expected in [("SPOTPAID", spot), ("POSTPAID_BY_HOUR", []), ("CDHPAID", [])]:
        got = cvm.DescribeInstances(request(m.DescribeInstancesRequest, Filters=[
            {"Name": "instance-id", "Values": prepaid + spot}, {"Name": "instance-charge-type", "Values": [charge]}]))
        assert [i.InstanceId for i in got.InstanceSet] == expected, charge
    gone(cvm, env, prepaid + spot)


def test_dry_run_creates_nothing(cvm, env):
    name = uniq("dry")
    out = cvm.RunInstances(request(m.RunInstancesRequest, **run_params(env, InstanceName=name, DryRun=True)))
    assert out.InstanceIdSet is None and out.RequestId
    # CVM's own prepaid periods, and deletion protection on a prepaid instance (ECS refuses both).
    out = cvm.RunInstances(request(m.RunInstancesRequest, **run_params(
        env, InstanceName=name, DryRun=True, InstanceChargeType="PREPAID", DisableApiTermination=True,
        InstanceChargePrepaid={"Period": 36, "RenewFlag": "NOTIFY_AND_AUTO_RENEW"})))
    assert out.InstanceIdSet is None
    refused(lambda: cvm.RunInstances(request(m.RunInstancesRequest, **run_params(
        env, InstanceName=name, DryRun=True, InstanceChargeType="PREPAID",
        InstanceChargePrepaid={"Period": 1, "RenewFlag": "SOMETIMES"}))), "InvalidParameterValue")
    # DryRun comes after every check: a bad parameter still gives its own code.
    refused(lambda: cvm.RunInstances(request(m.RunInstancesRequest, **run_params(
        env, InstanceName=name, DryRun=True, HostName="-x"))), "InvalidParameterValue.IllegalHostName")
    assert cvm.DescribeInstances(request(m.DescribeInstancesRequest, Filters=[
        {"Name": "instance-name", "Values": [name]}])).TotalCount == 0


def test_lifecycle_rejections(cvm, env):
    refused(lambda: cvm.StartInstances(request(m.StartInstancesRequest, InstanceIds=["i-doesnotexist000000000"])),
            "InvalidInstanceId.NotFound")
    refused(lambda: cvm.StopInstances(m.StopInstancesRequest()), "MissingParameter")
    refused(lambda: cvm.StopInstances(request(m.StopInstancesRequest, InstanceIds=["i-a", "i-a"])),
            "InvalidParameterValue.Duplicate")
    refused(lambda: cvm.StopInstances(request(m.StopInstancesRequest, InstanceIds=["i-a"], StopType="GENTLE")),
            "InvalidParameterValue")
    refused(lambda: cvm.StopInstances(request(m.StopInstancesRequest, InstanceIds=["i-a"], StoppedMode="MAYBE")),
            "InvalidParameterValue")
    refused(lambda: cvm.TerminateInstances(request(m.TerminateInstancesRequest, InstanceIds=[f"i-{n}" for n in range(101)])),
            "InvalidParameterValue.LimitExceeded")


def b64(data):
    return base64.b64encode(data).decode()


# (id, RunInstances parameters over run_params, CVM code). "SUBNET_IP" is an address outside
# the subnet, "OTHER_VPC" a VPC the subnet is not in.
RUN_REJECTIONS = [
    ("no placement", dict(Placement=None), "MissingParameter"),
    ("unknown zone", dict(Placement={"Zone": "ap-guangzhou-3"}), "InvalidZone.MismatchRegion"),
    ("project", dict(Placement={"Zone": "ZONE", "ProjectId": 7}), "InvalidProjectId.NotFound"),
    ("dedicated host", dict(Placement={"Zone": "ZONE", "HostIds": ["host-1"]}), "InvalidHostId.NotFound"),
    ("no image", dict(ImageId=None), "MissingParameter"),
    ("unknown image", dict(ImageId="img-doesnotexist"), "InvalidImageId.NotFound"),
    ("malformed type", dict(InstanceType="S7"), "InvalidInstanceType.Malformed"),
    ("unknown type", dict(InstanceType="S5.MEDIUM4"), "InvalidParameterValue.InstanceTypeNotFound"),
    ("count 0", dict(InstanceCount=0), "InvalidParameterValue.Range"),
    ("count 501", dict(InstanceCount=501), "InvalidParameterValue.Range"),
    ("min count above count", dict(InstanceCount=2, MinCount=3), "InvalidParameterValue.InvalidParameterMinCount"),
    ("name too long", dict(InstanceName="n" * 129), "InvalidInstanceName.TooLong"),
    ("bad pattern", dict(InstanceName="web{R:x}"), "InvalidParameterValue.IncorrectFormat"),
    ("host name", dict(HostName="-web"), "InvalidParameterValue.IllegalHostName"),
    ("host name too long", dict(HostName="h" * 61), "InvalidParameterValue.IllegalHostName"),
    ("password", dict(LoginSettings={"Password": "short1"}), "InvalidPassword"),
    ("keep image login with keys", dict(LoginSettings={"KeepImageLogin": "TRUE", "KeyIds": ["k"]}),
     "InvalidParameter.ParameterConflict"),
    ("unknown key", dict(LoginSettings={"KeyIds": ["skey-doesnotexist"]}), "InvalidParameterValue.KeyPairNotFound"),
    ("two keys", dict(LoginSettings={"KeyIds": ["a", "b"]}), "InvalidParameterValue.LimitExceeded"),
    ("no security group", dict(SecurityGroupIds=None), "MissingParameter"),
    ("unknown security group", dict(SecurityGroupIds=["sg-doesnotexist0000000"]), "InvalidSecurityGroupId.NotFound"),
    ("security group of another vpc", dict(SecurityGroupIds=["OTHER_SG"]), "InvalidParameterCombination"),
    ("six security groups", dict(SecurityGroupIds=[f"sg-{n}" for n in range(6)]), "InvalidParameterValue.LimitExceeded"),
    ("no vpc", dict(VirtualPrivateCloud=None), "MissingParameter"),
    ("no subnet", dict(VirtualPrivateCloud={"VpcId": "VPC"}), "MissingParameter"),
    ("unknown subnet", dict(VirtualPrivateCloud={"VpcId": "VPC", "SubnetId": "subnet-doesnotexist"}),
     "InvalidParameterValue.SubnetNotExist"),
    ("unknown vpc", dict(VirtualPrivateCloud={"VpcId": "vpc-doesnotexist", "SubnetId": "SUBNET"}),
     "InvalidParameterValue.VpcIdNotExist"),
    ("subnet of another vpc", dict(VirtualPrivateCloud={"VpcId": "OTHER_VPC", "SubnetId": "SUBNET"}),
     "InvalidParameterValue.VpcIdSubnetIdNotMatch"),
    ("malformed ip", dict(VirtualPrivateCloud={"VpcId": "VPC", "SubnetId": "SUBNET", "PrivateIpAddresses": ["10.1"]}),
     "InvalidParameter.InvalidIpFormat"),
    ("ip outside subnet", dict(VirtualPrivateCloud={"VpcId": "VPC", "SubnetId": "SUBNET", "PrivateIpAddresses": ["OUTSIDE"]}),
     "VpcAddrNotInSubNet"),
    ("ip count", dict(InstanceCount=2, VirtualPrivateCloud={"VpcId": "VPC", "SubnetId": "SUBNET", "PrivateIpAddresses": ["INSIDE"]}),
     "InvalidParameterCombination"),
    ("ipv6", dict(VirtualPrivateCloud={"VpcId": "VPC", "SubnetId": "SUBNET", "Ipv6AddressCount": 1}),
     "InvalidParameterValue.VpcNotSupportIpv6Address"),
    ("disk type", dict(SystemDisk={"DiskType": "FLOPPY"}), "InvalidParameterValue"),
    ("system disk too big", dict(SystemDisk={"DiskType": "CLOUD_BASIC", "DiskSize": 5000}), "InvalidParameterValue.Range"),
    ("ssd data disk too small", dict(DataDisks=[{"DiskType": "CLOUD_SSD", "DiskSize": 50}]),
     "InvalidParameterValue.CloudSsdDataDiskSizeTooSmall"),
    ("data disk size missing", dict(DataDisks=[{"DiskType": "CLOUD_PREMIUM"}]), "MissingParameter"),
    ("snapshot", dict(DataDisks=[{"DiskSize": 20, "SnapshotId": "snap-1"}]), "InvalidParameter.SnapshotNotFound"),
    ("encrypted disk", dict(DataDisks=[{"DiskSize": 20, "Encrypt": True}]), "UnsupportedOperation.InvalidRegionDiskEncrypt"),
    ("two local disks", dict(DataDisks=[{"DiskType": "LOCAL_SSD", "DiskSize": 20}, {"DiskType": "LOCAL_SSD", "DiskSize": 20}]),
     "InvalidParameterValue.LimitExceeded"),
    ("user data not base64", dict(UserData="not base64!"), "InvalidParameterValue.InvalidUserDataFormat"),
    ("user data over 16 KiB", dict(UserData=b64(b"a" * (16 * 1024 + 1))), "InvalidParameterValue.TooLarge"),
    ("client token too long", dict(ClientToken="t" * 65), "InvalidClientToken.TooLong"),
    ("charge type", dict(InstanceChargeType="FREE"), "InvalidParameterValue"),
    ("prepaid without period", dict(InstanceChargeType="PREPAID"), "MissingParameter"),
    ("prepaid period", dict(InstanceChargeType="PREPAID", InstanceChargePrepaid={"Period": 13}), "InvalidPeriod"),
    ("public ip", dict(InternetAccessible={"PublicIpAssigned": True, "InternetMaxBandwidthOut": 1}),
     "InvalidParameter.InternetAccessibleNotSupported"),
    ("bandwidth", dict(InternetAccessible={"InternetMaxBandwidthOut": 101}), "InvalidParameterValue.Range"),
    ("internet charge type", dict(InternetAccessible={"InternetChargeType": "FREE"}), "InvalidParameterValue"),
    ("hpc cluster", dict(HpcClusterId="hpc-1"), "ResourceNotFound.HpcCluster"),
    ("placement group", dict(DisasterRecoverGroupIds=["ps-1"]), "FailedOperation.DisasterRecoverGroupNotFound"),
    ("launch template", dict(LaunchTemplate={"LaunchTemplateId": "lt-1"}), "InvalidParameterValue.LaunchTemplateNotFound"),
    ("reserved tag", dict(TagSpecification=[{"ResourceType": "instance", "Tags": [{"Key": "qcloud:x", "Value": "1"}]}]),
     "FailedOperation.TagKeyReserved"),
    ("duplicate tags", dict(TagSpecification=[{"ResourceType": "instance", "Tags": [{"Key": "k", "Value": "1"},
                                                                                  {"Key": "k", "Value": "2"}]}]),
     "InvalidParameterValue.DuplicateTags"),
    ("tag resource type", dict(TagSpecification=[{"ResourceType": "eip", "Tags": [{"Key": "k", "Value": "1"}]}]),
     "InvalidParameterValue"),
    ("jumbo frames", dict(EnableJumboFrame=True), "UnsupportedOperation.InstanceTypeNotSupportJumboFrame"),
    ("cpu topology", dict(CpuTopology={"CoreCount": 1}), "InvalidParameter.LackCoreCountOrThreadPerCore"),
    ("no stock", dict(InstanceType="M7.8XLARGE256", InstanceCount=100), "ResourceInsufficient.SpecifiedInstanceType"),
    ("no stock for min count", dict(InstanceType="M7.8XLARGE256", InstanceCount=100, MinCount=50),
     "ResourceInsufficient.InsufficientOfferingMinimum"),
]


def resolve(value, env):
    block = ipaddress.ip_network(env.cidr)
    names = {"ZONE": env.zone, "VPC": env.vpc_id, "SUBNET": env.subnet_id, "OTHER_VPC": env.other_vpc,
             "OTHER_SG": env.other_sg,
             "OUTSIDE": "10.255.255.7" if not env.cidr.startswith("10.") else "192.168.250.7",
             "INSIDE": str(block[210])}
    if isinstance(value, dict):
        return {k: resolve(v, env) for k, v in value.items()}
    if isinstance(value, list):
        return [resolve(v, env) for v in value]
    return names.get(value, value) if isinstance(value, str) else value


@pytest.mark.parametrize("case", RUN_REJECTIONS, ids=[c[0] for c in RUN_REJECTIONS])
def test_run_rejections(cvm, env, case):
    _, kw, code = case
    name = uniq("rej")
    params = run_params(env, InstanceName=name)
    for k, v in resolve(kw, env).items():
        if v is None:
            params.pop(k, None)
        else:
            params[k] = v
    refused(lambda: cvm.RunInstances(request(m.RunInstancesRequest, **params)), code)
    assert cvm.DescribeInstances(request(m.DescribeInstancesRequest, Filters=[
        {"Name": "instance-name", "Values": [name]}])).TotalCount == 0
