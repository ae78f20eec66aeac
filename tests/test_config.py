"""Settings: read from the environment when asked for, overridden by flags, never leaking the key."""

from __future__ import annotations

from pathlib import Path

import pytest

from bailian_mcp.config import REGION_BASE_URLS, load_settings
from bailian_mcp.errors import ConfigurationError

SECRET = "sk-0123456789abcdef-SECRET"


@pytest.fixture
def env(clean_env: pytest.MonkeyPatch, tmp_path: Path) -> pytest.MonkeyPatch:
    """A clean environment: none of this server's variables set, HOME and cwd in a temp folder."""
    monkeypatch = clean_env
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.chdir(tmp_path)
    return monkeypatch


def test_with_no_environment_there_is_no_key_and_beijing_is_used(env: pytest.MonkeyPatch) -> None:
    settings = load_settings()
    assert settings.api_key is None and settings.api_key_value() is None
    assert settings.region == "cn-beijing"
    assert settings.resolved_base_url == "https://dashscope.aliyuncs.com/api/v1"
    assert settings.output_dir.is_absolute() and settings.data_dir.is_absolute()
    assert settings.job_db_path == settings.data_dir / "jobs.sqlite3"


def test_the_api_key_is_read_from_dashscope_api_key(env: pytest.MonkeyPatch) -> None:
    env.setenv("DASHSCOPE_API_KEY", SECRET)
    assert load_settings().api_key_value() == SECRET


def test_the_environment_is_read_when_settings_are_loaded_not_at_import(env: pytest.MonkeyPatch) -> None:
    assert load_settings().api_key_value() is None
    env.setenv("DASHSCOPE_API_KEY", "sk-later")
    assert load_settings().api_key_value() == "sk-later"


@pytest.mark.parametrize(
    ("region", "base_url"),
    [
        ("cn-beijing", "https://dashscope.aliyuncs.com/api/v1"),
        ("ap-southeast-1", "https://dashscope-intl.aliyuncs.com/api/v1"),
        ("us-east-1", "https://dashscope-us.aliyuncs.com/api/v1"),
    ],
)
def test_bailian_region_chooses_the_regions_base_url(env: pytest.MonkeyPatch, region: str, base_url: str) -> None:
    env.setenv("BAILIAN_REGION", region)
    settings = load_settings()
    assert settings.region == region
    assert settings.resolved_base_url == base_url == REGION_BASE_URLS[region]
    assert region in settings.region_hint() and base_url in settings.region_hint()


def test_dashscope_base_url_overrides_the_regions_url_without_a_trailing_slash(env: pytest.MonkeyPatch) -> None:
    env.setenv("BAILIAN_REGION", "ap-southeast-1")
    env.setenv("DASHSCOPE_BASE_URL", " http://127.0.0.1:8765/api/v1/ ")
    settings = load_settings()
    assert settings.resolved_base_url == "http://127.0.0.1:8765/api/v1"
    assert settings.region == "ap-southeast-1"


def test_an_empty_dashscope_base_url_means_the_regions_url(env: pytest.MonkeyPatch) -> None:
    env.setenv("DASHSCOPE_BASE_URL", "  ")
    assert load_settings().resolved_base_url == REGION_BASE_URLS["cn-beijing"]


def test_bailian_output_dir_is_used_as_the_output_folder(env: pytest.MonkeyPatch, tmp_path: Path) -> None:
    env.setenv("BAILIAN_OUTPUT_DIR", str(tmp_path / "images"))
    assert load_settings().output_dir == (tmp_path / "images").resolve()


def test_flags_override_the_environment(env: pytest.MonkeyPatch, tmp_path: Path) -> None:
    env.setenv("DASHSCOPE_API_KEY", "sk-from-env")
    env.setenv("BAILIAN_REGION", "us-east-1")
    env.setenv("DASHSCOPE_BASE_URL", "https://env.test/api/v1")
    env.setenv("BAILIAN_OUTPUT_DIR", str(tmp_path / "env-out"))
    env.setenv("BAILIAN_WAIT_SECONDS", "10")
    settings = load_settings(
        api_key="sk-from-flag",
        region="ap-southeast-1",
        base_url="https://flag.test/api/v1",
        output_dir=str(tmp_path / "flag-out"),
        wait_seconds=20,
    )
    assert settings.api_key_value() == "sk-from-flag"
    assert settings.region == "ap-southeast-1"
    assert settings.resolved_base_url == "https://flag.test/api/v1"
    assert settings.output_dir == (tmp_path / "flag-out").resolve()
    assert settings.wait_seconds == 20


def test_a_flag_left_unset_keeps_the_environments_value(env: pytest.MonkeyPatch) -> None:
    env.setenv("BAILIAN_REGION", "us-east-1")
    assert load_settings(region=None, api_key=None).region == "us-east-1"


@pytest.mark.parametrize("value", ["${HOME}/bailian", "$HOME/bailian", "/data/${USER}/out", "${BAILIAN_OUT}"])
def test_an_unexpanded_output_dir_variable_is_a_configuration_error_naming_it(
    env: pytest.MonkeyPatch, value: str
) -> None:
    env.setenv("BAILIAN_OUTPUT_DIR", value)
    with pytest.raises(ConfigurationError) as caught:
        load_settings()
    assert "BAILIAN_OUTPUT_DIR" in str(caught.value) and value in str(caught.value)


@pytest.mark.parametrize("value", ["${DASHSCOPE_URL}", "$BASE/api/v1", "https://${HOST}/api/v1"])
def test_an_unexpanded_base_url_variable_is_a_configuration_error_naming_it(
    env: pytest.MonkeyPatch, value: str
) -> None:
    env.setenv("DASHSCOPE_BASE_URL", value)
    with pytest.raises(ConfigurationError) as caught:
        load_settings()
    assert "DASHSCOPE_BASE_URL" in str(caught.value) and value in str(caught.value)


def test_an_unexpanded_data_dir_variable_is_a_configuration_error_naming_it(env: pytest.MonkeyPatch) -> None:
    env.setenv("BAILIAN_DATA_DIR", "${APPDATA}/bailian")
    with pytest.raises(ConfigurationError, match="BAILIAN_DATA_DIR"):
        load_settings()


def test_a_home_tilde_is_expanded(env: pytest.MonkeyPatch) -> None:
    env.setenv("BAILIAN_OUTPUT_DIR", "~/pictures/bailian")
    settings = load_settings()
    assert settings.output_dir == (Path.home() / "pictures" / "bailian").resolve()
    assert "~" not in str(settings.output_dir)


def test_a_relative_folder_is_made_absolute_against_the_working_directory(
    env: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    env.setenv("BAILIAN_OUTPUT_DIR", "rel/out")
    env.setenv("BAILIAN_DATA_DIR", "./state")
    settings = load_settings()
    assert settings.output_dir == (tmp_path / "rel" / "out").resolve()
    assert settings.data_dir == (tmp_path / "state").resolve()


def test_the_api_key_never_appears_in_repr_or_str(env: pytest.MonkeyPatch) -> None:
    env.setenv("DASHSCOPE_API_KEY", SECRET)
    settings = load_settings()
    assert SECRET not in repr(settings)
    assert SECRET not in str(settings)
    assert SECRET not in repr(settings.api_key) and SECRET not in str(settings.api_key)
    assert SECRET not in settings.region_hint()
    assert SECRET not in settings.model_dump_json()


def test_the_api_key_from_a_flag_never_appears_in_repr_or_str(env: pytest.MonkeyPatch) -> None:
    settings = load_settings(api_key=SECRET)
    assert SECRET not in repr(settings) and SECRET not in str(settings)
    assert settings.api_key_value() == SECRET


@pytest.mark.parametrize("region", ["eu-west-1", "beijing", "cn-shanghai", ""])
def test_an_unknown_region_is_rejected(env: pytest.MonkeyPatch, region: str) -> None:
    env.setenv("BAILIAN_REGION", region)
    with pytest.raises(ConfigurationError) as caught:
        load_settings()
    assert "BAILIAN_REGION" in str(caught.value)


def test_an_unknown_region_flag_is_rejected() -> None:
    with pytest.raises(ConfigurationError, match="region"):
        load_settings(region="mars-1")


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("BAILIAN_WAIT_SECONDS", "601"),
        ("BAILIAN_WAIT_SECONDS", "-1"),
        ("BAILIAN_PREVIEW_BYTES", str(901 * 1024)),
        ("BAILIAN_PREVIEW_SIDE", "32"),
        ("BAILIAN_DOWNLOAD_MAX_BYTES", "0"),
        ("BAILIAN_HTTP_TIMEOUT", "0"),
        ("BAILIAN_IMAGE_RPS", "-2"),
    ],
)
def test_out_of_range_numbers_are_configuration_errors_naming_the_variable(
    env: pytest.MonkeyPatch, name: str, value: str
) -> None:
    env.setenv(name, value)
    with pytest.raises(ConfigurationError) as caught:
        load_settings()
    assert name in str(caught.value)


def test_numbers_are_read_from_the_environment(env: pytest.MonkeyPatch) -> None:
    env.setenv("BAILIAN_WAIT_SECONDS", "120")
    env.setenv("BAILIAN_IMAGE_RPS", "0.5")
    env.setenv("BAILIAN_HTTP_TIMEOUT", "12.5")
    settings = load_settings()
    assert settings.wait_seconds == 120 and settings.image_submit_rps == 0.5 and settings.http_timeout == 12.5


@pytest.mark.parametrize(
    "url",
    [
        "http://[::1",
        "http://127.0.0.1:99999/api/v1",
        "http://127.0.0.1:abc/api/v1",
        "http://xn--/api/v1",
        "ftp://dashscope.example/api/v1",
        "not a url",
        "https:///api/v1",
    ],
)
def test_a_base_url_that_cannot_be_used_is_refused_naming_it(env: pytest.MonkeyPatch, url: str) -> None:
    with pytest.raises(ConfigurationError, match=r"base_url: .* is not a usable URL"):
        load_settings(base_url=url)
    env.setenv("DASHSCOPE_BASE_URL", url)
    with pytest.raises(ConfigurationError, match=r"DASHSCOPE_BASE_URL: .* is not a usable URL"):
        load_settings()


def test_usable_base_urls_are_kept_without_the_trailing_slash(env: pytest.MonkeyPatch) -> None:
    assert load_settings(base_url="http://127.0.0.1:8765/api/v1/").resolved_base_url == "http://127.0.0.1:8765/api/v1"
    assert load_settings(base_url="https://bücher.example/api/v1").resolved_base_url == "https://bücher.example/api/v1"
    assert load_settings(websocket_url="wss://ws.example/api-ws/v1/inference/").websocket_url == (
        "wss://ws.example/api-ws/v1/inference"
    )
    with pytest.raises(ConfigurationError, match=r"websocket_url: .*give ws or wss"):
        load_settings(websocket_url="https://ws.example/api-ws/v1/inference")


def test_an_empty_flag_leaves_the_environment_s_value(env: pytest.MonkeyPatch) -> None:
    env.setenv("DASHSCOPE_BASE_URL", "http://127.0.0.1:8765/api/v1")
    assert load_settings(base_url="").resolved_base_url == "http://127.0.0.1:8765/api/v1"


@pytest.mark.parametrize("region", sorted(REGION_BASE_URLS))
def test_each_of_the_six_regions_has_a_gateway(env: pytest.MonkeyPatch, region: str) -> None:
    env.setenv("BAILIAN_REGION", region)
    assert load_settings().resolved_base_url == REGION_BASE_URLS[region]
    assert len(REGION_BASE_URLS) == 6


def test_a_workspace_selects_its_own_gateway_in_the_region(env: pytest.MonkeyPatch) -> None:
    env.setenv("BAILIAN_REGION", "eu-central-1")
    env.setenv("BAILIAN_WORKSPACE", "llm-abc123")
    settings = load_settings()
    assert settings.resolved_base_url == "https://llm-abc123.eu-central-1.maas.aliyuncs.com/api/v1"
    assert settings.websocket_url is None  # derived from the base URL by the client: wss://<same host>/api-ws/...


def test_the_sdks_variable_names_are_read_when_ours_are_unset(env: pytest.MonkeyPatch) -> None:
    env.setenv("DASHSCOPE_REGION", "ap-northeast-1")
    env.setenv("DASHSCOPE_WORKSPACE", "ws-7")
    settings = load_settings()
    assert (settings.region, settings.workspace) == ("ap-northeast-1", "ws-7")
    env.setenv("BAILIAN_REGION", "cn-hongkong")
    assert load_settings().region == "cn-hongkong"  # ours win


def test_a_workspace_that_is_not_an_id_is_refused(env: pytest.MonkeyPatch) -> None:
    env.setenv("BAILIAN_WORKSPACE", "https://evil.example/")
    with pytest.raises(ConfigurationError, match="workspace"):
        load_settings()


def test_the_region_hint_names_the_region_used_and_the_others_to_try(env: pytest.MonkeyPatch) -> None:
    env.setenv("BAILIAN_REGION", "us-east-1")
    hint = load_settings().region_hint()
    assert "BAILIAN_REGION=us-east-1, Virginia" in hint
    assert all(region in hint for region in REGION_BASE_URLS)
