"""A nested test host running `hearth serve` with real instances, driven from this machine with
the official SDKs through a forwarded port.

The test host (scripts/testhost: qemu TCG with SVM, so /dev/kvm inside is real KVM) carries
hearth, hearth-vmm, the guest kernel and the image store; inside, `hearth serve` runs on
SQLite with host networking (bridges, TAPs, nftables) and the instance supervisor. A busybox
CGI on a second forwarded port lists the node's disks, VMM processes and TAPs, so tests can
check that nothing is left behind.
"""

import importlib.util
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import pytest
from _pytest.runner import runtestprotocol

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tests" / "sdk"))
# The SDK tests' helpers (credentials, client config), under a name of their own: this file is
# a conftest too.
_spec = importlib.util.spec_from_file_location("sdk_conftest", REPO / "tests" / "sdk" / "conftest.py")
sdk = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(sdk)
KEY_ID, KEY_SECRET, free_port, tea_config = sdk.KEY_ID, sdk.KEY_SECRET, sdk.free_port, sdk.tea_config
from alibabacloud_ecs20140526.client import Client as EcsClient  # noqa: E402
from aliyunsdkcore.acs_exception.exceptions import ClientException  # noqa: E402
from aliyunsdkcore.client import AcsClient  # noqa: E402
from aliyunsdkcore.request import CommonRequest  # noqa: E402

SERVE = """#!/bin/sh
# Inside the test host: hearth's data dir on the test host's tmpfs, the carried kernel and
# image store linked in, and a CGI that shows what is on the node.
data=/var/lib/hearth
mkdir -p $data /www/cgi-bin
ln -sf /hearth/vmlinux $data/vmlinux
ln -sfn /hearth/images $data/images
cat >/www/cgi-bin/node <<'CGI'
#!/bin/sh
echo "Content-Type: text/plain"
echo
echo "== disks"; ls /var/lib/hearth/disks 2>/dev/null
echo "== instances"; ls /var/lib/hearth/instances 2>/dev/null
echo "== vmms"; for p in /proc/[0-9]*; do tr '\\0' ' ' <$p/cmdline 2>/dev/null | grep '^/usr/bin/hearth-vmm ' ; done
echo "== taps"; ls /sys/class/net | grep '^htap' || true
CGI
chmod 755 /www/cgi-bin/node
busybox httpd -p 8081 -h /www
export HEARTH_ACCESS_KEY_ID=%(key_id)s HEARTH_ACCESS_KEY_SECRET=%(key_secret)s HEARTH_LOG=info NO_COLOR=1
config=""; [ -f /hearth/files/hearth.toml ] && config="--config /hearth/files/hearth.toml"
exec hearth serve --listen 0.0.0.0:8080 --data-dir $data --host-network host --instances run $config
"""


class Node:
    """The test host, its `hearth serve` and SDK clients for it."""

    def __init__(self, config_toml=None, memory_mib=4096):
        self.work = Path(tempfile.mkdtemp(prefix="hearth-e2e-"))
        self.port, self.node_port = free_port(), free_port()
        self.endpoint = f"127.0.0.1:{self.port}"
        self.key_id, self.key_secret = KEY_ID, KEY_SECRET
        script = self.work / "e2e-serve.sh"
        script.write_text(SERVE % {"key_id": KEY_ID, "key_secret": KEY_SECRET})
        self.console = self.work / "testhost-console.log"
        extra = []
        if config_toml:
            (self.work / "hearth.toml").write_text(config_toml)
            extra = ["--file", str(self.work / "hearth.toml")]
        cmd = ["bash", str(REPO / "scripts" / "testhost"), "--memory", str(memory_mib),
               "--hearth", os.environ["HEARTH_BIN"], "--file", str(script), *extra,
               "--forward", f"{self.port}:8080", "--forward", f"{self.node_port}:8081",
               "--console", str(self.console), "--timeout", "3000",
               "--", "sh /hearth/files/e2e-serve.sh"]
        self.log = open(self.work / "testhost.log", "w")
        self.proc = subprocess.Popen(cmd, stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True)
        try:
            self.wait_until_serving()
        except BaseException:
            self.stop()
            raise
        self.ecs = EcsClient(tea_config(self, "acs3"))

    def wait_until_serving(self):
        deadline = time.time() + 600
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"the test host ended early:\n{self.tail()}")
            try:
                self.region = self.call("DescribeRegions")["Regions"]["Region"][0]["RegionId"]
                break
            except ClientException:  # not listening yet
                if time.time() > deadline:
                    raise RuntimeError(f"hearth serve in the test host never answered:\n{self.tail()}")
                time.sleep(2)

    def call(self, action, version="2014-05-26", **params):
        """aliyun-python-sdk-core (HMAC-SHA1), the client the aliyun CLI resembles."""
        client = AcsClient(self.key_id, self.key_secret, "hearth-local", timeout=60, connect_timeout=5)
        req = CommonRequest(domain=self.endpoint, version=version, action_name=action)
        req.set_protocol_type("http")
        req.set_method("POST")
        for k, v in params.items():
            req.add_query_param(k, v)
        return json.loads(client.do_action_with_exception(req))

    def node_state(self):
        """What is on the node: {"disks": [...], "instances": [...], "vmms": [...], "taps": [...]}."""
        text = urllib.request.urlopen(f"http://127.0.0.1:{self.node_port}/cgi-bin/node", timeout=30).read().decode()
        state, part = {}, None
        for line in text.splitlines():
            if line.startswith("== "):
                part = state.setdefault(line[3:], [])
            elif line.strip() and part is not None:
                part.append(line.strip())
        return state

    def lost(self, wait=0):
        """How the test host was lost to the emulator, or None: it runs (after `wait` seconds),
        or `hearth serve` in it ended (its end marker is on the console), which is hearth's doing."""
        try:
            self.proc.wait(timeout=wait)
        except subprocess.TimeoutExpired:
            return None
        if "@@HEARTH-END 0 " in self.tail(200000):
            return None
        log = (self.work / "testhost.log").read_text(errors="replace")
        if "the test host froze" in log:
            return "it froze: one of its CPUs stopped running"
        return f"its kernel or qemu died (exit status {self.proc.returncode})"

    def tail(self, n=6000):
        text = self.console.read_text(errors="replace") if self.console.exists() else ""
        return text[-n:]

    def stop(self):
        try:
            os.killpg(self.proc.pid, signal.SIGTERM)
            self.proc.wait(timeout=60)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.proc.wait()
        self.log.close()


class Nodes:
    """The one test host the tests share, replaced when it is lost.

    qemu TCG's emulation of SVM sometimes kills the test host's kernel or leaves one of its CPUs
    halted for good (scripts/testhost's watchdog then stops it). That says nothing about hearth,
    so a test that failed on a lost test host runs once more on a new one
    (pytest_runtest_protocol below), and says so.
    """

    current = None

    @classmethod
    def get(cls):
        if cls.current is None or cls.current.lost():
            cls.stop()
            cls.current = Node()
        return cls.current

    @classmethod
    def lost(cls, wait=0):
        return cls.current.lost(wait) if cls.current is not None else None

    @classmethod
    def stop(cls):
        if cls.current is not None:
            cls.current.stop()
            cls.current = None


@pytest.fixture
def node():
    if not os.access("/dev/kvm", os.R_OK | os.W_OK) or os.geteuid() != 0:
        pytest.skip("needs root and /dev/kvm")
    return Nodes.get()


@pytest.fixture
def alone():
    """No shared test host running: for tests that boot an emulated host of their own (two at
    once would share this machine's two cores)."""
    Nodes.stop()


def pytest_sessionfinish(session):
    Nodes.stop()


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_protocol(item, nextitem):
    if "node" not in getattr(item, "fixturenames", ()):
        return None
    item.ihook.pytest_runtest_logstart(nodeid=item.nodeid, location=item.location)
    reports = runtestprotocol(item, nextitem=nextitem, log=False)
    # A frozen host may fail a test (an API read timing out) before scripts/testhost's watchdog
    # has seen its CPU silent long enough to stop it, and the script ends a moment after qemu.
    stall = int(os.environ.get("HEARTH_TESTHOST_STALL_SECS", "90"))
    lost = Nodes.lost(wait=stall + 30) if any(r.failed for r in reports) else None
    if lost:
        first = "\n".join(str(r.longrepr)[-3000:] for r in reports if r.failed)
        print(f"\n{item.nodeid}: the test host was lost ({lost}); the failure it caused:\n{first}\n"
              f"running the test once more on a new test host", file=sys.stderr)
        item._initrequest()
        reports = runtestprotocol(item, nextitem=nextitem, log=False)
    for report in reports:
        item.ihook.pytest_runtest_logreport(report=report)
    item.ihook.pytest_runtest_logfinish(nodeid=item.nodeid, location=item.location)
    return True


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """On failure, show the end of the test host's console (hearth serve logs there)."""
    outcome = yield
    report = outcome.get_result()
    node = item.funcargs.get("node") if hasattr(item, "funcargs") else None
    if report.failed and node is not None:
        report.sections.append(("test host console (end)", node.tail()))
