"""Issue #5 point 6 and issue #6 point 6, end to end: the official SDK asks a nested test host's
`hearth serve` for a VPC, a VSwitch, a security group and two `tiny` instances with two data
disks and a user-data script; the guests really run on KVM there. What the guests print on their
serial console (read back with GetInstanceConsoleOutput) shows the script ran with the hostname,
address and disk sizes DescribeInstances reports, that the two reach each other on their
VSwitch and that the metadata service answers each for itself. Then Stop, Start, Reboot and
Delete, and nothing is left on the node. A second test boots the `debian-12` image, whose real
cloud-init applies the same seed volume.
"""

import base64
import re
import time

import pytest
from alibabacloud_ecs20140526 import models as ecs_models
from aliyunsdkcore.acs_exception.exceptions import ServerException

GIB_SECTORS = 2 * 1024 * 1024
CIDR = "10.20.1.0/28"

# Runs on each guest's first boot (tiny's first-boot agent; cloud-init on debian-12). It sweeps
# the /28 for the other instance (PEER_ROUNDS times at most) because the user data, shared by
# both, is written before their addresses exist.
USER_DATA = r"""#!/bin/sh
say() { echo "$*" >/dev/console; }
# tiny has busybox wget; a minimal Debian has neither wget nor curl, but cloud-init's python3.
get() {
    if command -v wget >/dev/null; then wget -qO- "$1"
    else python3 -c 'import sys, urllib.request; sys.stdout.write(urllib.request.urlopen(sys.argv[1]).read().decode())' "$1"
    fi
}
self=$(ip -4 -o addr show dev eth0 | awk '{print $4}' | cut -d/ -f1)
say "E2E-USERDATA host=$(hostname) addr=$self"
for d in vda vdb vdc; do say "E2E-DISK $d $(cat /sys/block/$d/size)"; done
say "E2E-META instance-id=$(get http://100.100.100.200/latest/meta-data/instance-id)"
say "E2E-META user-data-lines=$(get http://100.100.100.200/latest/user-data | wc -l)"
rounds=PEER_ROUNDS
for round in $(seq 1 $rounds); do
    for i in $(seq 1 14); do
        a=10.20.1.$i
        [ "$a" = "$self" ] && continue
        (ping -c 1 -W 2 "$a" >/dev/null 2>&1 && echo "$a" >>/tmp/peers) &
    done
    wait
    # The gateway (.1) answers at once; wait for another instance.
    grep -qv '^10\.20\.1\.1$' /tmp/peers 2>/dev/null && break
    sleep 1
done
say "E2E-PEERS $(sort -u /tmp/peers 2>/dev/null | tr '\n' ' ')"
say "E2E-DONE"
"""


def wait_for(what, check, timeout, every=2, shown=None):
    """`shown()`: what to print when it times out (e.g. the guest's console)."""
    deadline = time.time() + timeout
    while True:
        got = check()
        if got:
            return got
        if time.time() > deadline:
            pytest.fail(f"timed out after {timeout}s waiting for {what}" + (f":\n{shown()}" if shown else ""))
        time.sleep(every)


def each(name, values):
    """A repeated parameter, flattened as the RPC style wants: Name.1, Name.2, ..."""
    return {f"{name}.{n}": v for n, v in enumerate(values, 1)}


def describe(node, ids):
    got = node.call("DescribeInstances", RegionId=node.region, InstanceIds=str(ids).replace("'", '"'),
                    PageSize=100)
    return {i["InstanceId"]: i for i in got["Instances"]["Instance"]}


def all_status(node, ids, status):
    found = describe(node, ids)
    return len(found) == len(ids) and all(i["Status"] == status for i in found.values())


def console(node, instance_id):
    out = node.call("GetInstanceConsoleOutput", RegionId=node.region, InstanceId=instance_id)
    return base64.b64decode(out["ConsoleOutput"]).decode(errors="replace").replace("\r", "")


def console_with(node, iid, marker, timeout):
    """The console once `marker` is on it; fails at once if the instance stops first."""
    def check():
        out = console(node, iid)
        if marker in out:
            return out
        if describe(node, [iid]).get(iid, {}).get("Status") == "Stopped":
            pytest.fail(f"{iid} stopped before printing {marker}:\n{out[-4000:]}")
        return None
    return wait_for(f"{marker} on {iid}'s console", check, timeout, every=3,
                    shown=lambda: console(node, iid)[-4000:])


def network(node, name):
    zone = node.call("DescribeZones", RegionId=node.region)["Zones"]["Zone"][0]["ZoneId"]
    vpc = node.call("CreateVpc", "2016-04-28", RegionId=node.region, CidrBlock="10.20.0.0/16",
                    VpcName=name)["VpcId"]
    vsw = node.call("CreateVSwitch", "2016-04-28", RegionId=node.region, VpcId=vpc, ZoneId=zone,
                    CidrBlock=CIDR)["VSwitchId"]
    sg = node.call("CreateSecurityGroup", RegionId=node.region, VpcId=vpc,
                   SecurityGroupName=name)["SecurityGroupId"]
    return zone, vpc, vsw, sg


def run_instances(node, zone, vsw, sg, image, amount, name):
    user_data = USER_DATA.replace("PEER_ROUNDS", "40" if amount > 1 else "0")
    req = ecs_models.RunInstancesRequest(
        region_id=node.region, zone_id=zone, image_id=image, instance_type="ecs.t6.small",
        security_group_id=sg, v_switch_id=vsw, amount=amount, instance_name=name,
        host_name=f"{name}[1,1]", internet_max_bandwidth_out=0,
        system_disk=ecs_models.RunInstancesRequestSystemDisk(category="cloud_essd", size="20"),
        data_disk=[ecs_models.RunInstancesRequestDataDisk(category="cloud_efficiency", size=20,
                                                          delete_with_instance=True),
                   ecs_models.RunInstancesRequestDataDisk(category="cloud_essd", size=30,
                                                          delete_with_instance=True)],
        user_data=base64.b64encode(user_data.encode()).decode(),
    )
    return node.ecs.run_instances(req).body.instance_id_sets.instance_id_set


def boots(text):
    """Completed boots of a tiny guest: its rcS prints this line last (a Reboot sent earlier
    would reach a guest whose init cannot act on Ctrl-Alt-Del yet)."""
    return text.count("hearth tiny: up as")


def test_two_tiny_instances_run_talk_and_go(node):
    zone, vpc, vsw, sg = network(node, "e2e-tiny")
    ids = run_instances(node, zone, vsw, sg, "tiny-x64", 2, "e2e-tiny")
    assert len(ids) == 2
    wait_for("both instances Running", lambda: all_status(node, ids, "Running"), 600)

    # The script ran in each guest, with what DescribeInstances says of it.
    outs = {i: console_with(node, i, "E2E-DONE", 600) for i in ids}
    found = describe(node, ids)
    addrs = {i: found[i]["VpcAttributes"]["PrivateIpAddress"]["IpAddress"][0] for i in ids}
    for i in ids:
        out, inst = outs[i], found[i]
        assert f"E2E-USERDATA host={inst['HostName']} addr={addrs[i]}" in out, out[-3000:]
        assert f"E2E-DISK vda {20 * GIB_SECTORS}" in out
        assert f"E2E-DISK vdb {20 * GIB_SECTORS}" in out
        assert f"E2E-DISK vdc {30 * GIB_SECTORS}" in out
        assert f"E2E-META instance-id={i}" in out, "the metadata service must answer for the asker"
        assert f"E2E-META user-data-lines={USER_DATA.count(chr(10))}" in out, "its own user data"
        other = [addrs[j] for j in ids if j != i][0]
        peers = re.search(r"E2E-PEERS (.*)", out).group(1).split()
        assert other in peers, f"{i} ({addrs[i]}) did not reach {other}: {peers}"
        assert found[i]["Memory"] == 1024 and found[i]["Cpu"] == 1
    assert len(set(addrs.values())) == 2
    state = node.node_state()
    assert len(state["vmms"]) == 2 and len(state["taps"]) == 2, state

    # Stop (graceful: Ctrl-Alt-Del, the guest shuts down), Start, Reboot.
    node.call("StopInstances", RegionId=node.region, **each("InstanceId", ids))
    wait_for("both Stopped", lambda: all_status(node, ids, "Stopped"), 300)
    assert node.node_state()["vmms"] == []
    first = ids[0]
    before = boots(console(node, first))
    node.call("StartInstance", InstanceId=first)
    wait_for("Running again", lambda: all_status(node, [first], "Running"), 300)
    wait_for("a second boot", lambda: boots(console(node, first)) > before, 300)
    before = boots(console(node, first))
    node.call("RebootInstance", InstanceId=first)
    wait_for("a boot after Reboot", lambda: boots(console(node, first)) > before, 300)
    wait_for("Running after Reboot", lambda: all_status(node, [first], "Running"), 300)
    # The data disks kept their contents' shape across stop/start and reboot.
    assert "E2E-DISK vdc" in console(node, first)

    # Delete: the records, VMMs, TAPs and the disks with DeleteWithInstance are gone.
    node.call("DeleteInstances", RegionId=node.region, Force="true", **each("InstanceId", ids))
    wait_for("both deleted", lambda: describe(node, ids) == {}, 300)
    for i in ids:
        with pytest.raises(ServerException) as e:
            node.call("DescribeInstanceAttribute", InstanceId=i)
        assert e.value.get_error_code() == "InvalidInstanceId.NotFound"
    state = wait_for("the node to be clean", lambda: (s := node.node_state()) and not (
        s["vmms"] or s["taps"] or s["disks"] or s["instances"]) and s or None, 60)
    assert state["disks"] == []
    node.call("DeleteSecurityGroup", RegionId=node.region, SecurityGroupId=sg)
    node.call("DeleteVSwitch", "2016-04-28", RegionId=node.region, VSwitchId=vsw)
    node.call("DeleteVpc", "2016-04-28", RegionId=node.region, VpcId=vpc)


def test_debian_12_with_cloud_init(node):
    zone, vpc, vsw, sg = network(node, "e2e-debian")
    [iid] = run_instances(node, zone, vsw, sg, "debian-12-x64", 1, "e2e-debian")
    wait_for("Running", lambda: all_status(node, [iid], "Running"), 600)
    out = console_with(node, iid, "E2E-DONE", 900)
    inst = describe(node, [iid])[iid]
    addr = inst["VpcAttributes"]["PrivateIpAddress"]["IpAddress"][0]
    assert f"E2E-USERDATA host={inst['HostName']} addr={addr}" in out, out[-3000:]
    assert f"E2E-DISK vdc {30 * GIB_SECTORS}" in out
    assert f"E2E-META instance-id={iid}" in out
    assert f"E2E-META user-data-lines={USER_DATA.count(chr(10))}" in out
    node.call("DeleteInstance", InstanceId=iid, Force="true")
    wait_for("deleted", lambda: describe(node, [iid]) == {}, 300)
    node.call("DeleteSecurityGroup", RegionId=node.region, SecurityGroupId=sg)
    node.call("DeleteVSwitch", "2016-04-28", RegionId=node.region, VSwitchId=vsw)
    node.call("DeleteVpc", "2016-04-28", RegionId=node.region, VpcId=vpc)
