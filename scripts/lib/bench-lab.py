"""scripts/bench-lab: lab mode timed from outside, as a user of scripts/setup meets it."""

import base64
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "tests" / "e2e"))
from lab import Lab  # noqa: E402
from alibabacloud_ecs20140526 import models as ecs_models  # noqa: E402
from alibabacloud_vpc20160428 import models as vpc_models  # noqa: E402
from Tea.exceptions import TeaException  # noqa: E402

work, most, memory = Path(sys.argv[1]), int(sys.argv[2]), sys.argv[3] or None
MARKER = "BENCH-LAB-USERDATA"
USER_DATA = base64.b64encode(f"#!/bin/sh\necho {MARKER} >/dev/console\n".encode()).decode()


def port():
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run_one(lab, vsw, sg):
    req = ecs_models.RunInstancesRequest(
        region_id=lab.region, zone_id="hearth-local-a", image_id="tiny-x64", instance_type="ecs.t6.small",
        security_group_id=sg, v_switch_id=vsw, internet_max_bandwidth_out=0, user_data=USER_DATA)
    return lab.ecs.run_instances(req).body.instance_id_sets.instance_id_set[0]


lab = Lab(work / "data", port(), memory_mib=int(memory) if memory else None)
try:
    t0 = time.time()
    lab.start()
    print(f"lab up (cold, new state disk): {time.time() - t0:.1f} s")
    mem = next(line for line in lab.err.read_text().splitlines() if "booting the emulated KVM host" in line)
    print(f"emulated host: {mem.split('(')[1].split(')')[0]}")
    vpc = lab.vpc.create_vpc(vpc_models.CreateVpcRequest(region_id=lab.region, cidr_block="10.40.0.0/16")).body.vpc_id
    vsw = lab.vpc.create_vswitch(vpc_models.CreateVSwitchRequest(
        region_id=lab.region, vpc_id=vpc, zone_id="hearth-local-a", cidr_block="10.40.0.0/24")).body.v_switch_id
    sg = lab.ecs.create_security_group(ecs_models.CreateSecurityGroupRequest(
        region_id=lab.region, vpc_id=vpc)).body.security_group_id

    t0 = time.time()
    first = run_one(lab, vsw, sg)
    lab.wait_for("Running", lambda: lab.status(first) == "Running", 600)
    running = time.time() - t0
    lab.wait_for("the marker", lambda: MARKER in lab.console_output(first), 600)
    print(f"first instance: RunInstances -> Running {running:.1f} s, -> user-data marker {time.time() - t0:.1f} s")

    more, refused = [], None
    t0 = time.time()
    while len(more) + 1 < most:
        try:
            more.append(run_one(lab, vsw, sg))
        except TeaException as e:
            refused = e.code
            break
    lab.wait_for("every marker", lambda: all(MARKER in lab.console_output(i) for i in more), 1800)
    print(f"instances the emulated host holds: {len(more) + 1} ecs.t6.small"
          f" ({'then ' + refused if refused else f'stopped asking at {most}'}); the {len(more)} after the first"
          f" printed their markers {time.time() - t0:.1f} s after the first of them was asked for")

    t0 = time.time()
    code = lab.interrupt()
    print(f"Ctrl-C to the lab ended: {time.time() - t0:.1f} s (exit status {code}, {len(more) + 1} instances running)")
    t0 = time.time()
    lab.start()
    print(f"lab up again (same state): {time.time() - t0:.1f} s")
    lab.interrupt()
finally:
    lab.kill()
    subprocess.run(["rm", "-rf", "--one-file-system", str(work / "data")], check=False)
