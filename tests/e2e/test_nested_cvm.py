"""Issue #7 point 4: the nested end-to-end test once more through the Tencent Cloud CVM dialect.
tencentcloud-sdk-python (TC3-HMAC-SHA256) creates the VPC and subnet and runs a `tiny` instance
with a data disk and a user-data script in the test host's `hearth serve`; the guest really
boots on KVM. The ECS dialect sees the same instance (and reads its serial console, which CVM's
API has no call for); Stop, Start and Terminate go through CVM again.
"""

import base64
import json
import time

import pytest
from tencentcloud.common import credential
from tencentcloud.common.profile.client_profile import ClientProfile
from tencentcloud.common.profile.http_profile import HttpProfile
from tencentcloud.cvm.v20170312 import cvm_client
from tencentcloud.cvm.v20170312 import models as cvm_models
from tencentcloud.vpc.v20170312 import models as vpc_models
from tencentcloud.vpc.v20170312 import vpc_client

from test_nested_instances import console_with, describe, wait_for

USER_DATA = """#!/bin/sh
echo "E2E-CVM host=$(hostname) data_sectors=$(cat /sys/block/vdb/size)" >/dev/console
"""


def request(model, **params):
    req = model()
    req.from_json_string(json.dumps(params))
    return req


def clients(node):
    cred = credential.Credential(node.key_id, node.key_secret)
    profile = ClientProfile(httpProfile=HttpProfile(protocol="http", endpoint=node.endpoint, reqTimeout=60))
    return (cvm_client.CvmClient(cred, node.region, profile),
            vpc_client.VpcClient(cred, node.region, profile))


def cvm_state(cvm, iid):
    got = cvm.DescribeInstances(request(cvm_models.DescribeInstancesRequest, InstanceIds=[iid]))
    return got.InstanceSet[0].InstanceState if got.InstanceSet else "GONE"


def test_cvm_dialect_runs_a_real_instance(node):
    cvm, tcvpc = clients(node)
    zone = cvm.DescribeZones(request(cvm_models.DescribeZonesRequest)).ZoneSet[0].Zone
    vpc = tcvpc.CreateVpc(request(vpc_models.CreateVpcRequest, VpcName="e2e-cvm",
                                  CidrBlock="10.40.0.0/16")).Vpc.VpcId
    subnet = tcvpc.CreateSubnet(request(vpc_models.CreateSubnetRequest, VpcId=vpc, SubnetName="e2e-cvm",
                                        CidrBlock="10.40.1.0/24", Zone=zone)).Subnet.SubnetId
    # Security groups are shared: one made through ECS serves the CVM instance.
    sg = node.call("CreateSecurityGroup", RegionId=node.region, VpcId=vpc)["SecurityGroupId"]
    [iid] = cvm.RunInstances(request(
        cvm_models.RunInstancesRequest, Placement={"Zone": zone}, ImageId="tiny-x64",
        InstanceType="T6.SMALL1", InstanceName="e2e-cvm", HostName="e2e-cvm",
        SystemDisk={"DiskType": "CLOUD_PREMIUM", "DiskSize": 20},
        DataDisks=[{"DiskType": "CLOUD_PREMIUM", "DiskSize": 30}],
        VirtualPrivateCloud={"VpcId": vpc, "SubnetId": subnet}, SecurityGroupIds=[sg],
        UserData=base64.b64encode(USER_DATA.encode()).decode())).InstanceIdSet
    wait_for("RUNNING", lambda: cvm_state(cvm, iid) == "RUNNING", 600)
    assert describe(node, [iid])[iid]["Status"] == "Running", "ECS sees the CVM instance"
    out = console_with(node, iid, "E2E-CVM", 600)
    assert f"E2E-CVM host=e2e-cvm data_sectors={30 * 2 * 1024 * 1024}" in out, out[-3000:]

    cvm.StopInstances(request(cvm_models.StopInstancesRequest, InstanceIds=[iid], StopType="HARD"))
    wait_for("STOPPED", lambda: cvm_state(cvm, iid) == "STOPPED", 300)
    cvm.StartInstances(request(cvm_models.StartInstancesRequest, InstanceIds=[iid]))
    wait_for("RUNNING again", lambda: cvm_state(cvm, iid) == "RUNNING", 300)
    cvm.TerminateInstances(request(cvm_models.TerminateInstancesRequest, InstanceIds=[iid]))
    wait_for("terminated", lambda: cvm_state(cvm, iid) == "GONE", 300)
    assert describe(node, [iid]) == {}
    node.call("DeleteSecurityGroup", RegionId=node.region, SecurityGroupId=sg)
    node.call("DeleteVSwitch", "2016-04-28", RegionId=node.region, VSwitchId=subnet)
    node.call("DeleteVpc", "2016-04-28", RegionId=node.region, VpcId=vpc)
