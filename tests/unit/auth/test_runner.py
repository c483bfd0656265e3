"""``_auth.runner``: which CI runner masks what, and the line that tells it (the real streams:
``tests/e2e/test_ci_runner.py``)."""

from __future__ import annotations

import os

import pytest

from pytest_livechat_token._auth.runner import AZURE, GITHUB, Registrar, line_for, runner_of
from pytest_livechat_token._base import redact


@pytest.mark.parametrize(
    ("environ", "runner"),
    [
        ({"GITHUB_ACTIONS": "true"}, GITHUB),
        ({"TF_BUILD": "True"}, AZURE),
        ({"BUILDKITE": "true"}, "buildkite"),
        ({"GITLAB_CI": "true"}, None),  # GitLab masks only what its settings name
        ({"GITHUB_ACTIONS": "false"}, None),
        ({}, None),
    ],
)
def test_the_runner_is_read_from_the_environment(environ: dict[str, str], runner: str) -> None:
    assert runner_of(environ) == runner


def test_a_value_a_line_cannot_carry_is_not_written() -> None:
    assert line_for(GITHUB, "dal:abc123456789") == "::add-mask::dal:abc123456789"
    assert line_for(AZURE, "dal:abc123456789") == "##vso[task.setsecret]dal:abc123456789"
    assert line_for(GITHUB, "two\nlines-of-it") is None
    assert line_for(GITHUB, "   ") is None


def test_each_form_is_registered_once_and_those_known_before_too() -> None:
    read, write = os.pipe()
    redact.remember("dal:known-before-0123456789")
    redact.listen(Registrar(GITHUB, write))
    redact.remember("dal:learnt-after-0123456789", "dal:known-before-0123456789")
    os.close(write)
    with os.fdopen(read) as stream:
        lines = stream.read().splitlines()
    assert sorted(lines) == sorted(
        f"::add-mask::{form}"
        for token in ("dal:known-before-0123456789", "dal:learnt-after-0123456789")
        for form in (token, token.replace(":", "%3A"), token.removeprefix("dal:"))
    )
