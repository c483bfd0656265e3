"""Every secret registered with the CI runner, read from the real output streams of pytest runs
(with and without ``-n 2`` and ``-s``) and of ``livechat-token``: ``::add-mask::`` under GitHub
Actions, ``##vso[task.setsecret]`` under Azure Pipelines, ``buildkite-agent redactor add``
under Buildkite, before anything could print the secret; nothing outside them."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from ..support.accounts_server import AccountsServer
from ..support.helpers import cache_pair

TOKEN = "dal:env-token-of-the-ci-run-0123456789"
PRINTS = """
import subprocess

def test_prints(livechat_bearer):
    print("printed by the test:", livechat_bearer)
    subprocess.run(["echo", "printed by a subprocess:", str(livechat_bearer)], check=True)
"""


def pytest_run(
    path: Path, environ: dict[str, str], *args: str, merged: bool = False
) -> subprocess.CompletedProcess[str]:
    """pytest in ``path`` as a CI job runs it: its own process, its streams as they are."""
    env = {**os.environ, **environ}
    env.pop("PYTEST_ADDOPTS", None)
    command = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", *args]
    return subprocess.run(
        command,
        cwd=path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT if merged else subprocess.PIPE,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.fixture
def suite(tmp_path: Path) -> Path:
    (tmp_path / "test_prints.py").write_text(PRINTS)
    return tmp_path


def test_github_actions_masks_before_anything_prints_it(suite: Path) -> None:
    environ = {"GITHUB_ACTIONS": "true", "LIVECHAT_BEARER_TOKEN": TOKEN}
    merged = pytest_run(suite, environ, "-s", merged=True)
    assert merged.returncode == 0, merged.stdout
    lines = merged.stdout.splitlines()
    first = next(number for number, line in enumerate(lines) if TOKEN in line)
    assert lines[first] == f"::add-mask::{TOKEN}", "registered before any print of it"
    assert lines.count(f"::add-mask::{TOKEN}") == 1, "once a process"
    assert any(line.endswith(f"printed by a subprocess: {TOKEN}") for line in lines)
    apart = pytest_run(suite, environ, "-s")
    assert "::add-mask::" not in apart.stdout
    assert f"::add-mask::{TOKEN}" in apart.stderr.splitlines()


def test_every_xdist_worker_registers_what_it_learns(suite: Path) -> None:
    environ = {"GITHUB_ACTIONS": "true", "LIVECHAT_BEARER_TOKEN": TOKEN}
    result = pytest_run(suite, environ, "-n", "2")
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stderr.splitlines().count(f"::add-mask::{TOKEN}") == 3  # controller, 2 workers
    assert TOKEN not in result.stdout


def test_a_renewed_and_rotated_pair_is_registered(
    tmp_path: Path, accounts: AccountsServer, cache_file: Path
) -> None:
    before = cache_pair(cache_file, accounts, account="default", account_id="acc-1", seconds=-60)
    (tmp_path / "test_one.py").write_text("def test_one(livechat_bearer):\n    pass\n")
    environ = {
        "GITHUB_ACTIONS": "true",
        "XDG_CACHE_HOME": os.environ["XDG_CACHE_HOME"],
    }
    settings = ["--livechat-client-id=client-1", f"--livechat-accounts-url={accounts.url}"]
    result = pytest_run(tmp_path, environ, *settings, "--livechat-grant=code")
    assert result.returncode == 0, result.stdout + result.stderr
    masked = {line.removeprefix("::add-mask::") for line in result.stderr.splitlines()}
    renewed_access = accounts.refresh_tokens  # refresh token -> its access token, after rotation
    (new_refresh, new_access) = next(iter(renewed_access.items()))
    assert {before["access_token"], before["refresh_token"], new_access, new_refresh} <= masked
    for secret in (new_access, new_refresh):
        assert secret not in result.stdout


def test_azure_pipelines_registers_on_stdout(suite: Path) -> None:
    environ = {"TF_BUILD": "True", "LIVECHAT_BEARER_TOKEN": TOKEN}
    result = pytest_run(suite, environ)
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    registered = [line for line in lines if line.startswith("##vso[task.setsecret]")]
    assert lines[: len(registered)] == registered, "before anything else"
    assert f"##vso[task.setsecret]{TOKEN}" in registered
    assert f"##vso[task.setsecret]{TOKEN.replace(':', '%3A')}" in registered, "URL-encoded too"
    assert "setsecret" not in result.stderr


def test_buildkite_registers_with_its_agent(suite: Path, tmp_path: Path) -> None:
    """A stand-in ``buildkite-agent`` on PATH that writes down what it is given."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    agent = bin_dir / "buildkite-agent"
    agent.write_text(
        '#!/bin/sh\necho "$@" >> "$REDACTED"\ncat >> "$REDACTED"\necho >> "$REDACTED"\n'
    )
    agent.chmod(0o755)
    redacted = tmp_path / "redacted.txt"
    environ = {
        "BUILDKITE": "true",
        "LIVECHAT_BEARER_TOKEN": TOKEN,
        "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}",
        "REDACTED": str(redacted),
    }
    result = pytest_run(suite, environ)
    assert result.returncode == 0, result.stdout + result.stderr
    told = redacted.read_text().splitlines()
    assert told.count("redactor add") == len(told) // 2, "one call a value, its value on stdin"
    assert TOKEN in told[1::2]
    assert TOKEN not in result.stdout + result.stderr


def test_nothing_is_registered_outside_a_ci_runner(suite: Path) -> None:
    result = pytest_run(suite, {"LIVECHAT_BEARER_TOKEN": TOKEN, "GITLAB_CI": "true"}, "-s")
    assert result.returncode == 0
    for marker in ("::add-mask::", "##vso[", "redactor"):
        assert marker not in result.stdout + result.stderr


def test_the_cli_registers_on_stderr_and_prints_only_the_token(tmp_path: Path) -> None:
    env = {**os.environ, "GITHUB_ACTIONS": "true", "LIVECHAT_BEARER_TOKEN": TOKEN}
    result = subprocess.run(
        [sys.executable, "-m", "pytest_livechat_token", "token", "--client-id=client-1"],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == f"{TOKEN}\n", "TOKEN=$(livechat-token token) captures the token alone"
    assert f"::add-mask::{TOKEN}" in result.stderr.splitlines()
