"""The CI runner's own log: every secret this process learns is registered with the runner, so
that the runner masks it in everything the job prints (a test's subprocess, ``-s`` prints, a
later step's ``curl``), not only in what pytest reports.

- GitHub Actions (``GITHUB_ACTIONS=true``): ``::add-mask::VALUE`` on a line of its own, on
  stderr, which the runner reads as it reads stdout (Workflow commands > Masking a value in a
  log);
- Azure Pipelines (``TF_BUILD``): ``##vso[task.setsecret]VALUE`` on stdout, the stream the agent
  scans for logging commands (stderr in an xdist worker, whose stdout is not the job's);
- Buildkite (``BUILDKITE=true``, ``buildkite-agent`` on PATH): ``buildkite-agent redactor add``
  with the value on its stdin.

The registration holds the secret itself, so it is written only where such a runner reads it,
straight to the stream the process started with (``start``, before pytest captures it), never
through pytest's terminal writer. GitLab CI has no run-time masking: nothing is written there.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Mapping

from .._base import redact

GITHUB, AZURE, BUILDKITE = "github", "azure", "buildkite"


def runner_of(environ: Mapping[str, str]) -> str | None:
    """Which CI runner masks values this process registers, from its environment."""
    if environ.get("GITHUB_ACTIONS") == "true":
        return GITHUB
    if environ.get("TF_BUILD", "").lower() == "true":
        return AZURE
    if environ.get("BUILDKITE") == "true":
        return BUILDKITE
    return None


def line_for(runner: str, value: str) -> str | None:
    """The log line that registers ``value`` with ``runner``; None for a value a line cannot
    carry (a line break in it) or a runner that takes no line."""
    if "\n" in value or "\r" in value or not value.strip():
        return None
    if runner == GITHUB:
        return f"::add-mask::{value}"
    if runner == AZURE:
        return f"##vso[task.setsecret]{value}"
    return None


class Registrar:
    """Registers each secret it is told of with the runner, once (``redact`` tells each form
    once a process)."""

    def __init__(self, runner: str, fd: int | None, agent: str | None = None) -> None:
        self.runner = runner
        self._fd = fd  # a duplicate of the stream the process started with
        self._agent = agent  # buildkite-agent's path

    def __call__(self, value: str) -> None:
        if self.runner == BUILDKITE:
            self._redactor(value)
            return
        line = line_for(self.runner, value)
        if line is not None and self._fd is not None:
            with contextlib.suppress(OSError):  # a closed stream: nothing reads it any more
                os.write(self._fd, f"{line}\n".encode())

    def _redactor(self, value: str) -> None:
        import subprocess

        if self._agent is None:
            return
        # The agent gone or stuck: the job's own redaction of its secrets still applies.
        with contextlib.suppress(OSError, subprocess.SubprocessError):
            subprocess.run(
                [self._agent, "redactor", "add"],
                input=value.encode(),
                capture_output=True,
                timeout=10,
                check=False,
            )


def start(environ: Mapping[str, str], *, stdout: bool) -> Registrar | None:
    """Register every secret with the runner from now on (and those known already), when this
    process runs under one; ``stdout``: whether its stdout is the job's (not in an xdist
    worker, nor in the ``livechat-token`` command, whose stdout a script captures)."""
    runner = runner_of(environ)
    if runner is None:
        return None
    if runner == BUILDKITE:
        import shutil

        registrar = Registrar(
            runner, None, shutil.which("buildkite-agent", path=environ.get("PATH"))
        )
    else:
        fd = 1 if runner == AZURE and stdout else 2
        try:
            registrar = Registrar(runner, os.dup(fd))
        except OSError:
            return None
    redact.listen(registrar)
    return registrar
