"""The README's main command on a host whose /dev/kvm cannot boot guests: scripts/setup asks
`hearth host-check`, and on such a host runs lab mode (scripts/lab), `hearth serve` inside an
emulated KVM host with its API forwarded. These tests drive scripts/lab as setup starts it, with
the official SDK on the forwarded port: the five calls of a first instance, a stop by Ctrl-C, and
a second start that finds the same state. Also the mistakes setup refuses before it installs or
builds anything.
"""

import base64
import os
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import pytest
from alibabacloud_ecs20140526 import models as ecs_models
from alibabacloud_vpc20160428 import models as vpc_models
from lab import REPO, Lab

MARKER = "LAB-USERDATA-MARKER"
USER_DATA = f"#!/bin/sh\necho {MARKER} $(hostname) >/dev/console\n"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def setup(env, *args):
    """scripts/setup with `env` over this environment; returns the finished process."""
    return subprocess.run(["bash", str(REPO / "scripts" / "setup"), *args], env=dict(os.environ, **env),
                          capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL)


def one_line_error(proc, *words):
    assert proc.returncode != 0, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    for word in words:
        assert word in lines[0], lines[0]
    return lines[0]


def test_setup_refuses_a_busy_port_before_touching_anything(tmp_path):
    data_dir = tmp_path / "data"
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        proc = setup({"HEARTH_LISTEN": f"127.0.0.1:{port}", "HEARTH_DATA_DIR": str(data_dir)})
    one_line_error(proc, f"port {port}", "in use", "HEARTH_LISTEN")
    assert not data_dir.exists(), "a refused setup created the data dir"


def test_setup_refuses_a_data_dir_it_cannot_write(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    proc = setup({"HEARTH_LISTEN": f"127.0.0.1:{free_port()}", "HEARTH_DATA_DIR": str(blocker / "data")})
    one_line_error(proc, "not writable", "HEARTH_DATA_DIR")


def test_setup_without_rust_says_what_to_install(tmp_path):
    path = ":".join(p for p in os.environ["PATH"].split(":") if not (Path(p) / "cargo").exists())
    proc = setup({"PATH": path, "HEARTH_DATA_DIR": str(tmp_path / "data")})
    one_line_error(proc, "cargo not found", "install Rust 1.88")
    assert not (tmp_path / "data").exists()


def test_setup_refuses_an_unknown_mode(tmp_path):
    one_line_error(setup({"HEARTH_MODE": "cloud"}), "HEARTH_MODE=cloud", "host, lab or auto")
    one_line_error(setup({}, "--fast"), "unknown option --fast")
    one_line_error(setup({"HEARTH_SKIP_GUEST": "1"}, "--lab"), "lab mode needs the guest kernel")


def cpu_has_hardware_virtualization():
    flags = [line for line in Path("/proc/cpuinfo").read_text().splitlines() if line.startswith("flags")]
    return any(f in ("vmx", "svm") for line in flags for f in line.split())


def test_host_check_tells_whether_guests_can_boot_here():
    proc = subprocess.run([os.environ["HEARTH_BIN"], "host-check"], capture_output=True, text=True)
    if not Path("/dev/kvm").exists():
        assert proc.returncode == 2
        assert proc.stdout.startswith("no /dev/kvm")
    elif Path("/sys/module/kvm_pvm").exists() and not cpu_has_hardware_virtualization():
        assert proc.returncode == 2
        assert "PVM-only" in proc.stdout
    else:
        assert proc.returncode == 0
        assert "instances run on this host" in proc.stdout


def processes_with(text):
    found = []
    for p in Path("/proc").iterdir():
        try:
            if p.name.isdigit() and text in (p / "cmdline").read_bytes().decode(errors="replace"):
                found.append(p.name)
        except OSError:
            pass
    return found


@pytest.fixture
def lab(alone):
    if os.geteuid() != 0:
        pytest.skip("lab mode needs root")
    work = Path(tempfile.mkdtemp(prefix="hearth-lab-"))
    lab = Lab(work / "data", free_port(), memory_mib=3072)
    yield lab
    lab.kill()
    subprocess.run(["rm", "-rf", "--one-file-system", str(work)], check=False)


def test_lab_mode_serves_the_first_instance_and_keeps_state_across_a_restart(lab):
    first = lab.start()
    # Credentials generated on first start are printed once, and are the stored pair.
    assert f"AccessKeyId:     {lab.key_id}" in first
    assert "instances run on this host" in (lab.data_dir / "lab" / "console.log").read_text()

    # The five calls of a first instance, through the forwarded port.
    vpc_id = lab.vpc.create_vpc(vpc_models.CreateVpcRequest(
        region_id=lab.region, cidr_block="10.30.0.0/16", vpc_name="lab")).body.vpc_id
    vsw_id = lab.vpc.create_vswitch(vpc_models.CreateVSwitchRequest(
        region_id=lab.region, vpc_id=vpc_id, zone_id="hearth-local-a", cidr_block="10.30.1.0/24")).body.v_switch_id
    sg_id = lab.ecs.create_security_group(ecs_models.CreateSecurityGroupRequest(
        region_id=lab.region, vpc_id=vpc_id, security_group_name="lab")).body.security_group_id
    started = time.time()
    [iid] = lab.ecs.run_instances(ecs_models.RunInstancesRequest(
        region_id=lab.region, zone_id="hearth-local-a", image_id="tiny-x64", instance_type="ecs.t6.small",
        security_group_id=sg_id, v_switch_id=vsw_id, internet_max_bandwidth_out=0,
        user_data=base64.b64encode(USER_DATA.encode()).decode(),
    )).body.instance_id_sets.instance_id_set
    lab.wait_for(f"{MARKER} on {iid}'s console", lambda: MARKER in lab.console_output(iid), 600)
    print(f"lab mode: RunInstances to the user-data marker in {time.time() - started:.0f}s")
    assert lab.status(iid) == "Running"

    # Ctrl-C: hearth serve, the instance's VMM and the test host end; nothing is left listening.
    assert lab.interrupt() == 0, lab.log()
    assert "lab stopped" in lab.err.read_text()
    assert "state disk unmounted" in (lab.data_dir / "lab" / "console.log").read_text()
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", lab.port), timeout=2).close()
    assert processes_with(str(lab.data_dir)) == []

    # The second start finds the same credentials (not printed again), VPC and instance, whose
    # VMM ended with the test host; it starts again from its kept disks.
    second = lab.start()
    assert "AccessKeyId" not in second
    vpcs = lab.vpc.describe_vpcs(vpc_models.DescribeVpcsRequest(region_id=lab.region)).body.vpcs.vpc
    assert [v.vpc_id for v in vpcs] == [vpc_id]
    lab.wait_for(f"{iid} Stopped", lambda: lab.status(iid) == "Stopped", 60)
    assert MARKER in lab.console_output(iid)
    lab.ecs.start_instance(ecs_models.StartInstanceRequest(instance_id=iid))
    lab.wait_for(f"{iid} Running", lambda: lab.status(iid) == "Running", 300)
    assert lab.interrupt() == 0, lab.log()
