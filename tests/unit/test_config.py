"""Settings: strict booleans, lists, all problems at once, and no secret in any message."""

from __future__ import annotations

import pytest

from core.config import ConfigurationError, load_settings, missing_telegram_credentials
from core.logging import wants_json

TOKEN = "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw1"
API_HASH = "0123456789abcdef0123456789abcdef"


@pytest.mark.parametrize("raw", ["true", "TRUE", "True", "1", "yes", "YES", "on", "On"])
def test_truthy_words_enable_a_flag(clean_env: pytest.MonkeyPatch, raw: str) -> None:
    clean_env.setenv("ENABLE_JSON_LOGGING", raw)
    assert load_settings().enable_json_logging is True


@pytest.mark.parametrize("raw", ["false", "False", "FALSE", "0", "no", "NO", "off", "Off"])
def test_falsy_words_disable_a_flag_including_capitalised_false(
    clean_env: pytest.MonkeyPatch, raw: str
) -> None:
    clean_env.setenv("ENABLE_DEBUG_CMD", raw)
    assert load_settings().enable_debug_cmd is False


@pytest.mark.parametrize("raw", ["maybe", "t", "y", "2", "enabled", "truee"])
def test_anything_else_is_an_error_naming_the_variable(
    clean_env: pytest.MonkeyPatch, raw: str
) -> None:
    clean_env.setenv("ENABLE_ALERTS", raw)
    with pytest.raises(ConfigurationError) as caught:
        load_settings()
    assert len(caught.value.problems) == 1
    assert caught.value.problems[0].startswith("ENABLE_ALERTS:")


def test_defaults_need_no_environment(clean_env: pytest.MonkeyPatch) -> None:
    settings = load_settings()
    assert settings.environment == "development"
    assert settings.uses_embedded_database
    assert str(settings.data_dir) == "data"
    assert settings.admins == []
    assert missing_telegram_credentials(settings) == ["BOT_TOKEN", "API_ID", "API_HASH"]


def test_empty_values_count_as_unset(clean_env: pytest.MonkeyPatch) -> None:
    clean_env.setenv("BOT_TOKEN", "")
    clean_env.setenv("ENABLE_JSON_LOGGING", "")
    settings = load_settings()
    assert settings.bot_token is None
    assert settings.enable_json_logging is None
    assert wants_json(settings.enable_json_logging, settings.environment) is False


def test_json_logs_are_the_default_in_production(clean_env: pytest.MonkeyPatch) -> None:
    clean_env.setenv("ENVIRONMENT", "production")
    settings = load_settings()
    assert wants_json(settings.enable_json_logging, settings.environment) is True
    clean_env.setenv("ENABLE_JSON_LOGGING", "false")
    settings = load_settings()
    assert wants_json(settings.enable_json_logging, settings.environment) is False


def test_the_platforms_port_is_honoured(clean_env: pytest.MonkeyPatch) -> None:
    assert (load_settings().http_host, load_settings().http_port) == ("127.0.0.1", 8080)
    clean_env.setenv("PORT", "10000")
    settings = load_settings()
    assert (settings.http_host, settings.http_port) == ("0.0.0.0", 10000)  # noqa: S104
    clean_env.setenv("HTTP_PORT", "9000")
    clean_env.setenv("HTTP_HOST", "127.0.0.1")
    settings = load_settings()
    assert (settings.http_host, settings.http_port) == ("127.0.0.1", 9000)


@pytest.mark.parametrize("raw", ["1 2 3", "1,2,3", "1, 2 ,3", " 1\t2,  3 "])
def test_admins_are_space_or_comma_separated(clean_env: pytest.MonkeyPatch, raw: str) -> None:
    clean_env.setenv("ADMINS", raw)
    assert load_settings().admins == [1, 2, 3]


def test_channels_take_ids_in_every_range_and_usernames(clean_env: pytest.MonkeyPatch) -> None:
    clean_env.setenv("CHANNELS", "-1001234567890 -1002999999999,@Movies movies_hd")
    assert load_settings().channels == [-1001234567890, -1002999999999, "@Movies", "@movies_hd"]


def test_every_invalid_variable_is_reported_at_once(clean_env: pytest.MonkeyPatch) -> None:
    clean_env.setenv("ENABLE_JSON_LOGGING", "maybe")
    clean_env.setenv("ADMINS", "1 two")
    clean_env.setenv("HTTP_PORT", "99999")
    clean_env.setenv("ENVIRONMENT", "prod")
    clean_env.setenv("API_ID", "-5")
    with pytest.raises(ConfigurationError) as caught:
        load_settings()
    named = sorted(p.split(":")[0] for p in caught.value.problems)
    assert named == ["ADMINS", "API_ID", "ENABLE_JSON_LOGGING", "ENVIRONMENT", "HTTP_PORT"]


def test_secret_values_never_appear_in_messages(clean_env: pytest.MonkeyPatch) -> None:
    clean_env.setenv("BOT_TOKEN", "not-a-token-s3cr3tvalue")
    clean_env.setenv("API_HASH", "hunter2-hunter2-hunter2")
    clean_env.setenv("DATABASE_URI", "postgres://admin:pa55w0rd@db.example:5432")
    with pytest.raises(ConfigurationError) as caught:
        load_settings()
    text = "\n".join(caught.value.problems) + str(caught.value)
    assert {p.split(":")[0] for p in caught.value.problems} == {
        "BOT_TOKEN",
        "API_HASH",
        "DATABASE_URI",
    }
    for secret in ("s3cr3tvalue", "hunter2", "pa55w0rd"):
        assert secret not in text


def test_valid_credentials_and_secret_values(clean_env: pytest.MonkeyPatch) -> None:
    clean_env.setenv("BOT_TOKEN", TOKEN)
    clean_env.setenv("API_ID", "12345")
    clean_env.setenv("API_HASH", API_HASH)
    clean_env.setenv("DATABASE_URI", "mongodb://bot:pa55w0rd@db:27017")
    settings = load_settings()
    assert missing_telegram_credentials(settings) == []
    assert TOKEN not in repr(settings)
    assert set(settings.secret_values()) == {TOKEN, API_HASH, "mongodb://bot:pa55w0rd@db:27017"}


def test_case_is_folded_for_levels_and_environments(clean_env: pytest.MonkeyPatch) -> None:
    clean_env.setenv("LOG_LEVEL", "debug")
    clean_env.setenv("ENVIRONMENT", "Production")
    settings = load_settings()
    assert (settings.log_level, settings.environment) == ("DEBUG", "production")


def test_dotenv_file_is_read(clean_env: pytest.MonkeyPatch) -> None:
    with open(".env", "w", encoding="utf-8") as env:  # noqa: PTH123 - cwd is tmp_path
        env.write("ADMINS=7 8\nENABLE_DEBUG_CMD=False\n")
    settings = load_settings()
    assert settings.admins == [7, 8]
    assert settings.enable_debug_cmd is False


def test_environment_override_wins(clean_env: pytest.MonkeyPatch) -> None:
    clean_env.setenv("ENVIRONMENT", "staging")
    assert load_settings({"environment": "production"}).environment == "production"


def test_caption_template_placeholders_are_checked(clean_env: pytest.MonkeyPatch) -> None:
    clean_env.setenv("CUSTOM_FILE_CAPTION", "{file_name} ({file_size})\\n{caption}")
    assert load_settings().custom_file_caption == "{file_name} ({file_size})\n{caption}"
    clean_env.setenv("CUSTOM_FILE_CAPTION", "{filename}")
    with pytest.raises(ConfigurationError) as caught:
        load_settings()
    assert caught.value.problems[0].startswith(
        "CUSTOM_FILE_CAPTION: unknown placeholder {filename}"
    )


def test_force_subscribe_and_premium_settings(clean_env: pytest.MonkeyPatch) -> None:
    settings = load_settings()
    assert (settings.auth_mode, settings.premium_only) == ("member", False)
    assert settings.premium_info.startswith("Ask an admin")
    clean_env.setenv("AUTH_MODE", "Request")
    clean_env.setenv("PREMIUM_ONLY", "False")
    clean_env.setenv("PREMIUM_INFO", "Write to @boss")
    settings = load_settings()
    assert (settings.auth_mode, settings.premium_only, settings.premium_info) == (
        "request",
        False,
        "Write to @boss",
    )
    clean_env.setenv("AUTH_MODE", "members")
    clean_env.setenv("PREMIUM_ONLY", "t")
    with pytest.raises(ConfigurationError) as caught:
        load_settings()
    assert sorted(p.split(":")[0] for p in caught.value.problems) == ["AUTH_MODE", "PREMIUM_ONLY"]
