"""A crash mid-request leaves nothing half-created: writes are single transactions."""

import shutil
import subprocess
import tempfile
import threading
import time

from conftest import Hearth

TAGS = {"Tag.1.Key": "a", "Tag.1.Value": "1", "Tag.2.Key": "b", "Tag.2.Value": "2", "Tag.3.Key": "c", "Tag.3.Value": "3"}


def public_key(tmp):
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", f"{tmp}/k"], check=True)
    with open(f"{tmp}/k.pub") as f:
        return f.read().strip()


def test_kill_9_during_writes_leaves_only_whole_resources():
    data_dir = tempfile.mkdtemp(prefix="hearth-crash-")
    try:
        key = public_key(data_dir)
        server = Hearth(data_dir=data_dir)
        acknowledged = []
        stop = threading.Event()

        def writer(n):
            i = 0
            while not stop.is_set():
                name = f"crash-{n}-{i}"
                try:
                    server.call_legacy("ImportKeyPair", "2014-05-26", RegionId=server.region, KeyPairName=name, PublicKeyBody=key, **TAGS)
                    acknowledged.append(name)
                except Exception:
                    return  # the server is gone
                i += 1

        threads = [threading.Thread(target=writer, args=(n,)) for n in range(4)]
        for t in threads:
            t.start()
        time.sleep(1.5)
        server.kill()
        stop.set()
        for t in threads:
            t.join()
        assert len(acknowledged) > 10, "the server should have acknowledged writes before the crash"

        again = Hearth(data_dir=data_dir)
        try:
            found = {}
            page = 1
            while True:
                body = again.call_legacy("DescribeKeyPairs", "2014-05-26", RegionId=again.region, PageSize="50", PageNumber=str(page))
                for kp in body["KeyPairs"]["KeyPair"]:
                    found[kp["KeyPairName"]] = {t["TagKey"]: t["TagValue"] for t in kp["Tags"]["Tag"]}
                if page * 50 >= body["TotalCount"]:
                    break
                page += 1
            # Every acknowledged write survived the crash ...
            assert set(acknowledged) <= set(found)
            # ... and nothing exists without all of its tags.
            for name, tags in found.items():
                assert tags == {"a": "1", "b": "2", "c": "3"}, name
        finally:
            again.stop()
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)
