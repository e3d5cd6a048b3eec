"""scripts/lab driven as scripts/setup starts it, with the official SDK on its forwarded port:
shared by tests/e2e/test_lab.py and scripts/bench-lab."""

import base64
import os
import signal
import subprocess
import time
from pathlib import Path

from alibabacloud_ecs20140526 import models as ecs_models
from alibabacloud_ecs20140526.client import Client as EcsClient
from alibabacloud_tea_openapi.models import Config
from alibabacloud_vpc20160428.client import Client as VpcClient

REPO = Path(__file__).resolve().parents[2]


class Lab:
    """scripts/lab as scripts/setup starts it, in a session of its own as in a terminal."""

    def __init__(self, data_dir, port, memory_mib=None):
        self.data_dir, self.port, self.memory_mib = data_dir, port, memory_mib
        self.endpoint, self.region = f"127.0.0.1:{port}", "hearth-local"
        self.runs = 0

    def start(self):
        self.runs += 1
        self.out = self.data_dir.parent / f"lab-{self.runs}.out"
        self.err = self.data_dir.parent / f"lab-{self.runs}.err"
        cmd = ["bash", str(REPO / "scripts" / "lab"), "--data-dir", str(self.data_dir),
               "--listen", self.endpoint, "--hearth", os.environ["HEARTH_BIN"],
               "--kernel", os.environ["HEARTH_TEST_KERNEL"], "--images", os.environ["HEARTH_TEST_IMAGES"]]
        if self.memory_mib:
            cmd += ["--memory", str(self.memory_mib)]
        self.proc = subprocess.Popen(cmd, stdout=open(self.out, "w"), stderr=open(self.err, "w"),
                                     stdin=subprocess.DEVNULL, start_new_session=True)
        deadline = time.time() + 900
        while "serving the ECS API" not in self.out.read_text():
            if self.proc.poll() is not None:
                raise RuntimeError(f"lab ended early ({self.proc.returncode}):\n{self.log()}")
            if time.time() > deadline:
                raise RuntimeError(f"lab never served:\n{self.log()}")
            time.sleep(2)
        stored = dict(line.split("=", 1) for line in (self.data_dir / "credentials").read_text().split())
        self.key_id, self.key_secret = stored["access_key_id"], stored["access_key_secret"]
        config = Config(access_key_id=self.key_id, access_key_secret=self.key_secret, endpoint=self.endpoint,
                        protocol="HTTP", region_id=self.region, read_timeout=60000, connect_timeout=5000)
        self.ecs, self.vpc = EcsClient(config), VpcClient(config)
        return self.out.read_text()

    def interrupt(self, timeout=240):
        """Ctrl-C, as a terminal sends it: SIGINT to the whole process group."""
        os.killpg(self.proc.pid, signal.SIGINT)
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            raise RuntimeError(f"lab did not stop within {timeout}s of Ctrl-C:\n{self.log()}") from None

    def kill(self):
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
        # scripts/testhost and qemu run in the lab's process group: nothing may outlive it.
        subprocess.run(["pkill", "-KILL", "-f", f"hostfwd=tcp:127.0.0.1:{self.port}-"], check=False)

    def log(self, n=6000):
        console = self.data_dir / "lab" / "console.log"
        parts = [self.err.read_text(errors="replace")[-n:]]
        if console.exists():
            parts.append("console:\n" + console.read_text(errors="replace")[-n:])
        return "\n".join(parts)

    def console_output(self, iid):
        req = ecs_models.GetInstanceConsoleOutputRequest(region_id=self.region, instance_id=iid)
        return base64.b64decode(self.ecs.get_instance_console_output(req).body.console_output or "").decode(errors="replace")

    def status(self, iid):
        req = ecs_models.DescribeInstancesRequest(region_id=self.region, instance_ids=f'["{iid}"]')
        [inst] = self.ecs.describe_instances(req).body.instances.instance
        return inst.status

    def wait_for(self, what, check, timeout):
        deadline = time.time() + timeout
        while not check():
            if time.time() > deadline:
                raise RuntimeError(f"timed out after {timeout}s waiting for {what}:\n{self.log()}")
            time.sleep(3)
