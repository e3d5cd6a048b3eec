"""One endpoint, many hosts: API servers (`hearth serve --role api`) and node agents
(`hearth serve --role node`) as separate processes sharing one PostgreSQL database, driven with
the official SDK. Placement spreads instances over the nodes and never past their room, a
duplicate host id is refused, a node killed with -9 falls silent and its instances leave
Running (and come back when it returns), and an API server killed mid-run loses nothing.

The node agents here record instances without launching them (`--instances off`), except the
one real-guest test, whose node makes the instance's files in its own data dir and runs the
payload guest of test_supervisor.py under KVM."""

import base64
import os
import shutil
import subprocess
import tempfile
import threading
import time
import uuid
from pathlib import Path

import pytest
from alibabacloud_ecs20140526 import models as m
from alibabacloud_ecs20140526.client import Client as EcsClient

from conftest import Hearth, hearth_binary, tea_config
from test_instances import IMAGE_ID, install_image

ADMIN_URL = os.environ.get("HEARTH_PG_ADMIN_URL")
pytestmark = pytest.mark.skipif(not ADMIN_URL, reason="needs PostgreSQL (HEARTH_PG_ADMIN_URL; scripts/test provides it)")

# Fast heartbeats, so a silent host is noticed within seconds.
TIMEOUT = 3
CLUSTER_CONFIG = f'[cluster]\nheartbeat_secs = 1\nhost_timeout_secs = {TIMEOUT}\n'


def new_database():
    name = "hearth_cluster_" + uuid.uuid4().hex[:12]
    subprocess.run(["psql", "-q", ADMIN_URL, "-c", f"CREATE DATABASE {name}"], check=True, capture_output=True)
    return ADMIN_URL.rsplit("/", 1)[0] + "/" + name


class NodeAgent:
    """`hearth serve --role node`: registers HOST_ID in the database and beats."""

    def __init__(self, database_url, host_id, data_dir=None, extra_env=None, config=CLUSTER_CONFIG):
        self.host_id = host_id
        self.owns_data_dir = data_dir is None
        self.data_dir = Path(data_dir) if data_dir else Path(tempfile.mkdtemp(prefix=f"hearth-{host_id}-"))
        (self.data_dir / "hearth.toml").write_text(config)
        env = dict(os.environ, HEARTH_LOG="info", HEARTH_ROLE="node", HEARTH_HOST_ID=host_id,
                   HEARTH_INSTANCES="off", HEARTH_HOST_NETWORK="off")
        env.update(extra_env or {})
        self.log_path = self.data_dir / f"node-{host_id}.log"
        self.log = open(self.log_path, "a")
        self.log_start = self.log.tell()
        cmd = [hearth_binary(), "serve", "--data-dir", str(self.data_dir), "--database-url", database_url]
        self.proc = subprocess.Popen(cmd, env=env, stdout=self.log, stderr=subprocess.STDOUT)

    def wait_registered(self, timeout=20):
        deadline = time.time() + timeout
        while time.time() < deadline:
            if "node agent for host" in self.text():
                return
            if self.proc.poll() is not None:
                pytest.fail(f"node {self.host_id} exited: {self.text()[-2000:]}")
            time.sleep(0.05)
        pytest.fail(f"node {self.host_id} did not register: {self.text()[-2000:]}")

    def text(self):
        """This process's part of the log (a restart appends to the same file)."""
        with open(self.log_path) as f:
            f.seek(self.log_start)
            return f.read()

    def kill(self):
        self.proc.kill()
        self.proc.wait()
        self.log.close()

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if not self.log.closed:
            self.log.close()
        if self.owns_data_dir:
            shutil.rmtree(self.data_dir, ignore_errors=True)


class Cluster:
    pass


def with_network(api, second_octet):
    """A Cluster view of one API server, with a VPC 10.N.0.0/16, a VSwitch 10.N.1.0/24 and a
    security group created through it."""
    c = Cluster()
    c.apis, c.region = [api, api], api.region
    call = api.call_legacy
    zone = call("DescribeZones", "2014-05-26", RegionId=c.region)["Zones"]["Zone"][0]["ZoneId"]
    vpc = call("CreateVpc", "2016-04-28", RegionId=c.region, CidrBlock=f"10.{second_octet}.0.0/16")["VpcId"]
    c.vswitch = call("CreateVSwitch", "2016-04-28", RegionId=c.region, ZoneId=zone, VpcId=vpc,
                     CidrBlock=f"10.{second_octet}.1.0/24")["VSwitchId"]
    c.group = call("CreateSecurityGroup", "2014-05-26", RegionId=c.region, VpcId=vpc)["SecurityGroupId"]
    return c


def payload_node(url, host_id):
    """A node agent that runs VMMs of the payload guest, in a data dir of its own."""
    from test_supervisor import payload
    node_dir = Path(tempfile.mkdtemp(prefix="hearth-cluster-node-"))
    (node_dir / "vmlinux").write_bytes(payload())
    install_image(node_dir)
    run_env = {"HEARTH_INSTANCES": "run", "HEARTH_ACCEPT_PVM": "1", "HEARTH_HOST_NETWORK": "private"}
    return NodeAgent(url, host_id, data_dir=node_dir, extra_env=run_env), run_env


def api_server(url, data_dir=None):
    return Hearth(database_url=url, data_dir=data_dir, config=CLUSTER_CONFIG,
                  extra_env={"HEARTH_ROLE": "api", "HEARTH_LOG": "info"})


def ecs_of(server):
    return EcsClient(tea_config(server, "acs3"))


@pytest.fixture
def cluster():
    """Two API servers and three record-only node agents on a fresh database, with a VPC,
    a VSwitch and a security group."""
    c = Cluster()
    c.url = new_database()
    c.procs = []
    try:
        c.nodes = [NodeAgent(c.url, f"node-{n}") for n in (1, 2, 3)]
        c.procs += c.nodes
        for n in c.nodes:
            n.wait_registered()
        c.apis = [api_server(c.url), api_server(c.url)]
        c.procs += c.apis
        for a in c.apis:
            install_image(a.data_dir)
        c.region = c.apis[0].region
        net = with_network(c.apis[0], 20)
        c.vswitch, c.group = net.vswitch, net.group
        yield c
    finally:
        for p in c.procs:
            p.stop()


def run(c, api=0, amount=1, instance_type="ecs.t6.small"):
    body = ecs_of(c.apis[api]).run_instances(m.RunInstancesRequest(
        region_id=c.region, image_id=IMAGE_ID, instance_type=instance_type, security_group_id=c.group,
        v_switch_id=c.vswitch, amount=amount)).body
    return body.instance_id_sets.instance_id_set


def instances(c, api=1):
    """Every instance, as DescribeInstances through `api` shows it: {id: (host, status)}."""
    out = {}
    page = 1
    while True:
        body = ecs_of(c.apis[api]).describe_instances(m.DescribeInstancesRequest(
            region_id=c.region, page_size=100, page_number=page)).body
        for i in body.instances.instance:
            out[i.instance_id] = (i.dedicated_host_attribute.dedicated_host_name, i.status)
        if page * 100 >= body.total_count:
            return out
        page += 1


def wait_for(what, check, timeout):
    deadline = time.time() + timeout
    while time.time() < deadline:
        got = check()
        if got:
            return got
        time.sleep(0.2)
    pytest.fail(f"not within {timeout} s: {what}")


def test_run_instances_spreads_over_the_nodes_and_stops_at_their_room(cluster):
    c = cluster
    ids = run(c, amount=4)
    seen = instances(c)
    hosts = {seen[i][0] for i in ids}
    assert len(hosts) > 1 and hosts <= {"node-1", "node-2", "node-3"}, seen
    # Through the other API server too, and Pending: record-only nodes launch nothing.
    assert {i: seen[i][1] for i in ids} == {i: "Pending" for i in ids}

    before = instances(c)
    with pytest.raises(Exception) as refused:
        run(c, amount=1, instance_type="ecs.r7.8xlarge")
    assert "OperationDenied.NoStock" in str(refused.value)
    assert "node-1" in str(refused.value), "the message names each host and its room"
    assert instances(c) == before, "nothing was created"


def test_a_duplicate_host_id_is_refused(cluster):
    twin = NodeAgent(cluster.url, "node-2")
    try:
        assert twin.proc.wait(timeout=20) != 0
        text = twin.text()
        assert 'host id "node-2" is already in use by another node' in text, text
    finally:
        twin.stop()
    # The original is still the host: placement still uses it.
    ids = run(cluster, amount=6)
    assert "node-2" in {instances(cluster)[i][0] for i in ids}


def test_a_node_killed_with_sigkill_falls_silent_and_returns(cluster):
    c = cluster
    ids = run(c, amount=6)
    on = {i: h for i, (h, _) in instances(c).items() if i in ids}
    victim = c.nodes[0]
    mine = [i for i in ids if on[i] == victim.host_id]
    others = [i for i in ids if on[i] != victim.host_id]
    assert mine and others, on
    victim.kill()
    wait_for("the silent node's instances show Stopped",
             lambda: all(instances(c)[i][1] == "Stopped" for i in mine), TIMEOUT + 5)
    now = instances(c)
    assert all(now[i][1] == "Pending" for i in others), "other hosts' instances are untouched"
    # Nothing is placed on a silent host.
    more = run(c, amount=4)
    assert victim.host_id not in {instances(c)[i][0] for i in more}
    # Back on the same data dir: the same host again, taking instances.
    again = NodeAgent(c.url, victim.host_id, data_dir=victim.data_dir)
    c.procs.append(again)
    again.wait_registered()
    later = run(c, amount=9)
    assert victim.host_id in {instances(c)[i][0] for i in later}


def test_an_api_server_killed_mid_run_loses_nothing(cluster):
    c = cluster
    acknowledged = []
    errors = []

    def keep_running():
        # Bounded below the three nodes' 24 vCPUs, so the other server has room afterwards.
        while len(acknowledged) < 20:
            try:
                acknowledged.extend(run(c, api=0))
            except Exception as e:  # the server went away mid-call
                errors.append(e)
                return
            time.sleep(0.1)

    t = threading.Thread(target=keep_running)
    t.start()
    wait_for("a few RunInstances answered", lambda: len(acknowledged) >= 5, 30)
    c.apis[0].kill()
    t.join(timeout=30)
    assert errors and len(acknowledged) < 20, "the server was killed mid-run"
    seen = instances(c, api=1)
    assert set(acknowledged) <= set(seen), "every acknowledged instance is recorded"
    assert len(seen) - len(acknowledged) <= 1, "at most the call in flight may have committed unanswered"
    assert run(c, api=1), "the other API server still places instances"


@pytest.mark.skipif(not os.access("/dev/kvm", os.R_OK | os.W_OK) or os.geteuid() != 0,
                    reason="needs root and /dev/kvm")
def test_real_guests_run_on_their_node_leave_running_when_it_dies_and_are_adopted():
    """A node agent that runs VMMs (the payload guest) and an API server, each with its own data
    dir: the node makes the instance's disks and seed itself and boots it; killed with -9 it
    leaves its guest running, the API shows the instance Stopped once the node is silent, and
    the node restarted adopts the guest: Running again, the same VMM."""
    from test_supervisor import MARKER, vmm_pids

    url = new_database()
    node, run_env = payload_node(url, "real-1")
    node_dir = node.data_dir
    api = None
    try:
        node.wait_registered()
        api = api_server(url)
        install_image(api.data_dir)
        c = with_network(api, 21)
        call = api.call_legacy
        [iid] = run(c)
        wait_for("the guest runs", lambda: instances(c)[iid] == ("real-1", "Running"), 30)
        config = node_dir / "instances" / iid / "vmm.json"
        pids = vmm_pids(config)
        assert len(pids) == 1
        assert (node_dir / "instances" / iid / "seed.img").exists(), "the node made the seed"
        assert len(list((node_dir / "disks").glob("*.raw"))) == 1, "and the system disk"
        assert not (api.data_dir / "instances" / iid).exists(), "the API server made no files"
        assert not list((api.data_dir / "disks").glob("*.raw"))

        def console():
            out = call("GetInstanceConsoleOutput", "2014-05-26", RegionId=c.region, InstanceId=iid)
            return base64.b64decode(out["ConsoleOutput"])

        wait_for("the guest's console output through the API server of another data dir",
                 lambda: MARKER.strip() in console(), 15)

        node.kill()
        wait_for("Stopped once the node is silent", lambda: instances(c)[iid][1] == "Stopped", TIMEOUT + 5)
        assert vmm_pids(config) == pids, "the guest itself kept running"

        node = NodeAgent(url, "real-1", data_dir=node_dir, extra_env=run_env)
        node.wait_registered()
        wait_for("Running again, adopted", lambda: instances(c)[iid][1] == "Running", 20)
        assert vmm_pids(config) == pids, "the same VMM, not a new boot"
        call("DeleteInstance", "2014-05-26", InstanceId=iid, Force="true")
        wait_for("deleted", lambda: iid not in instances(c), 30)
        assert vmm_pids(config) == []
        assert not (node_dir / "instances" / iid).exists(), "the node removed its files"
        assert not list((node_dir / "disks").glob("*.raw"))
    finally:
        for pid in vmm_pids(node_dir):
            os.kill(pid, 9)
        node.stop()
        if api:
            api.stop()
        shutil.rmtree(node_dir, ignore_errors=True)


class PrivatePostgres:
    """A PostgreSQL server of one test's own, so the test can stop and start it."""

    def __init__(self):
        import glob
        import socket
        self.bin = sorted(glob.glob("/usr/lib/postgresql/*/bin"))[-1]
        self.dir = Path(tempfile.mkdtemp(prefix="hearth-pg-own-"))
        shutil.chown(self.dir, "postgres", "postgres")
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.as_postgres(f"{self.bin}/initdb", "-D", f"{self.dir}/data", "--auth=trust", "-U", "postgres")
        self.start()
        self.as_postgres(f"{self.bin}/createdb", "-h", str(self.dir), "-p", str(self.port), "hearth")
        self.url = f"postgres://postgres@127.0.0.1:{self.port}/hearth"

    def as_postgres(self, *cmd):
        subprocess.run(["runuser", "-u", "postgres", "--", *cmd], check=True, capture_output=True)

    def start(self):
        self.as_postgres(f"{self.bin}/pg_ctl", "-D", f"{self.dir}/data", "-l", f"{self.dir}/log", "-w",
                         "-o", f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c fsync=off", "start")

    def stop(self):
        subprocess.run(["runuser", "-u", "postgres", "--", f"{self.bin}/pg_ctl", "-D", f"{self.dir}/data",
                        "-m", "fast", "-w", "stop"], capture_output=True)

    def remove(self):
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)


@pytest.mark.skipif(not os.access("/dev/kvm", os.R_OK | os.W_OK) or os.geteuid() != 0,
                    reason="needs root and /dev/kvm")
def test_a_database_that_goes_away_is_service_unavailable_and_everything_resumes():
    """The database stopped: API calls fail with ServiceUnavailable (503), the node keeps its
    guest running; the database back: the same guest shows Running and new calls work, with no
    manual step."""
    from test_supervisor import vmm_pids

    pg = PrivatePostgres()
    node, run_env = payload_node(pg.url, "db-1")
    node_dir = node.data_dir
    api = None
    try:
        node.wait_registered()
        api = api_server(pg.url)
        install_image(api.data_dir)
        c = with_network(api, 22)
        call = api.call_legacy
        [iid] = run(c)
        wait_for("the guest runs", lambda: instances(c)[iid][1] == "Running", 30)
        pids = vmm_pids(node_dir / "instances" / iid / "vmm.json")

        pg.stop()
        with pytest.raises(Exception) as away:
            instances(c)
        assert "ServiceUnavailable" in str(away.value) and "503" in str(away.value), str(away.value)
        time.sleep(TIMEOUT + 1)
        assert vmm_pids(node_dir / "instances" / iid / "vmm.json") == pids, "the guest runs on"
        assert node.proc.poll() is None and api.proc.poll() is None, "both processes wait it out"

        pg.start()

        def placed():
            try:
                return run(c)
            except Exception as e:  # NoStock until the node's next heartbeat lands
                assert "NoStock" in str(e) or "ServiceUnavailable" in str(e), str(e)
                return None

        [again] = wait_for("new instances placed on the node again", placed, 30)
        wait_for("both guests Running", lambda: instances(c)[iid][1] == instances(c)[again][1] == "Running", 30)
        assert vmm_pids(node_dir / "instances" / iid / "vmm.json") == pids, "the same guest"
    finally:
        for pid in vmm_pids(node_dir):
            os.kill(pid, 9)
        node.stop()
        if api:
            api.stop()
        pg.remove()
        shutil.rmtree(node_dir, ignore_errors=True)


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root for a network namespace")
def test_a_change_reaches_a_node_by_notification_before_its_periodic_reread():
    """A node whose periodic re-read is 30 s apart still builds a new VSwitch's bridge within
    a few seconds: the API server's commit notifies it (LISTEN/NOTIFY)."""
    url = new_database()
    ns = "hearth-t-" + uuid.uuid4().hex[:8]
    subprocess.run(["ip", "netns", "add", ns], check=True)
    slow = "[cluster]\nheartbeat_secs = 30\nhost_timeout_secs = 90\n"
    node = NodeAgent(url, "notified-1", extra_env={"HEARTH_HOST_NETWORK": f"/run/netns/{ns}"}, config=slow)
    api = None

    def bridges():
        out = subprocess.run(["ip", "-n", ns, "-br", "link"], capture_output=True, text=True).stdout
        return [line.split()[0] for line in out.splitlines() if line.startswith("hbr")]

    try:
        node.wait_registered()
        api = api_server(url)
        call = api.call_legacy
        zone = call("DescribeZones", "2014-05-26", RegionId=api.region)["Zones"]["Zone"][0]["ZoneId"]
        vpc = call("CreateVpc", "2016-04-28", RegionId=api.region, CidrBlock="10.23.0.0/16")["VpcId"]
        time.sleep(1)
        assert bridges() == []
        call("CreateVSwitch", "2016-04-28", RegionId=api.region, ZoneId=zone, VpcId=vpc, CidrBlock="10.23.1.0/24")
        wait_for("the node built the bridge", lambda: len(bridges()) == 1, 10)
    finally:
        node.stop()
        if api:
            api.stop()
        subprocess.run(["ip", "netns", "del", ns])


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root for network namespaces")
def test_two_nodes_route_each_others_instances_over_the_vpc_overlay():
    """Two node agents, each in a network namespace of its own joined by a veth pair (the
    physical network) and advertising its address there: RunInstances spreads two instances over
    them, and each node routes the other's instance over the VPC's VXLAN device, with a
    forwarding entry to the other's address; a forced delete removes the route again."""
    url = new_database()
    suffix = uuid.uuid4().hex[:6]
    spaces = [f"hearth-ul{n}-{suffix}" for n in (1, 2)]
    addrs = ["192.0.2.11", "192.0.2.12"]
    for ns in spaces:
        subprocess.run(["ip", "netns", "add", ns], check=True)
    subprocess.run(["ip", "-n", spaces[0], "link", "add", "ul0", "type", "veth", "peer", "name", "ul0",
                    "netns", spaces[1]], check=True)
    for ns, addr in zip(spaces, addrs):
        subprocess.run(["ip", "-n", ns, "addr", "add", f"{addr}/24", "dev", "ul0"], check=True)
        subprocess.run(["ip", "-n", ns, "link", "set", "ul0", "up"], check=True)
    nodes, api = [], None

    def ip(ns, *args):
        return subprocess.run(["ip", "-n", ns, *args], capture_output=True, text=True).stdout

    try:
        for n, (ns, addr) in enumerate(zip(spaces, addrs), start=1):
            node = NodeAgent(url, f"ov-{n}", extra_env={"HEARTH_HOST_NETWORK": f"/run/netns/{ns}",
                                                         "HEARTH_ADVERTISE_ADDRESS": addr})
            nodes.append(node)
            node.wait_registered()
        api = api_server(url)
        install_image(api.data_dir)
        c = with_network(api, 24)
        call = api.call_legacy
        ids = run(c, amount=2)
        where = {i: h for i, (h, _) in instances(c).items()}
        assert sorted(where.values()) == ["ov-1", "ov-2"], where
        private = {}
        for i in ids:
            attr = call("DescribeInstanceAttribute", "2014-05-26", InstanceId=i)
            private[i] = attr["VpcAttributes"]["PrivateIpAddress"]["IpAddress"][0]
        device = None
        for n, ns in enumerate(spaces, start=1):
            other = next(i for i in ids if where[i] != f"ov-{n}")
            wait_for(f"ov-{n} routes {private[other]} over the overlay",
                     lambda: "hvx" in ip(ns, "route", "show", private[other]), 10)
            device = ip(ns, "route", "show", private[other]).split("dev ")[1].split()[0]
            fdb = subprocess.run(["bridge", "-n", ns, "fdb", "show", "dev", device],
                                 capture_output=True, text=True).stdout
            assert f"dst {addrs[2 - n]}" in fdb, fdb
            assert f"vxlan id" in ip(ns, "-d", "link", "show", device)
        # A Stopped instance (CreateInstance) is routed too; deleting it removes its route.
        gone = call("CreateInstance", "2014-05-26", RegionId=c.region, ImageId=IMAGE_ID,
                    InstanceType="ecs.t6.small", SecurityGroupId=c.group, VSwitchId=c.vswitch)["InstanceId"]
        home = instances(c)[gone][0]
        other_ns = spaces[0] if home == "ov-2" else spaces[1]
        addr = call("DescribeInstanceAttribute", "2014-05-26", InstanceId=gone)["VpcAttributes"]["PrivateIpAddress"]["IpAddress"][0]
        wait_for("the new instance routed on the other node", lambda: "hvx" in ip(other_ns, "route", "show", addr), 10)
        call("DeleteInstance", "2014-05-26", InstanceId=gone)
        wait_for("its route gone", lambda: ip(other_ns, "route", "show", addr).strip() == "", 10)
    finally:
        for node in nodes:
            node.stop()
        if api:
            api.stop()
        for ns in spaces:
            subprocess.run(["ip", "netns", "del", ns])
