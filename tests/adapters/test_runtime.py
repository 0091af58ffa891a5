"""The composition root's own decisions: exposure, the secret, the ready line, settings."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from adapters.runtime import check_exposure, ensure_secret, ready_line
from config.settings import load_settings
from gateway.errors import ConfigError


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in ("GATEWAY_CONFIG", "GATEWAY_SECURITY__SECRET", "GATEWAY_SMTP__HOST"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("GATEWAY_DATA_DIR", str(tmp_path))


def test_unauthenticated_smtp_is_refused_beyond_loopback(monkeypatch: pytest.MonkeyPatch) -> None:
    check_exposure(load_settings())  # 127.0.0.1: fine
    monkeypatch.setenv("GATEWAY_SMTP__HOST", "0.0.0.0")
    with pytest.raises(ConfigError, match="sender_auth"):
        check_exposure(load_settings())
    monkeypatch.setenv("GATEWAY_SECURITY__ALLOW_UNAUTHENTICATED", "true")
    check_exposure(load_settings())


def test_a_missing_secret_is_generated_once_and_kept_private(tmp_path: Path) -> None:
    settings = load_settings()
    first = ensure_secret(settings)
    assert len(first) >= 32
    assert ensure_secret(settings) == first
    mode = stat.S_IMODE((tmp_path / "secret").stat().st_mode)
    assert mode == 0o600


def test_a_configured_secret_wins(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("GATEWAY_SECURITY__SECRET", "from-the-environment")
    assert ensure_secret(load_settings()) == "from-the-environment"
    assert not (tmp_path / "secret").exists()


def test_the_ready_line_says_what_listens_where(tmp_path: Path) -> None:
    line = ready_line(load_settings(), 2525)
    assert line == ("ready smtp=127.0.0.1:2525 imap=off telegram=off "
                    f"outbound=files:{tmp_path / 'outbox'} database=sqlite")


def test_file_environment_and_defaults_layer(monkeypatch: pytest.MonkeyPatch,
                                             tmp_path: Path) -> None:
    config = tmp_path / "gateway.toml"
    config.write_text('[smtp]\nport = 2600\n[policy]\nmin_rank = "Gold"\n')
    monkeypatch.setenv("GATEWAY_POLICY__MIN_RANK", "Platinum")
    settings = load_settings(config)
    assert settings.smtp.port == 2600  # the file over the defaults
    assert settings.policy.min_rank == "Platinum"  # the environment over the file
    assert settings.policy.languages  # the embedded language table is still there


@pytest.mark.parametrize(("content", "key"), [
    ('[smtp]\nport = "many"\n', "smtp.port"),
    ('[policy]\nmin_rank = "Bronze"\n', "policy"),
    ("[nonsense]\nx = 1\n", "nonsense"),
])
def test_a_bad_configuration_is_one_sentence(tmp_path: Path, content: str, key: str) -> None:
    config = tmp_path / "gateway.toml"
    config.write_text(content)
    with pytest.raises(ConfigError, match=key) as error:
        load_settings(config)
    assert "\n" not in str(error.value)
