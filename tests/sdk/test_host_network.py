"""The API drives the host network: CreateVSwitch makes the VSwitch's bridge with its gateway,
AuthorizeSecurityGroup puts the rule in force before it returns, Revoke and Delete take them away.
The server builds its networks in a private network namespace (conftest), which these tests
inspect through the server's `hearth-net` thread."""

import os
import subprocess
import uuid

import pytest
from alibabacloud_ecs20140526 import models as ecs_models
from alibabacloud_vpc20160428 import models as vpc_models

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="host networking needs root")


def bridge_name(vswitch_id):
    """hearth_net::names::bridge_name: `hbr` + 12 hex digits of the ID's FNV-1a hash."""
    h = 0xCBF29CE484222325
    for b in vswitch_id.encode():
        h = ((h ^ b) * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return f"hbr{h >> 16:012x}"


def net_namespace(hearth):
    pid = hearth.proc.pid
    for tid in os.listdir(f"/proc/{pid}/task"):
        with open(f"/proc/{pid}/task/{tid}/comm") as f:
            if f.read().strip() == "hearth-net":
                return f"/proc/{pid}/task/{tid}/ns/net"
    raise AssertionError("no hearth-net thread in the server")


def inside(hearth, *cmd):
    return subprocess.run(["nsenter", f"--net={net_namespace(hearth)}", *cmd], capture_output=True, text=True)


def test_vswitch_bridge_and_rules_follow_the_api(hearth, vpc, ecs, region):
    zone = vpc.describe_zones(vpc_models.DescribeZonesRequest(region_id=region)).body.zones.zone[0].zone_id
    vpc_id = vpc.create_vpc(vpc_models.CreateVpcRequest(region_id=region, cidr_block="172.20.0.0/16")).body.vpc_id
    vsw_id = vpc.create_vswitch(vpc_models.CreateVSwitchRequest(
        region_id=region, zone_id=zone, vpc_id=vpc_id, cidr_block="172.20.3.0/24")).body.v_switch_id
    bridge = bridge_name(vsw_id)
    try:
        shown = inside(hearth, "ip", "-br", "addr", "show", bridge)
        assert shown.returncode == 0, shown.stderr
        assert "172.20.3.1/24" in shown.stdout
        # Not in this machine's own namespace.
        assert subprocess.run(["ip", "link", "show", bridge], capture_output=True).returncode != 0

        port = 40000 + uuid.uuid4().int % 20000
        sg = ecs.create_security_group(ecs_models.CreateSecurityGroupRequest(
            region_id=region, vpc_id=vpc_id)).body.security_group_id
        rule = dict(region_id=region, security_group_id=sg, ip_protocol="tcp",
                    port_range=f"{port}/{port}", source_cidr_ip="192.0.2.0/24")
        try:
            ecs.authorize_security_group(ecs_models.AuthorizeSecurityGroupRequest(**rule))
            ruleset = inside(hearth, "nft", "list", "table", "inet", "hearth").stdout
            assert f"dport {port}" in ruleset and "192.0.2.0/24" in ruleset
            ecs.revoke_security_group(ecs_models.RevokeSecurityGroupRequest(**rule))
            assert f"dport {port}" not in inside(hearth, "nft", "list", "table", "inet", "hearth").stdout
        finally:
            ecs.delete_security_group(ecs_models.DeleteSecurityGroupRequest(region_id=region, security_group_id=sg))
    finally:
        vpc.delete_vswitch(vpc_models.DeleteVSwitchRequest(region_id=region, v_switch_id=vsw_id))
        vpc.delete_vpc(vpc_models.DeleteVpcRequest(region_id=region, vpc_id=vpc_id))
    assert inside(hearth, "ip", "link", "show", bridge).returncode != 0, "the bridge goes with its VSwitch"
