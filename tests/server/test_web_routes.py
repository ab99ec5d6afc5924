"""The web app's security headers: the Content-Security-Policy lets the page load images from
exactly where presigned URLs point (MinIO's public address, an AWS bucket's host name)."""

from __future__ import annotations

from pathlib import Path

from media.store import LocalImageStore, S3ImageStore
from server.web import content_security_policy, image_origin

INDEX = '<script type="importmap">{"imports": {}}</script>'


def img_src(origin: str | None) -> list[str]:
    policy = content_security_policy(INDEX, origin)
    directive = next(part for part in policy.split("; ") if part.startswith("img-src "))
    return directive.split()[1:]


def test_local_images_are_this_origins() -> None:
    assert image_origin(LocalImageStore(Path("/nonexistent"))) is None
    assert img_src(None) == ["'self'", "data:", "blob:"]


def test_minio_images_come_from_its_public_address() -> None:
    store = S3ImageStore("s3+http://key:secret@minio:9000/pingraph?public=http://127.0.0.1:9000")
    assert image_origin(store) == "http://127.0.0.1:9000"
    assert "http://127.0.0.1:9000" in img_src(image_origin(store))


def test_aws_images_come_from_the_buckets_own_host() -> None:
    store = S3ImageStore("s3://key:secret@s3.eu-west-1.amazonaws.com/my-bucket?region=eu-west-1")
    assert image_origin(store) == "https://my-bucket.s3.eu-west-1.amazonaws.com"


def test_scripts_are_only_this_origins_and_the_import_maps() -> None:
    policy = content_security_policy(INDEX, None)
    assert "script-src 'self' 'sha256-" in policy
    assert "'unsafe-inline'" not in policy
    assert "'unsafe-eval'" not in policy
    assert "frame-ancestors 'none'" in policy
