"""`make console`'s region: the hint it prints when it cannot tell the region names what it reads."""

from __future__ import annotations

import pytest

from console import __main__ as make_console

#: An API behind a custom domain: its URL names no region.
CUSTOM_DOMAIN_URL = "https://tasks.example.com/v1"


@pytest.fixture
def no_aws_config(monkeypatch: pytest.MonkeyPatch, tmp_path: object) -> pytest.MonkeyPatch:
    """Credentials from the environment only; no profile, no region from anywhere else."""
    for name in ("AWS_REGION", "AWS_DEFAULT_REGION", "AWS_PROFILE", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent/aws-config")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/aws-credentials")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "secret-example")
    return monkeypatch


def test_without_a_region_the_hint_names_aws_region(no_aws_config: pytest.MonkeyPatch) -> None:
    with pytest.raises(make_console.ConsoleConfigError, match=r"give --region \(or AWS_REGION\)"):
        make_console.build(make_console.parse_args(["--api-url", CUSTOM_DOMAIN_URL]))


def test_aws_region_as_the_hint_says_gives_the_region(no_aws_config: pytest.MonkeyPatch) -> None:
    no_aws_config.setenv("AWS_REGION", "eu-west-1")

    setup = make_console.build(make_console.parse_args(["--api-url", CUSTOM_DOMAIN_URL]))

    assert setup.region == "eu-west-1"


def test_aws_region_wins_over_aws_default_region_and_region_wins_over_both(no_aws_config: pytest.MonkeyPatch) -> None:
    no_aws_config.setenv("AWS_REGION", "eu-west-1")
    no_aws_config.setenv("AWS_DEFAULT_REGION", "us-east-2")

    from_env = make_console.build(make_console.parse_args(["--api-url", CUSTOM_DOMAIN_URL]))
    given = make_console.build(make_console.parse_args(["--api-url", CUSTOM_DOMAIN_URL, "--region", "ap-northeast-2"]))

    assert (from_env.region, given.region) == ("eu-west-1", "ap-northeast-2")
