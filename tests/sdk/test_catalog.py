"""The host's catalog through the official SDKs: instance types derived from the configured
families, families, images from the image store manifest, and available resources."""

import json

import pytest
from Tea.exceptions import TeaException
from alibabacloud_ecs20140526 import models as m

TINY = {"id": "tiny-x64", "name": "hearth tiny", "os_name": "hearth tiny (busybox)", "os_type": "linux",
        "platform": "Busybox", "architecture": "x86_64", "size_gib": 1, "file": "tiny-x64.raw",
        "description": "a busybox image for tests"}
ARM = dict(TINY, id="tiny-arm", name="hearth tiny arm", architecture="arm64", file="tiny-arm.raw", size_gib=2)
GONE = dict(TINY, id="gone-x64", name="file missing", file="gone.raw")


def error(call):
    with pytest.raises(TeaException) as e:
        call()
    return e.value.code, e.value.status_code


@pytest.fixture
def image_store(hearth):
    """Writes a manifest (and raw files, except GONE's) into the server's image store."""
    d = hearth.data_dir / "images"
    d.mkdir(exist_ok=True)
    (d / "tiny-x64.raw").write_bytes(b"\0" * 512)
    (d / "tiny-arm.raw").write_bytes(b"\0" * 512)
    (d / "manifest.json").write_text(json.dumps({"images": [TINY, ARM, GONE]}))
    yield d
    for f in d.iterdir():
        f.unlink()


def types(ecs, **kw):
    return ecs.describe_instance_types(m.DescribeInstanceTypesRequest(**kw)).body


def test_instance_types_are_derived_from_families(ecs):
    body = types(ecs)
    by_id = {t.instance_type_id: t for t in body.instance_types.instance_type}
    shapes = {i: (by_id[i].cpu_core_count, by_id[i].memory_size) for i in
              ["ecs.g7.small", "ecs.g7.medium", "ecs.g7.large", "ecs.g7.8xlarge", "ecs.c7.large", "ecs.r7.xlarge",
               "ecs.t6.small", "ecs.t6.medium", "ecs.t6.large"]}
    assert shapes == {"ecs.g7.small": (1, 2.0), "ecs.g7.medium": (1, 4.0), "ecs.g7.large": (2, 8.0),
                      "ecs.g7.8xlarge": (32, 128.0), "ecs.c7.large": (2, 4.0), "ecs.r7.xlarge": (4, 32.0),
                      "ecs.t6.small": (1, 1.0), "ecs.t6.medium": (1, 2.0), "ecs.t6.large": (2, 4.0)}
    assert by_id["ecs.g7.large"].instance_type_family == "ecs.g7"
    assert by_id["ecs.t6.small"].instance_family_level == "CreditEntryLevel"
    assert by_id["ecs.g7.large"].eni_quantity == 1
    assert len(by_id) == 25
    assert body.next_token in (None, "")


def test_instance_type_filters_and_paging(ecs):
    got = types(ecs, instance_types=["ecs.g7.large", "ecs.c7.xlarge", "ecs.nope.large"]).instance_types.instance_type
    assert sorted(t.instance_type_id for t in got) == ["ecs.c7.xlarge", "ecs.g7.large"]
    got = types(ecs, instance_type_family="ecs.t6").instance_types.instance_type
    assert [t.instance_type_id for t in got] == ["ecs.t6.small", "ecs.t6.medium", "ecs.t6.large", "ecs.t6.xlarge"]
    got = types(ecs, minimum_cpu_core_count=4, maximum_cpu_core_count=8, minimum_memory_size=16, maximum_memory_size=16).instance_types.instance_type
    assert sorted(t.instance_type_id for t in got) == ["ecs.c7.2xlarge", "ecs.g7.xlarge"]
    # MaxResults/NextToken walk the whole catalog once.
    seen, token = [], None
    while True:
        body = types(ecs, max_results=10, next_token=token)
        seen += [t.instance_type_id for t in body.instance_types.instance_type]
        token = body.next_token
        if not token:
            break
    assert len(seen) == len(set(seen)) == 25
    assert error(lambda: types(ecs, max_results=0)) == ("InvalidParameter", 400)
    assert error(lambda: types(ecs, next_token="garbage")) == ("InvalidParameter", 400)
    assert error(lambda: types(ecs, minimum_memory_size="lots")) == ("InvalidParameter", 400)


def test_instance_type_families(ecs, region):
    rows = ecs.describe_instance_type_families(m.DescribeInstanceTypeFamiliesRequest(region_id=region)).body.instance_type_families.instance_type_family
    assert [(f.instance_type_family_id, f.generation) for f in rows] == [
        ("ecs.g7", "ecs-7"), ("ecs.c7", "ecs-7"), ("ecs.r7", "ecs-7"), ("ecs.t6", "ecs-6")]
    rows = ecs.describe_instance_type_families(m.DescribeInstanceTypeFamiliesRequest(region_id=region, generation="ecs-6")).body.instance_type_families.instance_type_family
    assert [f.instance_type_family_id for f in rows] == ["ecs.t6"]
    assert error(lambda: ecs.describe_instance_type_families(m.DescribeInstanceTypeFamiliesRequest(region_id="xx"))) == ("InvalidRegionId.NotFound", 404)


def images(ecs, region, **kw):
    return ecs.describe_images(m.DescribeImagesRequest(region_id=region, **kw)).body


def test_no_manifest_means_no_images(ecs, region, hearth):
    assert not (hearth.data_dir / "images" / "manifest.json").exists()
    body = images(ecs, region)
    assert body.total_count == 0 and body.images.image == []


def test_images_from_manifest(ecs, region, image_store):
    body = images(ecs, region)
    assert body.total_count == 2  # GONE's file is missing: UnAvailable, not listed by default
    img = {i.image_id: i for i in body.images.image}["tiny-x64"]
    assert (img.image_name, img.osname, img.ostype, img.platform, img.architecture, img.size) == (
        "hearth tiny", "hearth tiny (busybox)", "linux", "Busybox", "x86_64", 1)
    assert (img.status, img.image_owner_alias, img.is_support_cloudinit) == ("Available", "system", True)
    assert img.description == "a busybox image for tests"
    assert img.creation_time.endswith("Z")
    ids = lambda **kw: sorted(i.image_id for i in images(ecs, region, **kw).images.image)
    assert ids(image_id="tiny-arm,nope") == ["tiny-arm"]
    assert ids(image_id="nope") == []
    assert ids(architecture="arm64") == ["tiny-arm"]
    assert ids(image_name="hearth tiny arm") == ["tiny-arm"]
    assert ids(ostype="windows") == []
    assert ids(image_owner_alias="self") == []
    assert ids(image_owner_alias="system") == ["tiny-arm", "tiny-x64"]
    assert ids(status="UnAvailable") == ["gone-x64"]
    assert ids(status="Available,UnAvailable") == ["gone-x64", "tiny-arm", "tiny-x64"]
    page = images(ecs, region, page_size=1, page_number=2)
    assert (page.total_count, page.page_number, page.page_size, len(page.images.image)) == (2, 2, 1, 1)
    assert error(lambda: images(ecs, region, page_size=101)) == ("InvalidPageSize.Malformed", 400)
    assert error(lambda: images(ecs, region, ostype="beos")) == ("InvalidParameter", 400)
    assert error(lambda: images(ecs, region, status="Nice")) == ("InvalidParameter", 400)


def test_malformed_manifest_is_an_error_naming_the_file(raw, region, image_store):
    (image_store / "manifest.json").write_text('{"images": [{"id": 1}]}')
    r = raw.call("DescribeImages", RegionId=region)
    assert r.status == 500
    assert r.json()["Code"] == "InternalError"
    assert "manifest.json" in r.json()["Message"]


def available(ecs, region, dest, **kw):
    body = ecs.describe_available_resource(m.DescribeAvailableResourceRequest(region_id=region, destination_resource=dest, **kw)).body
    return body.available_zones.available_zone


def supported(zones):
    return [r for z in zones for a in z.available_resources.available_resource for r in a.supported_resources.supported_resource]


def test_available_resource(ecs, region, hearth):
    zone_ids = [z.zone_id for z in ecs.describe_zones(m.DescribeZonesRequest(region_id=region)).body.zones.zone]
    zones = available(ecs, region, "Zone")
    assert [z.zone_id for z in zones] == zone_ids
    assert all((z.status, z.status_category) == ("Available", "WithStock") for z in zones)
    assert [r.value for r in supported(zones)] == zone_ids
    zone = zone_ids[0]
    values = [r.value for r in supported(available(ecs, region, "InstanceType", zone_id=zone))]
    assert "ecs.g7.large" in values and len(values) == 25
    assert [r.value for r in supported(available(ecs, region, "InstanceType", instance_type="ecs.t6.small", instance_charge_type="PostPaid"))] == ["ecs.t6.small"]
    assert available(ecs, region, "InstanceType", instance_type="ecs.x9.large") == []
    assert [r.value for r in supported(available(ecs, region, "InstanceType", cores=2, memory=4))] == ["ecs.c7.large", "ecs.t6.large"]
    sys_disks = {r.value: (r.min, r.max, r.unit) for r in supported(available(ecs, region, "SystemDisk", zone_id=zone))}
    assert sys_disks == {"cloud": (20, 500, "GiB"), "cloud_efficiency": (20, 2048, "GiB"), "cloud_ssd": (20, 2048, "GiB"), "cloud_essd": (20, 2048, "GiB")}
    data = {r.value: (r.min, r.max) for r in supported(available(ecs, region, "DataDisk", data_disk_category="cloud"))}
    assert data == {"cloud": (5, 2000)}
    essd = {r.value: (r.min, r.max) for r in supported(available(ecs, region, "DataDisk", data_disk_category="cloud_essd"))}
    assert essd == {"cloud_essd": (20, 32768)}
    assert [r.value for r in supported(available(ecs, region, "IoOptimized"))] == ["optimized"]
    assert error(lambda: available(ecs, region, "Toaster")) == ("InvalidParameter", 400)
    assert error(lambda: available(ecs, region, "Zone", zone_id="nowhere-z")) == ("InvalidZoneId.NotFound", 404)
    assert error(lambda: available(ecs, region, "Zone", instance_charge_type="Free")) == ("InvalidParameter", 400)
    assert error(lambda: ecs.describe_available_resource(m.DescribeAvailableResourceRequest(region_id=region))) == ("MissingParameter", 400)


def test_legacy_sdk(legacy, region, image_store):
    assert legacy("DescribeInstanceTypes", InstanceTypeFamily="ecs.g7")["InstanceTypes"]["InstanceType"][0]["InstanceTypeId"] == "ecs.g7.small"
    assert legacy("DescribeInstanceTypeFamilies", RegionId=region)["InstanceTypeFamilies"]["InstanceTypeFamily"]
    assert legacy("DescribeImages", RegionId=region, ImageId="tiny-x64")["Images"]["Image"][0]["OSName"] == "hearth tiny (busybox)"
    zones = legacy("DescribeAvailableResource", RegionId=region, DestinationResource="Zone")["AvailableZones"]["AvailableZone"]
    assert zones[0]["AvailableResources"]["AvailableResource"][0]["Type"] == "Zone"
