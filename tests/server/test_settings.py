import stat
from pathlib import Path

import pytest

from accounts.key import new_key
from server.settings import JWT_SECRET_FILE, Env, Settings, SettingsError, load_settings


@pytest.fixture(autouse=True)
def _in_a_scratch_directory(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Settings with the default data directory generate its JWT secret under ./data."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("PINGRAPH_DATA_DIR", raising=False)
    monkeypatch.delenv("PINGRAPH_JWT_SECRET", raising=False)


def test_defaults_are_embedded(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("PINGRAPH_GRAPH_URL", "PINGRAPH_REDIS_URL", "PINGRAPH_MEDIA_URL", "PINGRAPH_ENV"):
        monkeypatch.delenv(name, raising=False)
    settings = load_settings()
    assert settings.needs_embedded
    assert settings.env is Env.DEV
    assert settings.media_dir == Path("data") / "media"


def test_reads_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PINGRAPH_GRAPH_URL", "neo4j://neo4j:pw@graph.internal:7687")
    monkeypatch.setenv("PINGRAPH_REDIS_URL", "redis://cache:6379/0")
    settings = load_settings()
    assert settings.graph_url.startswith("neo4j://")
    assert not settings.needs_embedded


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("PINGRAPH_GRAPH_URL", "postgres://db"),
        ("PINGRAPH_REDIS_URL", "http://cache"),
        ("PINGRAPH_MEDIA_URL", "ftp://files"),
        ("PINGRAPH_PORT", "99999"),
        ("PINGRAPH_ENV", "staging"),
        ("PINGRAPH_GRAPH_URL", "bolt://"),
    ],
)
def test_invalid_value_names_the_variable(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str
) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(SettingsError, match=variable):
        load_settings()


def test_dev_generates_one_jwt_secret_per_data_directory(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    first = load_settings().jwt_secret.get_secret_value()
    kept = tmp_path / "data" / JWT_SECRET_FILE
    assert stat.S_IMODE(kept.stat().st_mode) == 0o600
    assert kept.read_text().strip() == first
    assert len(first) >= 32
    # Another process on the same data directory (the CLI beside the server) agrees.
    assert load_settings().jwt_secret.get_secret_value() == first
    # Another data directory has its own; a configured secret wins and writes nothing.
    monkeypatch.setenv("PINGRAPH_DATA_DIR", str(tmp_path / "other"))
    assert load_settings().jwt_secret.get_secret_value() != first
    monkeypatch.setenv("PINGRAPH_DATA_DIR", str(tmp_path / "third"))
    monkeypatch.setenv("PINGRAPH_JWT_SECRET", "y" * 40)
    assert load_settings().jwt_secret.get_secret_value() == "y" * 40
    assert not (tmp_path / "third").exists()


def test_nothing_is_generated_for_refused_settings(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("PINGRAPH_ENV", "production")
    with pytest.raises(SettingsError, match="PINGRAPH_ENV") as refused:
        load_settings()
    assert "PINGRAPH_JWT_SECRET" not in str(refused.value)
    assert not (tmp_path / "data").exists()


def test_an_unusable_generated_secret_names_its_file(tmp_path: Path) -> None:
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / JWT_SECRET_FILE).write_text("short\n")
    with pytest.raises(SettingsError, match=f"data/{JWT_SECRET_FILE} does not hold a usable"):
        load_settings()


def test_prod_refuses_missing_or_short_secret(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("PINGRAPH_ENV", "prod")
    with pytest.raises(SettingsError, match="PINGRAPH_JWT_SECRET: must be set"):
        load_settings()
    assert not (tmp_path / "data").exists()  # production never generates one
    monkeypatch.setenv("PINGRAPH_JWT_SECRET", "pingraph-development-secret-change-me")
    with pytest.raises(SettingsError, match="published with earlier versions"):
        load_settings()
    monkeypatch.setenv("PINGRAPH_JWT_SECRET", "x" * 31)
    with pytest.raises(SettingsError, match="at least 32 bytes"):
        load_settings()
    monkeypatch.setenv("PINGRAPH_JWT_SECRET", "x" * 40)
    with pytest.raises(SettingsError, match="PINGRAPH_VAPID_PRIVATE_KEY"):
        load_settings()
    monkeypatch.setenv("PINGRAPH_VAPID_PRIVATE_KEY", "a-key")  # checked when the server starts
    with pytest.raises(SettingsError, match="PINGRAPH_PASSWORD_KEY must be set"):
        load_settings()
    monkeypatch.setenv("PINGRAPH_PASSWORD_KEY", "tooshort")
    with pytest.raises(SettingsError, match="PINGRAPH_PASSWORD_KEY: must decode to 32 bytes"):
        load_settings()
    monkeypatch.setenv("PINGRAPH_PASSWORD_KEY", new_key())
    assert load_settings().env is Env.PROD


def test_rate_limits_must_parse(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PINGRAPH_RATE_LIMIT_USER", "lots")
    with pytest.raises(SettingsError, match="PINGRAPH_RATE_LIMIT_USER: 'lots' is not a rate"):
        load_settings()


def test_store_passwords_stay_out_of_the_settings_repr() -> None:
    settings = Settings(
        graph_url="falkordb://:graph-pw@db:6379",
        analyst_graph_url="falkordb://:replica-pw@replica:6379",
        redis_url="redis://:cache-pw@cache:6379/0",
        media_url="s3://key:media-pw@minio:9000/pins",
    )
    shown = repr(settings) + str(settings)
    assert not any(pw in shown for pw in ("graph-pw", "replica-pw", "cache-pw", "media-pw"))
    assert settings.redis_url == "redis://:cache-pw@cache:6379/0"
