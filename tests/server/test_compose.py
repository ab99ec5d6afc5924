"""docker-compose.yml, deploy/nginx.conf and the Dockerfile, read as files (Docker is not
run here): app replicas behind one load balancer, which alone publishes a port and passes
WebSockets through; settings the app accepts; an image with every package in it."""

from __future__ import annotations

import ipaddress
import re
import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml

from server.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
SECRETS = {
    "NEO4J_PASSWORD": "neo4j-password",
    "MINIO_ROOT_USER": "minio-user",
    "MINIO_ROOT_PASSWORD": "minio-password",
    "PINGRAPH_JWT_SECRET": "j" * 40,
    "PINGRAPH_VAPID_PRIVATE_KEY": "vapid-key-placeholder",
    "PINGRAPH_PASSWORD_KEY": "p" * 43,  # base64url of 32 bytes
}
VARIABLE = re.compile(r"\$\{([A-Z0-9_]+)(?:[:?-][^}]*)?\}")


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    """The file as compose sees it: YAML (merge keys resolved), variables substituted."""
    text = VARIABLE.sub(lambda match: SECRETS[match[1]], (ROOT / "docker-compose.yml").read_text())
    loaded: dict[str, Any] = yaml.safe_load(text)
    return loaded


@pytest.fixture(scope="module")
def services(compose: dict[str, Any]) -> dict[str, Any]:
    found: dict[str, Any] = compose["services"]
    return found


def test_only_the_balancer_publishes_the_api_port(services: dict[str, Any]) -> None:
    app = services["app"]
    # Several replicas can share neither a host port nor a container name.
    assert "ports" not in app
    assert "container_name" not in app
    assert "scale" not in app  # `--scale app=N` decides
    assert "deploy" not in app
    assert app["expose"] == ["8000"]
    assert services["lb"]["ports"] == ["127.0.0.1:8000:80"]
    for name, service in services.items():
        for port in service.get("ports", []):
            assert port.startswith("127.0.0.1:"), f"{name} publishes {port} beyond loopback"


def test_the_balancer_waits_for_healthy_replicas_which_wait_for_migrations(
    services: dict[str, Any],
) -> None:
    assert services["lb"]["depends_on"]["app"] == {"condition": "service_healthy"}
    assert "readyz" in " ".join(services["app"]["healthcheck"]["test"])
    migrate = services["migrate"]
    assert migrate["command"] == ["pingraph", "migrate"]
    assert services["app"]["depends_on"]["migrate"] == {
        "condition": "service_completed_successfully"
    }
    assert migrate["image"] == services["app"]["image"]
    assert migrate["environment"] == services["app"]["environment"]


def test_the_replicas_settings_are_valid_and_share_the_stores(services: dict[str, Any]) -> None:
    environment = services["app"]["environment"]
    settings = Settings(**{k.removeprefix("PINGRAPH_").lower(): v for k, v in environment.items()})
    assert settings.media_url.startswith("s3+http://")  # images and walk snapshots, shared
    assert settings.graph_url.startswith("neo4j://neo4j:")
    assert settings.redis_url == "redis://redis:6379/0"
    assert "PINGRAPH_DATA_DIR" not in environment  # each container its own (the image's)


def test_the_app_trusts_only_the_balancers_fixed_address(compose: dict[str, Any]) -> None:
    lb = compose["services"]["lb"]
    address = ipaddress.ip_address(lb["networks"]["default"]["ipv4_address"])
    [pool] = compose["networks"]["default"]["ipam"]["config"]
    assert address in ipaddress.ip_network(pool["subnet"])
    assert address not in ipaddress.ip_network(pool["ip_range"])  # never given to another
    trusted = compose["services"]["app"]["environment"]["PINGRAPH_TRUSTED_PROXIES"]
    assert trusted == str(address)


def test_nginx_balances_the_app_and_passes_websockets(services: dict[str, Any]) -> None:
    mount = services["lb"]["volumes"][0]
    source, target, mode = mount.split(":")
    assert (target, mode) == ("/etc/nginx/nginx.conf", "ro")
    config = (ROOT / source).read_text()
    lines = (line.partition("#")[0] for line in config.splitlines())
    directives = {" ".join(line.split()).rstrip(";") for line in lines}
    assert "server app:8000 resolve" in directives
    assert "zone app 64k" in directives  # `resolve` needs the shared zone
    assert any(d.startswith("resolver 127.0.0.11") for d in directives)  # Docker's DNS
    assert "listen 80" in directives
    for needed in (
        "proxy_pass http://app",
        "proxy_http_version 1.1",
        "proxy_set_header Upgrade $http_upgrade",
        "proxy_set_header Connection $connection_upgrade",
        "proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for",
    ):
        assert needed in directives, needed
    assert config.count("{") == config.count("}")


def test_the_image_holds_every_package_and_a_writable_numba_cache() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    packages = [
        name.rstrip("*") for name in project["tool"]["setuptools"]["packages"]["find"]["include"]
    ]
    copied = set(re.findall(r"^COPY (\w+) \1$", dockerfile, re.MULTILINE))
    assert set(packages) <= copied, set(packages) - copied
    assert "NUMBA_CACHE_DIR=/app/data/" in dockerfile
