"""The instance supervisor on this machine's real /dev/kvm: RunInstances launches a real
`hearth-vmm` process whose guest reaches Running, a kill -9 of `hearth serve` leaves the guest
alone and the restarted server adopts it, ForceStop ends the VMM (Stopped, with the reason in the
console output), StartInstance launches it again and a forced DeleteInstance removes VMM, records
and files. The guest is a small payload (it prints a line and halts) because a stock Linux kernel
cannot boot on every KVM (see docs on PVM); Linux guests run in the nested end-to-end tests."""

import base64
import json
import os
import shutil
import struct
import tempfile
import time
from pathlib import Path

import pytest

from conftest import Hearth
from test_instances import IMAGE_ID, install_image

MARKER = b"HEARTH-PAYLOAD-UP\n"


def payload():
    """ELF64 with one PT_LOAD at 1 MiB: print MARKER on COM1, then cli; hlt forever."""
    code = bytes([0x66, 0xBA, 0xF8, 0x03])  # mov dx, 0x3f8
    for c in MARKER:
        code += bytes([0xB0, c, 0xEE])  # mov al, c; out dx, al
    code += bytes([0xFA, 0xF4, 0xEB, 0xFC])  # cli; hlt; jmp back
    ehdr = b"\x7fELF\x02\x01\x01" + b"\0" * 9
    ehdr += struct.pack("<HHIQQQIHHHHHH", 2, 0x3E, 1, 0x100000, 64, 0, 0, 64, 56, 1, 64, 0, 0)
    phdr = struct.pack("<IIQQQQQQ", 1, 5, 0x1000, 0x100000, 0x100000, len(code), len(code), 0x1000)
    return (ehdr + phdr).ljust(0x1000, b"\0") + code


def vmm_pids(under):
    """PIDs of `hearth-vmm` processes whose config is `under` (a config file, or a directory
    holding instances' configs)."""
    pids = []
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                cmd = (d / "cmdline").read_bytes().split(b"\0")
            except OSError:
                continue
            if cmd[0].endswith(b"hearth-vmm") and any(a.startswith(str(under).encode()) for a in cmd[1:]):
                pids.append(int(d.name))
    return pids


def wait_status(h, instance_id, wanted, timeout=30):
    deadline = time.time() + timeout
    status = None
    while time.time() < deadline:
        found = h.call_legacy("DescribeInstances", "2014-05-26", RegionId=h.region,
                              InstanceIds=f'["{instance_id}"]')["Instances"]["Instance"]
        status = found[0]["Status"] if found else "gone"
        if status == wanted:
            return
        time.sleep(0.2)
    log = (h.data_dir / "serve.log").read_text()[-3000:]
    out = console(h, instance_id)[-2000:] if status != "gone" else b""
    pytest.fail(f"{instance_id} is {status}, not {wanted}, after {timeout}s\nconsole: {out!r}\nserve.log: {log}")


def console(h, instance_id):
    out = h.call_legacy("GetInstanceConsoleOutput", "2014-05-26", RegionId=h.region, InstanceId=instance_id)
    return base64.b64decode(out["ConsoleOutput"])


def clean_up(h, data):
    """Whatever the test left: its VMMs, its server and its data dir."""
    for pid in vmm_pids(data):
        os.kill(pid, 9)
    h.stop()
    shutil.rmtree(data, ignore_errors=True)


@pytest.mark.skipif(not os.access("/dev/kvm", os.R_OK | os.W_OK) or os.geteuid() != 0,
                    reason="needs root and /dev/kvm")
def test_instances_run_stop_start_delete_and_survive_a_server_crash():
    data = Path(tempfile.mkdtemp(prefix="hearth-supervisor-"))
    (data / "vmlinux").write_bytes(payload())
    install_image(data)
    h = Hearth(data_dir=data, extra_env={"HEARTH_INSTANCES": "run", "HEARTH_ACCEPT_PVM": "1"})
    try:
        call = h.call_legacy
        zone = call("DescribeZones", "2014-05-26", RegionId=h.region)["Zones"]["Zone"][0]["ZoneId"]
        vpc = call("CreateVpc", "2016-04-28", RegionId=h.region, CidrBlock="10.9.0.0/16")["VpcId"]
        vsw = call("CreateVSwitch", "2016-04-28", RegionId=h.region, ZoneId=zone, VpcId=vpc,
                   CidrBlock="10.9.1.0/24")["VSwitchId"]
        sg = call("CreateSecurityGroup", "2014-05-26", RegionId=h.region, VpcId=vpc)["SecurityGroupId"]
        ids = call("RunInstances", "2014-05-26", RegionId=h.region, ImageId=IMAGE_ID,
                   InstanceType="ecs.t6.small", SecurityGroupId=sg, VSwitchId=vsw,
                   **{"DataDisk.1.Size": 20})["InstanceIdSets"]["InstanceIdSet"]
        iid = ids[0]
        config = data / "instances" / iid / "vmm.json"
        wait_status(h, iid, "Running")
        pids = vmm_pids(config)
        assert len(pids) == 1, f"one VMM runs the instance: {pids}"
        deadline = time.time() + 10
        while MARKER.strip() not in console(h, iid) and time.time() < deadline:
            time.sleep(0.1)
        assert MARKER.strip() in console(h, iid), "the guest's console output is served"

        # kill -9 of the control plane: the guest keeps running and is adopted.
        h.kill()
        assert vmm_pids(config) == pids, "the VMM outlives hearth serve"
        h = Hearth(data_dir=data, extra_env={"HEARTH_INSTANCES": "run", "HEARTH_ACCEPT_PVM": "1"})
        call = h.call_legacy
        wait_status(h, iid, "Running")
        time.sleep(1)
        assert vmm_pids(config) == pids, "adopted, not restarted"
        assert console(h, iid).count(MARKER.strip()) == 1, "the guest did not boot again"

        call("StopInstance", "2014-05-26", InstanceId=iid, ForceStop="true")
        wait_status(h, iid, "Stopped")
        assert vmm_pids(config) == [], "ForceStop ended the VMM"
        assert b"[hearth] the VM ended" in console(h, iid), "the reason is in the console output"

        call("StartInstance", "2014-05-26", InstanceId=iid)
        wait_status(h, iid, "Running")
        started = vmm_pids(config)
        assert len(started) == 1

        # A forced reboot is a fresh VMM and a fresh boot; the instance ends Running again.
        boots = console(h, iid).count(MARKER.strip())
        call("RebootInstance", "2014-05-26", InstanceId=iid, ForceStop="true")
        deadline = time.time() + 30
        while (vmm_pids(config) in ([], started) or console(h, iid).count(MARKER.strip()) == boots) \
                and time.time() < deadline:
            time.sleep(0.2)
        wait_status(h, iid, "Running")
        rebooted = vmm_pids(config)
        assert len(rebooted) == 1 and rebooted != started, f"{started} -> {rebooted}"
        assert console(h, iid).count(MARKER.strip()) == boots + 1

        call("DeleteInstance", "2014-05-26", InstanceId=iid, Force="true")
        wait_status(h, iid, "gone")
        assert vmm_pids(config) == [], "no VMM left behind"
        assert not (data / "instances" / iid).exists(), "the instance's files are removed"
    finally:
        clean_up(h, data)


@pytest.mark.skipif(not os.access("/dev/kvm", os.R_OK | os.W_OK) or os.geteuid() != 0,
                    reason="needs root and /dev/kvm")
def test_a_launch_that_fails_is_launch_failed_through_cvm():
    """The kernel is not a kernel, so the VMM cannot start: CVM reports LAUNCH_FAILED (ECS: Stopped,
    the reason in the console output), its filter finds it and STOPPED's does not,
    StartInstances is refused with CVM's code, TerminateInstances removes it. The same instance
    after a launch that worked would be STOPPED."""
    from tencentcloud.common import credential
    from tencentcloud.common.exception.tencent_cloud_sdk_exception import TencentCloudSDKException
    from tencentcloud.cvm.v20170312 import cvm_client, errorcodes
    from tencentcloud.cvm.v20170312 import models as m

    from conftest import tencent_profile

    def request(model, **params):
        req = model()
        req.from_json_string(json.dumps(params))
        return req

    data = Path(tempfile.mkdtemp(prefix="hearth-supervisor-"))
    (data / "vmlinux").write_bytes(b"not a kernel\n" * 100)
    install_image(data)
    h = Hearth(data_dir=data, extra_env={"HEARTH_INSTANCES": "run", "HEARTH_ACCEPT_PVM": "1"})
    try:
        call = h.call_legacy
        cvm = cvm_client.CvmClient(credential.Credential(h.key_id, h.key_secret), h.region, tencent_profile(h))
        zone = call("DescribeZones", "2014-05-26", RegionId=h.region)["Zones"]["Zone"][0]["ZoneId"]
        vpc = call("CreateVpc", "2016-04-28", RegionId=h.region, CidrBlock="10.9.0.0/16")["VpcId"]
        vsw = call("CreateVSwitch", "2016-04-28", RegionId=h.region, ZoneId=zone, VpcId=vpc,
                   CidrBlock="10.9.1.0/24")["VSwitchId"]
        sg = call("CreateSecurityGroup", "2014-05-26", RegionId=h.region, VpcId=vpc)["SecurityGroupId"]
        iid = cvm.RunInstances(request(
            m.RunInstancesRequest, Placement={"Zone": zone}, ImageId=IMAGE_ID, InstanceType="T6.SMALL1",
            VirtualPrivateCloud={"VpcId": vpc, "SubnetId": vsw}, SecurityGroupIds=[sg],
        )).InstanceIdSet[0]

        def state():
            s = cvm.DescribeInstancesStatus(request(m.DescribeInstancesStatusRequest, InstanceIds=[iid]))
            return s.InstanceStatusSet[0].InstanceState

        deadline = time.time() + 30
        while state() in ("PENDING", "STARTING") and time.time() < deadline:
            time.sleep(0.2)
        assert state() == "LAUNCH_FAILED"
        described = cvm.DescribeInstances(request(m.DescribeInstancesRequest, InstanceIds=[iid])).InstanceSet
        assert described[0].InstanceState == "LAUNCH_FAILED"
        wait_status(h, iid, "Stopped")  # ECS has no such state
        assert b"the instance could not start" in console(h, iid), "the reason is in the console output"
        assert vmm_pids(data) == [], "no VMM left behind"

        def having(state):
            f = [{"Name": "instance-state", "Values": [state]}, {"Name": "vpc-id", "Values": [vpc]}]
            got = cvm.DescribeInstances(request(m.DescribeInstancesRequest, Filters=f)).InstanceSet
            return [i.InstanceId for i in got]

        assert having("LAUNCH_FAILED") == [iid]
        assert having("STOPPED") == []

        with pytest.raises(TencentCloudSDKException) as refused:
            cvm.StartInstances(request(m.StartInstancesRequest, InstanceIds=[iid]))
        assert refused.value.get_code() == errorcodes.UNSUPPORTEDOPERATION_INSTANCESTATELAUNCHFAILED
        assert iid in refused.value.get_message()
        assert state() == "LAUNCH_FAILED", "nothing was started"

        # An instance that once ran and then cannot start again is only STOPPED: the same
        # instance, launched with a real guest, stopped, and started with the kernel broken again.
        (data / "vmlinux").write_bytes(payload())
        call("StartInstance", "2014-05-26", InstanceId=iid)
        wait_status(h, iid, "Running")
        assert state() == "RUNNING"
        call("StopInstance", "2014-05-26", InstanceId=iid, ForceStop="true")
        wait_status(h, iid, "Stopped")
        (data / "vmlinux").write_bytes(b"not a kernel\n")
        call("StartInstance", "2014-05-26", InstanceId=iid)
        deadline = time.time() + 30
        while console(h, iid).count(b"the instance could not start") < 2 and time.time() < deadline:
            time.sleep(0.2)
        wait_status(h, iid, "Stopped")
        assert state() == "STOPPED"

        cvm.TerminateInstances(request(m.TerminateInstancesRequest, InstanceIds=[iid]))
        wait_status(h, iid, "gone")
        assert not (data / "instances" / iid).exists(), "the instance's files are removed"
    finally:
        clean_up(h, data)
