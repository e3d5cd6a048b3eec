"""Fixtures for driving a real `hearth serve` with the official Alibaba Cloud SDKs.

Every test that takes `ecs` or `vpc` runs twice: once signed ACS3-HMAC-SHA256 (the current SDK's
default) and once HMAC-SHA1 (signature_algorithm='v2'). `legacy` is aliyun-python-sdk-core, the
HMAC-SHA1 client the aliyun CLI and Terraform resemble. `raw` sends hand-signed requests for the
negative cases no SDK will produce. `cvm` and `tcvpc` are the official Tencent Cloud clients
(tencentcloud-sdk-python-cvm and -vpc, TC3-HMAC-SHA256) on the same server and key pair.

The server runs once per backend: SQLite always, and PostgreSQL too when HEARTH_TEST_POSTGRES_URL
names an empty database (scripts/test provides one).
"""

import json
import os
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import pytest
from alibabacloud_ecs20140526.client import Client as EcsClient
from alibabacloud_tea_openapi.models import Config
from alibabacloud_vpc20160428.client import Client as VpcClient
from aliyunsdkcore.client import AcsClient
from aliyunsdkcore.request import CommonRequest
from tencentcloud.common import credential
from tencentcloud.common.profile.client_profile import ClientProfile
from tencentcloud.common.profile.http_profile import HttpProfile
from tencentcloud.cvm.v20170312 import cvm_client
from tencentcloud.vpc.v20170312 import vpc_client

from hearth_raw import RawClient

REPO = Path(__file__).resolve().parents[2]
KEY_ID = "LTAItestkey000000001"
KEY_SECRET = "test-secret-that-is-long-enough"
# The shared server's hearth.toml: public IPs for AllocatePublicIpAddress (test_public_ip.py),
# from TEST-NET-3, which is never routed on the internet.
SESSION_CONFIG = '[network]\npublic_ip_pool = "203.0.113.0/27"\n'


def hearth_binary():
    explicit = os.environ.get("HEARTH_BIN")
    if explicit:
        return explicit
    for profile in ("release", "debug"):
        candidate = REPO / "target" / profile / "hearth"
        if candidate.exists():
            return str(candidate)
    raise RuntimeError("no hearth binary: run `cargo build` or set HEARTH_BIN")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Hearth:
    """A running `hearth serve` with a private data dir."""

    def __init__(self, database_url=None, extra_env=None, data_dir=None, config=None):
        """`config`: the text of the server's hearth.toml (written to <data-dir>/hearth.toml, where
        `hearth serve` reads it); None leaves the data dir's file, or the defaults, as they are."""
        self.owns_data_dir = data_dir is None
        self.database_url = database_url
        self.data_dir = Path(data_dir) if data_dir else Path(tempfile.mkdtemp(prefix="hearth-sdk-"))
        if config is not None:
            (self.data_dir / "hearth.toml").write_text(config)
        self.port = free_port()
        self.endpoint = f"127.0.0.1:{self.port}"
        self.key_id, self.key_secret = KEY_ID, KEY_SECRET
        env = dict(os.environ, HEARTH_ACCESS_KEY_ID=KEY_ID, HEARTH_ACCESS_KEY_SECRET=KEY_SECRET, HEARTH_LOG="warn")
        # Host networking (bridges, nftables) goes into a namespace private to the server, which
        # the kernel removes with the process: tests never leave links or tables on this machine.
        env["HEARTH_HOST_NETWORK"] = "private" if os.geteuid() == 0 else "off"
        # API-level tests: instances are recorded, not launched (the nested end-to-end tests
        # run the supervisor with real guests).
        env["HEARTH_INSTANCES"] = "off"
        env.update(extra_env or {})
        cmd = [hearth_binary(), "serve", "--listen", self.endpoint, "--data-dir", str(self.data_dir)]
        if database_url:
            cmd += ["--database-url", database_url]
        self.log = open(self.data_dir / "serve.log", "a")
        self.proc = subprocess.Popen(cmd, env=env, stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.time() + 30
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"hearth serve exited: {(self.data_dir / 'serve.log').read_text()}")
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.05)
        else:
            raise RuntimeError("hearth serve did not start listening within 30 s")
        self.region = self.call_legacy("DescribeRegions", "2014-05-26")["Regions"]["Region"][0]["RegionId"]

    def call_legacy(self, action, version, **params):
        client = AcsClient(self.key_id, self.key_secret, "hearth-local")
        req = CommonRequest(domain=self.endpoint, version=version, action_name=action)
        req.set_protocol_type("http")
        req.set_method("POST")
        for k, v in params.items():
            req.add_query_param(k, v)
        return json.loads(client.do_action_with_exception(req))

    def kill(self):
        """SIGKILL: the crash a power cut or the OOM killer would cause."""
        self.proc.kill()
        self.proc.wait()
        self.log.close()

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.log.close()
        if self.owns_data_dir:
            shutil.rmtree(self.data_dir, ignore_errors=True)


def backends():
    names = ["sqlite"]
    if os.environ.get("HEARTH_TEST_POSTGRES_URL"):
        names.append("postgres")
    return names


@pytest.fixture(scope="session", params=backends())
def hearth(request):
    url = os.environ["HEARTH_TEST_POSTGRES_URL"] if request.param == "postgres" else None
    server = Hearth(database_url=url, config=SESSION_CONFIG)
    yield server
    server.stop()


def tea_config(hearth, signature):
    config = Config(
        access_key_id=hearth.key_id,
        access_key_secret=hearth.key_secret,
        endpoint=hearth.endpoint,
        protocol="HTTP",
        region_id=hearth.region,
        read_timeout=30000,
        connect_timeout=5000,
    )
    if signature == "hmac-sha1":
        config.signature_algorithm = "v2"
    return config


@pytest.fixture(params=["acs3", "hmac-sha1"])
def signature(request):
    return request.param


@pytest.fixture
def ecs(hearth, signature):
    """The current ECS SDK (alibabacloud-ecs20140526), signed both ways."""
    return EcsClient(tea_config(hearth, signature))


@pytest.fixture
def vpc(hearth, signature):
    """The current VPC SDK (alibabacloud-vpc20160428), signed both ways."""
    return VpcClient(tea_config(hearth, signature))


@pytest.fixture
def legacy(hearth):
    """aliyun-python-sdk-core (HMAC-SHA1): call(action, version='2014-05-26', **params) -> dict."""

    def call(action, version="2014-05-26", **params):
        return hearth.call_legacy(action, version, **params)

    return call


@pytest.fixture
def raw(hearth):
    return RawClient(hearth.endpoint, hearth.key_id, hearth.key_secret)


@pytest.fixture
def region(hearth):
    return hearth.region


def tencent_profile(hearth):
    http = HttpProfile(protocol="http", endpoint=hearth.endpoint, reqTimeout=30)
    return ClientProfile(httpProfile=http)


@pytest.fixture
def cvm(hearth):
    """The official Tencent Cloud CVM client (TC3-HMAC-SHA256), region = the host's region."""
    cred = credential.Credential(hearth.key_id, hearth.key_secret)
    return cvm_client.CvmClient(cred, hearth.region, tencent_profile(hearth))


@pytest.fixture
def tcvpc(hearth):
    """The official Tencent Cloud VPC client (TC3-HMAC-SHA256)."""
    cred = credential.Credential(hearth.key_id, hearth.key_secret)
    return vpc_client.VpcClient(cred, hearth.region, tencent_profile(hearth))
