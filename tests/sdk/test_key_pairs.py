"""ECS key pairs through the official SDKs: created keys are real and usable, imported keys are
checked, fingerprints are the RFC 4716 MD5 ones `ssh-keygen -l -E md5` prints."""

import json
import subprocess
import uuid

import pytest
from Tea.exceptions import TeaException
from alibabacloud_ecs20140526 import models as m


def unique(prefix="kp"):
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


def md5_fingerprint(pub_path):
    out = subprocess.run(["ssh-keygen", "-l", "-E", "md5", "-f", str(pub_path)], check=True, capture_output=True, text=True).stdout
    return out.split()[1].removeprefix("MD5:")


def keygen(tmp_path, kind, bits=None, name="k"):
    path = tmp_path / name
    cmd = ["ssh-keygen", "-q", "-t", kind, "-N", "", "-C", "test@hearth", "-f", str(path)]
    if bits:
        cmd += ["-b", str(bits)]
    subprocess.run(cmd, check=True)
    return path, (tmp_path / f"{name}.pub").read_text().strip()


def error(call):
    with pytest.raises(TeaException) as e:
        call()
    return e.value.code, e.value.status_code


def describe(ecs, region, **kw):
    return ecs.describe_key_pairs(m.DescribeKeyPairsRequest(region_id=region, **kw)).body


def names_of(body):
    return [k.key_pair_name for k in body.key_pairs.key_pair]


def delete(ecs, region, *names):
    ecs.delete_key_pairs(m.DeleteKeyPairsRequest(region_id=region, key_pair_names=json.dumps(list(names))))


def test_created_private_key_is_real_and_matches_fingerprint(ecs, region, tmp_path):
    name = unique()
    body = ecs.create_key_pair(m.CreateKeyPairRequest(
        region_id=region, key_pair_name=name, resource_group_id="rg-test",
        tag=[m.CreateKeyPairRequestTag(key="team", value="core")])).body
    try:
        assert body.key_pair_name == name
        assert body.key_pair_id.startswith("kp-")
        assert body.private_key_body.startswith("-----BEGIN RSA PRIVATE KEY-----")
        key = tmp_path / "id_rsa"
        key.write_text(body.private_key_body)
        key.chmod(0o600)
        derived = subprocess.run(["ssh-keygen", "-y", "-f", str(key)], check=True, capture_output=True, text=True).stdout.strip()
        (tmp_path / "id_rsa.pub").write_text(derived + "\n")
        assert md5_fingerprint(tmp_path / "id_rsa.pub") == body.key_pair_finger_print
        bits = subprocess.run(["ssh-keygen", "-l", "-f", str(tmp_path / "id_rsa.pub")], check=True, capture_output=True, text=True).stdout.split()[0]
        assert bits == "2048"

        listed = describe(ecs, region, key_pair_name=name, include_public_key=True)
        assert listed.total_count == 1
        kp = listed.key_pairs.key_pair[0]
        assert kp.key_pair_finger_print == body.key_pair_finger_print
        assert kp.public_key == derived  # the stored public key is the private key's
        assert kp.resource_group_id == "rg-test"
        assert kp.creation_time.endswith("Z")
        assert [(t.tag_key, t.tag_value) for t in kp.tags.tag] == [("team", "core")]
        # Without IncludePublicKey the public key is left out.
        assert describe(ecs, region, key_pair_name=name).key_pairs.key_pair[0].public_key is None
    finally:
        delete(ecs, region, name)
    assert describe(ecs, region, key_pair_name=name).total_count == 0


@pytest.mark.parametrize("kind,bits", [("ed25519", None), ("rsa", 3072), ("ecdsa", 384)])
def test_import_keys_made_by_ssh_keygen(ecs, region, tmp_path, kind, bits):
    _, pub = keygen(tmp_path, kind, bits)
    name = unique("imp")
    body = ecs.import_key_pair(m.ImportKeyPairRequest(region_id=region, key_pair_name=name, public_key_body=pub)).body
    try:
        assert body.key_pair_name == name
        assert body.key_pair_finger_print == md5_fingerprint(tmp_path / "k.pub")
        kp = describe(ecs, region, key_pair_finger_print=body.key_pair_finger_print, include_public_key=True).key_pairs.key_pair
        assert [k.key_pair_name for k in kp] == [name]
        assert kp[0].public_key == " ".join(pub.split()[:2])  # comment dropped
    finally:
        delete(ecs, region, name)


def test_duplicate_names_are_refused(ecs, region, tmp_path):
    _, pub = keygen(tmp_path, "ed25519")
    name = unique()
    ecs.import_key_pair(m.ImportKeyPairRequest(region_id=region, key_pair_name=name, public_key_body=pub))
    try:
        assert error(lambda: ecs.create_key_pair(m.CreateKeyPairRequest(region_id=region, key_pair_name=name))) == ("KeyPair.AlreadyExist", 400)
        assert error(lambda: ecs.import_key_pair(m.ImportKeyPairRequest(region_id=region, key_pair_name=name, public_key_body=pub))) == ("KeyPair.AlreadyExist", 400)
        assert describe(ecs, region, key_pair_name=name).total_count == 1
    finally:
        delete(ecs, region, name)


@pytest.mark.parametrize("bad", ["a", "1abc", "-abc", "has space", "a/b", "x" * 129, "http://abc"])
def test_malformed_names_are_refused(ecs, region, tmp_path, bad):
    assert error(lambda: ecs.create_key_pair(m.CreateKeyPairRequest(region_id=region, key_pair_name=bad))) == ("InvalidKeyPairName.Malformed", 400)
    _, pub = keygen(tmp_path, "ed25519")
    assert error(lambda: ecs.import_key_pair(m.ImportKeyPairRequest(region_id=region, key_pair_name=bad, public_key_body=pub))) == ("InvalidKeyPairName.Malformed", 400)
    assert describe(ecs, region, key_pair_name=bad).total_count == 0


def test_malformed_public_keys_are_refused(ecs, region, tmp_path):
    _, ed = keygen(tmp_path, "ed25519", name="ed")
    _, small = keygen(tmp_path, "rsa", 1024, name="small")
    data = ed.split()[1]
    name = unique("bad")
    for body in [
        "not a key",
        "ssh-ed25519",
        "ssh-ed25519 !!!notbase64!!!",
        f"ssh-rsa {data}",  # type in front differs from the one inside
        f"ssh-ed25519 {data[:-8]}",  # truncated
        f"ssh-dss {data}",
        ed.replace("ssh-ed25519", "ssh-foo"),
    ]:
        got = error(lambda: ecs.import_key_pair(m.ImportKeyPairRequest(region_id=region, key_pair_name=name, public_key_body=body)))
        assert got == ("InvalidPublicKeyBody.Malformed", 400), body
    assert describe(ecs, region, key_pair_name=name).total_count == 0
    # 1024-bit RSA is the smallest accepted.
    ecs.import_key_pair(m.ImportKeyPairRequest(region_id=region, key_pair_name=name, public_key_body=small))
    delete(ecs, region, name)


def test_missing_parameters_and_region(ecs, region):
    assert error(lambda: ecs.create_key_pair(m.CreateKeyPairRequest(region_id=region))) == ("MissingParameter", 400)
    assert error(lambda: ecs.import_key_pair(m.ImportKeyPairRequest(region_id=region, key_pair_name=unique()))) == ("MissingParameter", 400)
    assert error(lambda: ecs.delete_key_pairs(m.DeleteKeyPairsRequest(region_id=region))) == ("MissingParameter", 400)
    assert error(lambda: ecs.create_key_pair(m.CreateKeyPairRequest(region_id="cn-nowhere", key_pair_name=unique()))) == ("InvalidRegionId.NotFound", 404)


def test_describe_filters_wildcards_tags_and_paging(ecs, region, tmp_path):
    prefix = unique("page")
    names = [f"{prefix}-{i}" for i in range(5)]
    _, pub = keygen(tmp_path, "ed25519")
    for i, n in enumerate(names):
        tag = [m.ImportKeyPairRequestTag(key="parity", value=str(i % 2))]
        ecs.import_key_pair(m.ImportKeyPairRequest(region_id=region, key_pair_name=n, public_key_body=pub, tag=tag))
    try:
        assert sorted(names_of(describe(ecs, region, key_pair_name=f"{prefix}*", page_size=50))) == names
        assert names_of(describe(ecs, region, key_pair_name=f"*{names[3][-8:]}")) == [names[3]]
        assert sorted(names_of(describe(ecs, region, key_pair_name=f"*{prefix[4:]}*", page_size=50))) == names
        assert describe(ecs, region, key_pair_name=prefix).total_count == 0  # exact without *
        # Paging: 5 matches, pages of 2.
        seen = []
        for page in (1, 2, 3):
            b = describe(ecs, region, key_pair_name=f"{prefix}*", page_number=page, page_size=2)
            assert (b.total_count, b.page_number, b.page_size) == (5, page, 2)
            seen += names_of(b)
        assert sorted(seen) == names
        # Tags.
        tag = [m.DescribeKeyPairsRequestTag(key="parity", value="1")]
        assert sorted(names_of(describe(ecs, region, key_pair_name=f"{prefix}*", tag=tag))) == [names[1], names[3]]
        # Bad paging.
        assert error(lambda: describe(ecs, region, page_size=51)) == ("InvalidPageSize.Malformed", 400)
        assert error(lambda: describe(ecs, region, page_number=0)) == ("InvalidPageNumber.Malformed", 400)
    finally:
        delete(ecs, region, *names)
    assert describe(ecs, region, key_pair_name=f"{prefix}*").total_count == 0


def test_delete_is_all_or_nothing(ecs, region, tmp_path):
    _, pub = keygen(tmp_path, "ed25519")
    a, b = unique(), unique()
    for n in (a, b):
        ecs.import_key_pair(m.ImportKeyPairRequest(region_id=region, key_pair_name=n, public_key_body=pub))
    missing = unique("gone")
    assert error(lambda: delete(ecs, region, a, missing, b)) == ("InvalidKeyPairName.NotFound", 404)
    assert describe(ecs, region, key_pair_name=a).total_count == 1
    assert describe(ecs, region, key_pair_name=b).total_count == 1
    assert error(lambda: ecs.delete_key_pairs(m.DeleteKeyPairsRequest(region_id=region, key_pair_names="a,b"))) == ("InvalidParameter", 400)
    too_many = json.dumps([f"n{i}x" for i in range(101)])
    assert error(lambda: ecs.delete_key_pairs(m.DeleteKeyPairsRequest(region_id=region, key_pair_names=too_many))) == ("InvalidParameter", 400)
    delete(ecs, region, a, b, a)
    assert describe(ecs, region, key_pair_name=a).total_count == 0
    assert describe(ecs, region, key_pair_name=b).total_count == 0


def test_legacy_sdk(legacy, region, tmp_path):
    _, pub = keygen(tmp_path, "ed25519")
    name = unique("legacy")
    body = legacy("ImportKeyPair", RegionId=region, KeyPairName=name, PublicKeyBody=pub)
    assert body["KeyPairFingerPrint"] == md5_fingerprint(tmp_path / "k.pub")
    listed = legacy("DescribeKeyPairs", RegionId=region, KeyPairName=name)
    assert [k["KeyPairName"] for k in listed["KeyPairs"]["KeyPair"]] == [name]
    created = legacy("CreateKeyPair", RegionId=region, KeyPairName=name + "-c")
    assert created["PrivateKeyBody"].startswith("-----BEGIN RSA PRIVATE KEY-----")
    legacy("DeleteKeyPairs", RegionId=region, KeyPairNames=json.dumps([name, name + "-c"]))
    assert legacy("DescribeKeyPairs", RegionId=region, KeyPairName=f"{name}*")["TotalCount"] == 0
