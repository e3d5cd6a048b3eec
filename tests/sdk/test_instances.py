"""Instances through the official ECS SDK (both signatures), the legacy core SDK and hand-signed
requests: CreateInstance and RunInstances with their records and files (disks, seed volume),
every rejection rule with its exact code and HTTP status (and nothing created), ClientToken
replay, DryRun, the status/intent transitions the supervisor relies on, describe/modify views,
DeleteInstance with DeleteWithInstance, and concurrent launches never sharing an address.

No supervisor runs here: instances never reach Running. RunInstances' record is Pending with
intent 'start', which is what these tests check.

Capacity budget: instances that are not Stopped hold host capacity for good here (nothing moves
them on), and a 2-core host offers 8 vCPUs (cpu_overcommit 4). The tests leave at most 7 such
1-vCPU instances per server: test_defaults_and_attribute 2, test_run_instances 3, the concurrent
RunInstances 2; capacity-dependent checks (DryRun of RunInstances) need 1 more. test_public_ip.py,
which runs after this file, starts 1 more (its IncorrectInstanceStatus checks)."""

import base64
import ipaddress
import json
import random
import sqlite3
import subprocess
import threading
import uuid

import pytest
from Tea.exceptions import TeaException
from alibabacloud_ecs20140526 import models as m

GIB = 1 << 30
IMAGE_ID = "hearth-test-img"
IMAGE_GIB = 1
PUBLIC_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl test@hearth"


def uniq(prefix="t"):
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def refused(call, code, status):
    with pytest.raises(TeaException) as e:
        call()
    assert e.value.code == code, e.value.message
    assert e.value.status_code == status, (e.value.code, e.value.message)
    return e.value


def install_image(data_dir):
    """A 1 GiB sparse raw image with data at its start and end, in the image store."""
    images = data_dir / "images"
    images.mkdir(exist_ok=True)
    raw = images / "test.raw"
    if not raw.exists():
        with open(raw, "wb") as f:
            f.write(b"\xeb\x63\x90hearth-test-image" + b"\x01" * 4096)
            f.seek(IMAGE_GIB * GIB - 4096)
            f.write(b"\x02" * 4096)
    manifest = {"images": [{"id": IMAGE_ID, "name": "test image", "os_name": "Test Linux 1", "os_type": "linux",
                            "platform": "Busybox", "architecture": "x86_64", "size_gib": IMAGE_GIB, "file": "test.raw"}]}
    (images / "manifest.json").write_text(json.dumps(manifest))


class Env:
    pass


@pytest.fixture(scope="module")
def env(hearth):
    """An image, a VPC with a /24 VSwitch, a security group and a key pair."""
    install_image(hearth.data_dir)
    e = Env()
    e.hearth = hearth
    e.region = hearth.region
    call = hearth.call_legacy
    e.zone = call("DescribeZones", "2014-05-26", RegionId=e.region)["Zones"]["Zone"][0]["ZoneId"]
    second = random.randint(0, 255)
    e.vpc_id = call("CreateVpc", "2016-04-28", RegionId=e.region, CidrBlock=f"10.{second}.0.0/16")["VpcId"]
    e.cidr = f"10.{second}.1.0/24"
    e.vswitch_id = call("CreateVSwitch", "2016-04-28", RegionId=e.region, ZoneId=e.zone, VpcId=e.vpc_id,
                        CidrBlock=e.cidr)["VSwitchId"]
    e.sg_id = call("CreateSecurityGroup", "2014-05-26", RegionId=e.region, VpcId=e.vpc_id)["SecurityGroupId"]
    e.key_name = uniq("key")
    call("ImportKeyPair", "2014-05-26", RegionId=e.region, KeyPairName=e.key_name, PublicKeyBody=PUBLIC_KEY)
    e.other_vpc = call("CreateVpc", "2016-04-28", RegionId=e.region, CidrBlock="192.168.0.0/16")["VpcId"]
    e.other_sg = call("CreateSecurityGroup", "2014-05-26", RegionId=e.region, VpcId=e.other_vpc)["SecurityGroupId"]
    return e


def small_vswitch(env):
    """A fresh /29 VSwitch (3 usable addresses) in the env's VPC."""
    third = random.randint(2, 250)
    fourth = random.randrange(0, 256, 8)
    return env.hearth.call_legacy("CreateVSwitch", "2016-04-28", RegionId=env.region, ZoneId=env.zone,
                                  VpcId=env.vpc_id, CidrBlock=f"10.{env.cidr.split('.')[1]}.{third}.{fourth}/29")["VSwitchId"]


def create_request(env, **kw):
    args = dict(region_id=env.region, image_id=IMAGE_ID, instance_type="ecs.t6.small",
                security_group_id=env.sg_id, v_switch_id=env.vswitch_id, instance_name=uniq("vm"))
    args.update(kw)
    return m.CreateInstanceRequest(**args)


def run_request(env, **kw):
    args = dict(region_id=env.region, image_id=IMAGE_ID, instance_type="ecs.t6.small",
                security_group_id=env.sg_id, v_switch_id=env.vswitch_id, instance_name=uniq("vm"))
    args.update(kw)
    return m.RunInstancesRequest(**args)


def describe(ecs, env, **kw):
    return ecs.describe_instances(m.DescribeInstancesRequest(region_id=env.region, **kw)).body


def one(ecs, env, instance_id):
    body = describe(ecs, env, instance_ids=json.dumps([instance_id]))
    assert body.total_count == 1
    return body.instances.instance[0]


def disks_of(ecs, env, instance_id):
    body = ecs.describe_disks(m.DescribeDisksRequest(region_id=env.region, instance_id=instance_id)).body
    return sorted(body.disks.disk, key=lambda d: d.device)


def files(env):
    """Every file under data_dir/disks and data_dir/instances."""
    out = set()
    for sub in ("disks", "instances"):
        root = env.hearth.data_dir / sub
        if root.exists():
            out |= {str(p) for p in root.rglob("*")}
    return out


def intent_of(env, instance_id):
    """The supervisor-facing intent column (readable directly on SQLite only)."""
    db = env.hearth.data_dir / "hearth.db"
    if not db.exists():
        return None
    with sqlite3.connect(db) as c:
        row = c.execute("SELECT status, intent FROM instances WHERE id = ?", (instance_id,)).fetchone()
    return row


def delete(ecs, env, instance_id, force=False):
    ecs.delete_instance(m.DeleteInstanceRequest(instance_id=instance_id, force=force))


# ---- CreateInstance: records and files ----------------------------------------------------


def test_create_instance_records_and_files(ecs, env):
    user_data = base64.b64encode(b"#!/bin/sh\necho hello from user data\n").decode()
    req = create_request(
        env, instance_type="ecs.g7.large", host_name="web-1.example", description="a test instance",
        key_pair_name=env.key_name, password="TestEcs123!", user_data=user_data,
        system_disk=m.CreateInstanceRequestSystemDisk(category="cloud_essd", size=25, performance_level="PL0"),
        data_disk=[
            m.CreateInstanceRequestDataDisk(category="cloud_ssd", size=20, disk_name="data-one"),
            m.CreateInstanceRequestDataDisk(category="cloud", size=5, delete_with_instance=False),
        ],
        tag=[m.CreateInstanceRequestTag(key="team", value="blue")],
    )
    iid = ecs.create_instance(req).body.instance_id
    assert iid.startswith("i-")
    i = one(ecs, env, iid)
    assert (i.status, i.instance_type, i.instance_type_family) == ("Stopped", "ecs.g7.large", "ecs.g7")
    assert (i.cpu, i.memory) == (2, 8192)  # Memory in MiB
    assert (i.host_name, i.description, i.image_id) == ("web-1.example", "a test instance", IMAGE_ID)
    assert (i.osname, i.ostype) == ("Test Linux 1", "linux")
    assert (i.vpc_attributes.vpc_id, i.vpc_attributes.v_switch_id) == (env.vpc_id, env.vswitch_id)
    ip = i.vpc_attributes.private_ip_address.ip_address[0]
    net = ipaddress.ip_network(env.cidr)
    assert ipaddress.ip_address(ip) in net and ip not in (str(net[0]), str(net[1]))
    assert i.security_group_ids.security_group_id == [env.sg_id]
    assert i.key_pair_name == env.key_name and i.zone_id == env.zone
    nic = i.network_interfaces.network_interface[0]
    assert nic.mac_address.startswith("00:16:3e:") and nic.primary_ip_address == ip
    assert [(t.tag_key, t.tag_value) for t in i.tags.tag] == [("team", "blue")]
    assert i.instance_network_type == "vpc" and i.io_optimized is True
    assert i.metadata_options.http_endpoint == "enabled"
    assert i.creation_time.endswith("Z") and i.expired_time == "2099-12-31T15:59Z"

    disks = disks_of(ecs, env, iid)
    assert [(d.device, d.type, d.category, d.size) for d in disks] == [
        ("/dev/xvda", "system", "cloud_essd", 25), ("/dev/xvdb", "data", "cloud_ssd", 20), ("/dev/xvdc", "data", "cloud", 5)]
    assert disks[0].performance_level == "PL0" and disks[0].image_id == IMAGE_ID
    assert disks[1].disk_name == "data-one" and [d.delete_with_instance for d in disks] == [True, True, False]
    assert all(d.status == "In_use" and d.instance_id == iid for d in disks)
    for d in disks:
        path = env.hearth.data_dir / "disks" / f"{d.disk_id}.raw"
        assert path.stat().st_size == d.size * GIB, d.device
    with open(env.hearth.data_dir / "disks" / f"{disks[0].disk_id}.raw", "rb") as f:
        system = f.read(64)
    assert b"hearth-test-image" in system  # a clone of the image

    seed = env.hearth.data_dir / "instances" / iid / "seed.img"
    assert seed.exists()
    mtype = lambda name: subprocess.run(["mtype", "-i", str(seed), f"::{name}"], capture_output=True,
                                        env={"MTOOLS_SKIP_CHECK": "1", "PATH": "/usr/bin:/bin"}).stdout.decode()
    try:
        meta = mtype("meta-data")
    except FileNotFoundError:
        meta = None
    if meta is not None:
        assert f'instance-id: "{iid}"' in meta and 'local-hostname: "web-1.example"' in meta
        assert PUBLIC_KEY.rsplit(" ", 1)[0] in meta  # key pairs keep type and key, not the comment
        assert mtype("user-data") == "#!/bin/sh\necho hello from user data\n"
        network = mtype("network-config")
        assert f"- {ip}/24" in network and f"gateway4: {net[1]}" in network and nic.mac_address in network
        vendor = mtype("vendor-data")
        assert "$6$" in vendor and "TestEcs123!" not in vendor

    ud = ecs.describe_user_data(m.DescribeUserDataRequest(region_id=env.region, instance_id=iid)).body
    assert (ud.instance_id, ud.user_data) == (iid, user_data)
    console = ecs.get_instance_console_output(m.GetInstanceConsoleOutputRequest(region_id=env.region, instance_id=iid)).body
    assert console.console_output == ""  # never ran
    (env.hearth.data_dir / "instances" / iid / "console.log").write_bytes(b"x" * 70000 + b"booted\n")
    console = ecs.get_instance_console_output(m.GetInstanceConsoleOutputRequest(region_id=env.region, instance_id=iid)).body
    tail = base64.b64decode(console.console_output)
    assert len(tail) == 64 * 1024 and tail.endswith(b"booted\n") and console.last_update_time.endswith("Z")

    # DeleteInstance of a Stopped instance: files go per DeleteWithInstance, the kept disk stays.
    delete(ecs, env, iid)
    refused(lambda: one(ecs, env, iid) if describe(ecs, env, instance_ids=json.dumps([iid])).total_count else
            ecs.describe_instance_attribute(m.DescribeInstanceAttributeRequest(instance_id=iid)),
            "InvalidInstanceId.NotFound", 404)
    assert not (env.hearth.data_dir / "instances" / iid).exists()
    assert not (env.hearth.data_dir / "disks" / f"{disks[0].disk_id}.raw").exists()
    assert not (env.hearth.data_dir / "disks" / f"{disks[1].disk_id}.raw").exists()
    assert (env.hearth.data_dir / "disks" / f"{disks[2].disk_id}.raw").exists()
    kept = ecs.describe_disks(m.DescribeDisksRequest(region_id=env.region, disk_ids=json.dumps([disks[2].disk_id]))).body
    assert kept.total_count == 1 and kept.disks.disk[0].status == "Available" and kept.disks.disk[0].instance_id == ""


def test_defaults_and_attribute(ecs, env):
    iid = ecs.create_instance(create_request(env, instance_name=None)).body.instance_id
    try:
        i = one(ecs, env, iid)
        assert i.instance_name == iid and i.host_name == iid
        d = disks_of(ecs, env, iid)
        assert [(x.category, x.size) for x in d] == [("cloud_efficiency", 40)]  # max(40, image size)
        a = ecs.describe_instance_attribute(m.DescribeInstanceAttributeRequest(instance_id=iid)).body
        assert (a.instance_id, a.status, a.memory, a.cpu) == (iid, "Stopped", 1024, 1)
        assert a.vpc_attributes.v_switch_id == env.vswitch_id
        st = ecs.describe_instance_status(m.DescribeInstanceStatusRequest(region_id=env.region, instance_id=[iid])).body
        assert [(s.instance_id, s.status) for s in st.instance_statuses.instance_status] == [(iid, "Stopped")]
        # ModifyInstanceAttribute and ModifyInstanceMetadataOptions.
        ecs.modify_instance_attribute(m.ModifyInstanceAttributeRequest(
            instance_id=iid, instance_name="renamed-vm", description="new words", host_name="new-host",
            deletion_protection=True))
        i = one(ecs, env, iid)
        assert (i.instance_name, i.description, i.host_name, i.deletion_protection) == ("renamed-vm", "new words", "new-host", True)
        refused(lambda: delete(ecs, env, iid), "InvalidOperation.DeletionProtection", 403)
        ecs.modify_instance_attribute(m.ModifyInstanceAttributeRequest(instance_id=iid, deletion_protection=False))
        refused(lambda: ecs.modify_instance_attribute(m.ModifyInstanceAttributeRequest(instance_id=iid, host_name="-bad")),
                "InvalidHostName.Malformed", 400)
        ecs.modify_instance_metadata_options(m.ModifyInstanceMetadataOptionsRequest(
            region_id=env.region, instance_id=iid, http_tokens="required", http_put_response_hop_limit=2))
        mo = one(ecs, env, iid).metadata_options
        assert (mo.http_tokens, mo.http_put_response_hop_limit, mo.http_endpoint) == ("required", 2, "enabled")
        refused(lambda: ecs.modify_instance_metadata_options(m.ModifyInstanceMetadataOptionsRequest(
            region_id=env.region, instance_id=iid, http_tokens="always")), "InvalidHttpTokens.NotSupported", 400)
        # Stop/Reboot of a Stopped instance are wrong-state errors.
        refused(lambda: ecs.stop_instance(m.StopInstanceRequest(instance_id=iid)), "IncorrectInstanceStatus", 403)
        refused(lambda: ecs.reboot_instance(m.RebootInstanceRequest(instance_id=iid)), "IncorrectInstanceStatus", 403)
        # StartInstance: Stopped -> Starting with intent 'start'; then Delete needs Force.
        refused(lambda: ecs.start_instance(m.StartInstanceRequest(instance_id=iid, dry_run=True)), "DryRunOperation", 400)
        assert one(ecs, env, iid).status == "Stopped"
        ecs.start_instance(m.StartInstanceRequest(instance_id=iid))
        assert one(ecs, env, iid).status == "Starting"
        assert intent_of(env, iid) in (None, ("Starting", "start"))
        refused(lambda: ecs.start_instance(m.StartInstanceRequest(instance_id=iid)), "IncorrectInstanceStatus", 403)
        ecs.stop_instance(m.StopInstanceRequest(instance_id=iid, force_stop=True, stopped_mode="StopCharging"))
        i = one(ecs, env, iid)
        assert (i.status, i.stopped_mode) == ("Stopping", "StopCharging")
        assert intent_of(env, iid) in (None, ("Stopping", "force_stop"))
        refused(lambda: delete(ecs, env, iid), "IncorrectInstanceStatus", 403)
    finally:
        if one(ecs, env, iid).status == "Stopped":
            delete(ecs, env, iid)
        else:
            delete(ecs, env, iid, force=True)
    if intent_of(env, iid) is not None:
        assert intent_of(env, iid) == ("Stopping", "delete")


# ---- RunInstances ---------------------------------------------------------------------------


def test_run_instances_pending_with_start_intent(ecs, env, signature):
    name = uniq("web")
    # Two instances with one signature, one with the other (see the capacity budget above).
    amount = 2 if signature == "acs3" else 1
    body = ecs.run_instances(run_request(env, amount=amount, instance_name=f"{name}-[1,2]", host_name="node-[7,3]",
                                         data_disk=[m.RunInstancesRequestDataDisk(size=30)])).body
    ids = body.instance_id_sets.instance_id_set
    assert len(ids) == amount
    got = describe(ecs, env, instance_ids=json.dumps(ids))
    listed = sorted(got.instances.instance, key=lambda i: i.instance_name)
    assert [i.instance_name for i in listed] == [f"{name}-01", f"{name}-02"][:amount]
    assert [i.host_name for i in listed] == ["node-007", "node-008"][:amount]
    assert {i.status for i in listed} == {"Pending"}
    ips = [i.vpc_attributes.private_ip_address.ip_address[0] for i in listed]
    assert len(set(ips)) == amount
    for iid in ids:
        assert intent_of(env, iid) in (None, ("Pending", "start"))
        assert [d.size for d in disks_of(ecs, env, iid)] == [40, 30]
    # Filters and paging.
    assert describe(ecs, env, instance_name=f"{name}-01").total_count == 1
    assert describe(ecs, env, status="Pending", instance_ids=json.dumps(ids)).total_count == amount
    assert describe(ecs, env, status="Stopped", instance_ids=json.dumps(ids)).total_count == 0
    assert describe(ecs, env, v_switch_id=env.vswitch_id, vpc_id=env.vpc_id, zone_id=env.zone,
                    instance_ids=json.dumps(ids)).total_count == amount
    if amount == 2:
        page = describe(ecs, env, instance_ids=json.dumps(ids), page_size=1, page_number=2)
        assert (page.total_count, page.page_number, page.page_size, len(page.instances.instance)) == (2, 2, 1, 1)
        first = describe(ecs, env, instance_ids=json.dumps(ids), max_results=1)
        assert len(first.instances.instance) == 1 and first.next_token
        second = describe(ecs, env, instance_ids=json.dumps(ids), max_results=1, next_token=first.next_token)
        assert second.instances.instance[0].instance_id != first.instances.instance[0].instance_id
        assert second.next_token == ""
    # Pending: not Stopped, so DeleteInstance needs Force; Force hands it to the supervisor.
    refused(lambda: delete(ecs, env, ids[0]), "IncorrectInstanceStatus", 403)
    ecs.delete_instances(m.DeleteInstancesRequest(region_id=env.region, instance_id=ids, force=True))
    assert {i.status for i in describe(ecs, env, instance_ids=json.dumps(ids)).instances.instance} == {"Stopping"}
    for iid in ids:
        assert intent_of(env, iid) in (None, ("Stopping", "delete"))


def test_run_instances_unique_suffix_and_tag_filter(legacy, env):
    name, tag = uniq("sfx"), uniq("tag")
    out = legacy("CreateInstance", RegionId=env.region, ImageId=IMAGE_ID, InstanceType="ecs.t6.small",
                 SecurityGroupId=env.sg_id, VSwitchId=env.vswitch_id, InstanceName=name,
                 **{"Tag.1.Key": "suite", "Tag.1.Value": tag, "Tag.2.key": "old", "Tag.2.value": "spelling"})
    iid = out["InstanceId"]
    listed = legacy("DescribeInstances", RegionId=env.region, **{"Tag.1.Key": "suite", "Tag.1.Value": tag})
    assert [i["InstanceId"] for i in listed["Instances"]["Instance"]] == [iid]
    inst = listed["Instances"]["Instance"][0]
    assert inst["Memory"] == 1024 and inst["Status"] == "Stopped"
    assert {(t["TagKey"], t["TagValue"]) for t in inst["Tags"]["Tag"]} == {("suite", tag), ("old", "spelling")}
    assert inst["VpcAttributes"]["PrivateIpAddress"]["IpAddress"][0]
    legacy("DeleteInstance", InstanceId=iid)
    assert legacy("DescribeInstances", RegionId=env.region, InstanceIds=json.dumps([iid]))["TotalCount"] == 0


# ---- Rejections: exact codes, nothing created -----------------------------------------------

B64 = lambda b: base64.b64encode(b).decode()

REJECTIONS = [
    ("no image", dict(image_id=None), "MissingParameter", 400),
    ("unknown image", dict(image_id="no-such-image"), "InvalidImageId.NotFound", 404),
    ("unknown type", dict(instance_type="ecs.x9.huge"), "InvalidInstanceType.ValueNotSupported", 400),
    ("unknown zone", dict(zone_id="nowhere-z"), "InvalidZoneId.NotFound", 404),
    ("no vswitch", dict(v_switch_id=None), "MissingParameter", 400),
    ("unknown vswitch", dict(v_switch_id="vsw-nothere"), "InvalidVSwitchId.NotFound", 404),
    ("unknown group", dict(security_group_id="sg-nothere"), "InvalidSecurityGroupId.NotFound", 404),
    ("system disk too small", dict(system_disk=m.CreateInstanceRequestSystemDisk(size=19)), "InvalidSystemDiskSize.LessThanMinSize", 404),
    ("cloud system disk too big", dict(system_disk=m.CreateInstanceRequestSystemDisk(category="cloud", size=501)), "InvalidSystemDiskSize.MoreThanMaxSize", 404),
    ("system disk too big", dict(system_disk=m.CreateInstanceRequestSystemDisk(size=2049)), "InvalidSystemDiskSize.MoreThanMaxSize", 404),
    ("system category", dict(system_disk=m.CreateInstanceRequestSystemDisk(category="tape")), "InvalidSystemDiskCategory.ValueNotSupported", 400),
    ("cloud data disk small", dict(data_disk=[m.CreateInstanceRequestDataDisk(category="cloud", size=4)]), "InvalidDataDiskSize.ValueNotSupported", 400),
    ("cloud data disk big", dict(data_disk=[m.CreateInstanceRequestDataDisk(category="cloud", size=2001)]), "InvalidDataDiskSize.ValueNotSupported", 400),
    ("ssd data disk small", dict(data_disk=[m.CreateInstanceRequestDataDisk(category="cloud_ssd", size=19)]), "InvalidDataDiskSize.ValueNotSupported", 400),
    ("efficiency data disk big", dict(data_disk=[m.CreateInstanceRequestDataDisk(category="cloud_efficiency", size=32769)]), "InvalidDataDiskSize.ValueNotSupported", 400),
    ("local ssd too big", dict(system_disk=m.CreateInstanceRequestSystemDisk(category="ephemeral_ssd"),
                               data_disk=[m.CreateInstanceRequestDataDisk(category="ephemeral_ssd", size=801)]), "InvalidDataDiskSize.ValueNotSupported", 400),
    ("local ssd with cloud system", dict(data_disk=[m.CreateInstanceRequestDataDisk(category="ephemeral_ssd", size=100)]), "InvalidDiskCategory.Mismatch", 403),
    ("local ssd over 1 TiB", dict(system_disk=m.CreateInstanceRequestSystemDisk(category="ephemeral_ssd"),
                                  data_disk=[m.CreateInstanceRequestDataDisk(category="ephemeral_ssd", size=800),
                                             m.CreateInstanceRequestDataDisk(category="ephemeral_ssd", size=300)]), "InstanceDiskCategoryLimitExceed", 403),
    ("17 data disks", dict(data_disk=[m.CreateInstanceRequestDataDisk(size=20)] * 17), "InstanceDiskNumber.LimitExceed", 400),
    ("essd PL mismatch", dict(data_disk=[m.CreateInstanceRequestDataDisk(category="cloud_essd", performance_level="PL3", size=100)]), "OperationDenied.PerformanceLevelNotMatch", 403),
    ("bad disk name", dict(data_disk=[m.CreateInstanceRequestDataDisk(size=20, disk_name="1bad")]), "InvalidDiskName.Malformed", 400),
    ("bad disk description", dict(system_disk=m.CreateInstanceRequestSystemDisk(description="http://x")), "InvalidDiskDescription.Malformed", 400),
    ("snapshot", dict(data_disk=[m.CreateInstanceRequestDataDisk(size=20, snapshot_id="s-1")]), "InvalidDataDiskSnapshotId.NotFound", 404),
    ("private ip outside", dict(private_ip_address="192.168.77.7"), "InvalidPrivateIpAddress", 400),
    ("private ip gateway", dict(private_ip_address="GATEWAY"), "InvalidPrivateIpAddress", 400),
    ("private ip malformed", dict(private_ip_address="10.1.2"), "InvalidPrivateIpAddress.Malformed", 400),
    ("group in another vpc", dict(security_group_id="OTHER_SG"), "InvalidParameter.Mismatch", 400),
    ("host name", dict(host_name="bad..host"), "InvalidHostName.Malformed", 400),
    ("host name long", dict(host_name="h" * 65), "InvalidHostName.Malformed", 400),
    ("instance name", dict(instance_name="9starts-with-digit"), "InvalidInstanceName.Malformed", 400),
    ("description", dict(description="https://example.com"), "InvalidDescription.Malformed", 400),
    ("password", dict(password="weakpassword"), "InvalidPassword.Malformed", 400),
    ("password inherit", dict(password="TestEcs123!", password_inherit=True), "InvalidPasswordParam.Mismatch", 400),
    ("key pair", dict(key_pair_name="no-such-key"), "InvalidKeyPairName.NotFound", 404),
    ("user data base64", dict(user_data="!!!not-base64!!!"), "InvalidUserData.Base64FormatInvalid", 403),
    ("user data size", dict(user_data=B64(b"a" * (32 * 1024 + 1))), "InvalidUserData.SizeExceeded", 400),
    ("tag key", dict(tag=[m.CreateInstanceRequestTag(key="aliyun:x", value="v")]), "InvalidTagKey.Malformed", 400),
    ("dedicated host", dict(dedicated_host_id="dh-1"), "InvalidDedicatedHostId.NotFound", 400),
    ("hpc cluster", dict(hpc_cluster_id="hpc-1"), "InvalidHpcClusterId.NotFound", 400),
    ("deployment set", dict(deployment_set_id="ds-1"), "InvalidDeploymentSetId.NotFound", 400),
    ("ram role", dict(ram_role_name="role"), "InvalidRamRole.NotFound", 404),
    ("storage set", dict(storage_set_id="ss-1"), "InvalidParameter.StorageSetId", 403),
    ("charge type", dict(instance_charge_type="Free"), "InvalidInstanceChargeType.NotFound", 404),
    ("prepaid period", dict(instance_charge_type="PrePaid", period=5), "InvalidPeriod", 400),
    ("bandwidth", dict(internet_max_bandwidth_out=101), "InvalidInternetMaxBandwidthOut.Malformed", 400),
    ("spot strategy", dict(spot_strategy="Cheap"), "InvalidSpotStrategy", 400),
    ("protection on spot", dict(spot_strategy="SpotAsPriceGo", deletion_protection=True), "InvalidChargeType.ValueNotSupported", 403),
    ("metadata", dict(http_endpoint="maybe"), "InvalidHttpEndpoint.NotSupported", 400),
]


@pytest.mark.parametrize("case", REJECTIONS, ids=[c[0] for c in REJECTIONS])
def test_create_rejections(ecs, env, case):
    _, kw, code, status = case
    kw = dict(kw)
    if kw.get("security_group_id") == "OTHER_SG":
        kw["security_group_id"] = env.other_sg
    if kw.get("private_ip_address") == "GATEWAY":
        kw["private_ip_address"] = str(ipaddress.ip_network(env.cidr)[1])
    name = uniq("rej")
    kw.setdefault("instance_name", name)
    before = files(env)
    refused(lambda: ecs.create_instance(create_request(env, **kw)), code, status)
    assert files(env) == before
    assert describe(ecs, env, instance_name=name).total_count == 0


RUN_REJECTIONS = [
    ("amount 0", dict(amount=0), "InvalidParameter", 400),
    ("amount 101", dict(amount=101), "InvalidParameter", 400),
    ("min amount above amount", dict(amount=2, min_amount=3), "InvalidParameter", 400),
    ("launch template", dict(launch_template_id="lt-1"), "InvalidLaunchTemplate.NotFound", 404),
    ("user data over 16 KiB", dict(user_data=B64(b"a" * (16 * 1024 + 1))), "InvalidUserData.SizeExceeded", 400),
    ("auto release too soon", dict(auto_release_time="2000-01-01T00:00:00Z"), "InvalidAutoReleaseTime.Malformed", 400),
    ("auto release malformed", dict(auto_release_time="tomorrow"), "InvalidAutoReleaseTime.Malformed", 400),
    ("no stock", dict(instance_type="ecs.r7.8xlarge", amount=100), "OperationDenied.NoStock", 403),
    ("ip with amount", dict(amount=2, private_ip_address="IP"), "InvalidParameter", 400),
]


@pytest.mark.parametrize("case", RUN_REJECTIONS, ids=[c[0] for c in RUN_REJECTIONS])
def test_run_rejections(ecs, env, case):
    _, kw, code, status = case
    kw = dict(kw)
    if kw.get("private_ip_address") == "IP":
        kw["private_ip_address"] = str(ipaddress.ip_network(env.cidr)[200])
    name = uniq("rej")
    before = files(env)
    refused(lambda: ecs.run_instances(run_request(env, instance_name=name, **kw)), code, status)
    assert files(env) == before
    assert describe(ecs, env, instance_name=name).total_count == 0


def test_dry_run_and_client_token(ecs, env):
    name = uniq("dry")
    before = files(env)
    refused(lambda: ecs.create_instance(create_request(env, instance_name=name, dry_run=True)), "DryRunOperation", 400)
    # DryRun comes after every check: a bad parameter still gives its own code.
    refused(lambda: ecs.create_instance(create_request(env, instance_name=name, dry_run=True, host_name="-x")),
            "InvalidHostName.Malformed", 400)
    refused(lambda: ecs.run_instances(run_request(env, instance_name=name, dry_run=True)), "DryRunOperation", 400)
    assert files(env) == before and describe(ecs, env, instance_name=name).total_count == 0

    token = uuid.uuid4().hex
    ip = str(ipaddress.ip_network(env.cidr)[random.randint(100, 199)])
    first = ecs.create_instance(create_request(env, instance_name=name, client_token=token, private_ip_address=ip)).body.instance_id
    again = ecs.create_instance(create_request(env, instance_name=name, client_token=token, private_ip_address=ip)).body.instance_id
    assert again == first
    assert describe(ecs, env, instance_name=name).total_count == 1
    assert one(ecs, env, first).vpc_attributes.private_ip_address.ip_address == [ip]
    refused(lambda: ecs.create_instance(create_request(env, instance_name=name + "x", client_token=token)),
            "IdempotentParameterMismatch", 400)
    # The address is taken now.
    refused(lambda: ecs.create_instance(create_request(env, private_ip_address=ip)), "InvalidPrivateIpAddress.Duplicated", 400)
    delete(ecs, env, first)


def test_concurrent_launches_never_share_an_address(env):
    """Six concurrent CreateInstance on a /29 VSwitch (3 usable addresses): three succeed with
    their own addresses, the rest fail cleanly; two concurrent RunInstances on another /29 get
    different addresses (only two, because Pending instances hold host capacity and no
    supervisor runs here to move them on)."""
    call = env.hearth.call_legacy

    def launch(action, vsw, results):
        try:
            out = call(action, "2014-05-26", RegionId=env.region, ImageId=IMAGE_ID, InstanceType="ecs.t6.small",
                       SecurityGroupId=env.sg_id, VSwitchId=vsw)
            results.append(out.get("InstanceId") or out["InstanceIdSets"]["InstanceIdSet"][0])
        except Exception as e:  # noqa: BLE001 - the error text carries the code
            results.append(e)

    for action, count, fit in (("CreateInstance", 6, 3), ("RunInstances", 2, 2)):
        vsw = small_vswitch(env)
        results = []
        threads = [threading.Thread(target=launch, args=(action, vsw, results)) for _ in range(count)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        ids = [r for r in results if isinstance(r, str)]
        errors = [r for r in results if not isinstance(r, str)]
        assert len(ids) == fit, results
        assert all("QuotaExceeded.PrivateIpAddress" in str(e) for e in errors), errors
        listed = call("DescribeInstances", "2014-05-26", RegionId=env.region, VSwitchId=vsw)["Instances"]["Instance"]
        ips = [i["VpcAttributes"]["PrivateIpAddress"]["IpAddress"][0] for i in listed]
        assert len(ips) == fit and len(set(ips)) == fit
        # The VSwitch cannot go while it has instances.
        with pytest.raises(Exception) as e:
            call("DeleteVSwitch", "2016-04-28", RegionId=env.region, VSwitchId=vsw)
        assert "DependencyViolation" in str(e.value)
        if action == "CreateInstance":
            call("DeleteInstances", "2014-05-26", RegionId=env.region, **{f"InstanceId.{n + 1}": i for n, i in enumerate(ids)})
            call("DeleteVSwitch", "2016-04-28", RegionId=env.region, VSwitchId=vsw)


def test_security_group_in_use(ecs, env):
    sg = env.hearth.call_legacy("CreateSecurityGroup", "2014-05-26", RegionId=env.region, VpcId=env.vpc_id)["SecurityGroupId"]
    iid = ecs.create_instance(create_request(env, security_group_id=sg)).body.instance_id
    groups = ecs.describe_security_groups(m.DescribeSecurityGroupsRequest(region_id=env.region, security_group_id=sg)).body
    assert groups.security_groups.security_group[0].ecs_count == 1
    refused(lambda: ecs.delete_security_group(m.DeleteSecurityGroupRequest(region_id=env.region, security_group_id=sg)),
            "DependencyViolation", 403)
    delete(ecs, env, iid)
    ecs.delete_security_group(m.DeleteSecurityGroupRequest(region_id=env.region, security_group_id=sg))


def test_not_found(ecs, env, raw):
    refused(lambda: ecs.describe_instance_attribute(m.DescribeInstanceAttributeRequest(instance_id="i-nothere")),
            "InvalidInstanceId.NotFound", 404)
    refused(lambda: ecs.start_instance(m.StartInstanceRequest(instance_id="i-nothere")), "InvalidInstanceId.NotFound", 404)
    refused(lambda: ecs.describe_user_data(m.DescribeUserDataRequest(region_id=env.region, instance_id="i-nothere")),
            "InvalidInstanceId.NotFound", 404)
    r = raw.call("DescribeInstances", "2014-05-26", RegionId=env.region, Status="Sleeping")
    assert r.status == 400 and r.json()["Code"] == "InvalidParameter"
    r = raw.call("DescribeInstances", "2014-05-26", RegionId="nowhere")
    assert r.status == 404 and r.json()["Code"] == "InvalidRegionId.NotFound"


def test_batch_actions(ecs, env):
    """StartInstances/StopInstances/RebootInstances: AllTogether is all or nothing, SuccessFirst
    reports each instance's own result."""
    ids = [ecs.create_instance(create_request(env)).body.instance_id for _ in range(2)]
    try:
        refused(lambda: ecs.start_instances(m.StartInstancesRequest(region_id=env.region, instance_id=ids + ["i-nothere"])),
                "InvalidInstanceId.NotFound", 404)
        refused(lambda: ecs.stop_instances(m.StopInstancesRequest(region_id=env.region, instance_id=ids, dry_run=True)),
                "IncorrectInstanceStatus", 403)  # the checks come before DryRun's answer
        refused(lambda: ecs.reboot_instances(m.RebootInstancesRequest(region_id=env.region, instance_id=ids)),
                "IncorrectInstanceStatus", 403)
        body = ecs.stop_instances(m.StopInstancesRequest(region_id=env.region, instance_id=ids,
                                                         batch_optimization="SuccessFirst")).body
        got = sorted((r.instance_id, r.code) for r in body.instance_responses.instance_response)
        assert got == sorted((i, "IncorrectInstanceStatus") for i in ids)
        assert {one(ecs, env, i).status for i in ids} == {"Stopped"}
        refused(lambda: ecs.stop_instances(m.StopInstancesRequest(region_id=env.region, instance_id=ids,
                                                                  batch_optimization="Sometimes")), "InvalidParameter", 400)
        # DescribeDisks filters.
        d = ecs.describe_disks(m.DescribeDisksRequest(region_id=env.region, instance_id=ids[0], disk_type="system")).body
        assert d.total_count == 1 and d.disks.disk[0].device == "/dev/xvda" and d.disks.disk[0].size == 40
        d = ecs.describe_disks(m.DescribeDisksRequest(region_id=env.region, instance_id=ids[0], disk_type="data")).body
        assert d.total_count == 0
    finally:
        ecs.delete_instances(m.DeleteInstancesRequest(region_id=env.region, instance_id=ids))
    assert describe(ecs, env, instance_ids=json.dumps(ids)).total_count == 0
