"""Whatever pytest or a plugin beside it shows or writes for a test holds no secret this process
knows.

A suite that leaks its token in every way a user's test can (assertions on derived strings,
f-strings, ``-l`` locals cut short by a repr, printed and logged output, logged exceptions,
caplog, user, suite and xml properties, skip and xfail reasons, warnings, a dying thread, a
test id, a ``.pytest_cache`` value, pytest-html extras, a failing subtest on pytest 9) runs
with every verbose option, ``--junitxml`` (xunit1), ``--html``, ``--log-file``, ``--debug``,
allure-pytest and pytest-json-report, with and without xdist; every byte shown and every file
written (the cache aside) is searched for the token, raw, URL-encoded and without its region.
``pytest.exit`` and a Ctrl-C under ``--full-trace`` run apart.
"""

from __future__ import annotations

import base64
import json
from datetime import timedelta
from pathlib import Path
from urllib.parse import quote

import pytest

from pytest_livechat_token._base.bearer import mask, utcnow
from pytest_livechat_token._store.cache import CacheEntry, TokenCache

from ..support.accounts_server import AccountsServer
from ..support.helpers import cache_pair

LEAKY_SUITE = """
import logging
import os
import sys
import threading
import warnings

import pytest

def test_header_compared(livechat_bearer):
    assert livechat_bearer.authorization == "Bearer x"

def test_f_string(livechat_bearer):
    message = f"token is {livechat_bearer}"
    assert message == "nope"

def test_long_common_prefix(livechat_bearer):
    assert str(livechat_bearer) + "-left" == str(livechat_bearer) + "-right"

def test_locals(livechat_bearer):
    headers = {"Authorization": livechat_bearer.authorization}
    padded = {"padding": "x" * 100, "Authorization": "Bearer " + livechat_bearer, "z": "y" * 200}
    raise RuntimeError("boom")

def test_output(livechat_bearer):
    print("header:", livechat_bearer.authorization)
    sys.stderr.write(str(livechat_bearer) + "\\n")
    logging.getLogger("user").warning("token %s", livechat_bearer)
    assert False

def test_property(livechat_bearer, record_property):
    record_property("token", str(livechat_bearer))
    assert False

def test_skip_reason(livechat_bearer):
    pytest.skip(f"skipping for {livechat_bearer}")

@pytest.mark.parametrize("value", [os.environ.get("LIVECHAT_BEARER_TOKEN", "dal:none-in-env")])
def test_id_holds_the_environment_token(value):
    assert False

def test_xfail_reason(livechat_bearer):
    pytest.xfail(f"xfail for {livechat_bearer}")

def test_warning(livechat_bearer):
    warnings.warn(f"careful with {livechat_bearer}")

def test_a_thread_dies(livechat_bearer):
    def run():
        raise RuntimeError(f"the thread saw {livechat_bearer}")
    thread = threading.Thread(target=run)
    thread.start()
    thread.join()

def test_logged_exception(livechat_bearer):
    try:
        raise ValueError(f"bad {livechat_bearer}")
    except ValueError:
        logging.getLogger("user").exception("it failed")
    assert False

def test_caplog_holds_no_token(livechat_bearer, caplog):
    try:
        raise ValueError(f"bad {livechat_bearer}")
    except ValueError:
        logging.getLogger("user").exception("caught %s", livechat_bearer)
    assert str(livechat_bearer) not in caplog.text
    assert str(livechat_bearer) not in caplog.records[-1].getMessage()

def test_suite_property(livechat_bearer, record_testsuite_property):
    record_testsuite_property("token", str(livechat_bearer))

def test_xml_attribute(livechat_bearer, record_xml_attribute):
    record_xml_attribute("token", str(livechat_bearer))

def test_cache_value(livechat_bearer, request):
    request.config.cache.set("leaky/token", {str(livechat_bearer): [str(livechat_bearer)]})

def test_html_extras(livechat_bearer, extras):
    import pytest_html
    extras.append(pytest_html.extras.text(str(livechat_bearer), name="token"))
    extras.append(pytest_html.extras.url(f"https://x.test/?t={livechat_bearer}"))
"""
LEAKY_OUTCOMES = {"failed": 8, "skipped": 1, "xfailed": 1, "passed": 7}
"""What ``LEAKY_SUITE`` ends with."""

SUBTEST_LEAK = """
def test_a_subtest_leaks(livechat_bearer, subtests):
    with subtests.test(msg="leaks"):
        print("Bearer", livechat_bearer)
        assert livechat_bearer == "x"
"""
if hasattr(pytest, "Subtests"):  # pytest 9's own subtests: a failing one counts twice
    LEAKY_SUITE += SUBTEST_LEAK
    LEAKY_OUTCOMES["failed"] += 2

VERBOSE = (
    "-l",
    "-vv",
    "--tb=long",
    "-rA",
    "--setup-show",
    "--junitxml=report.xml",
    "-o",
    "junit_family=xunit1",
    "--html=report.html",
    "--log-file=log.txt",
    "--debug=debug.log",
    "--alluredir=allure-results",
    "--json-report",
    "--json-report-file=report.json",
    "--log-level=DEBUG",
    "-o",
    "log_cli=true",
)


@pytest.fixture(autouse=True)
def _report_plugins(with_plugins: None) -> None:
    """The leaky suite runs with pytest-html (``--html``, ``extras``), allure-pytest and
    pytest-json-report."""


def forms(*secrets: str) -> set[str]:
    return {
        form
        for secret in secrets
        for form in (secret, quote(secret, safe=""), secret.partition(":")[2] or secret)
    }


def assert_nowhere(pytester: pytest.Pytester, shown: str, secrets: set[str], cache: Path) -> None:
    for secret in secrets:
        assert secret not in shown, f"{secret[:6]}… is shown"
    written = [
        path
        for path in pytester.path.rglob("*")
        if path.is_file() and not path.name.startswith(cache.name)
    ]
    names = {path.name for path in written}
    assert {"report.xml", "report.html", "log.txt", "debug.log", "report.json"} <= names
    assert any(name.endswith("-result.json") for name in names), "allure wrote its results"
    for path in written:
        content = path.read_bytes()
        for secret in secrets:
            assert secret.encode() not in content, f"a token is in {path.name}"


@pytest.mark.parametrize("workers", [[], ["-n", "2"]], ids=["one-process", "xdist"])
def test_an_environment_token_is_masked_in_every_report(
    pytester: pytest.Pytester,
    monkeypatch: pytest.MonkeyPatch,
    accounts: AccountsServer,
    cache_file: Path,
    workers: list[str],
) -> None:
    token = "dal:" + "EnvSecretValue0123456789abcdefXYZ"
    monkeypatch.setenv("LIVECHAT_BEARER_TOKEN", token)
    pytester.makepyfile(test_leaky=LEAKY_SUITE)
    result = pytester.runpytest_subprocess(*VERBOSE, *workers)
    result.assert_outcomes(**LEAKY_OUTCOMES)
    shown = result.stdout.str() + result.stderr.str()
    assert mask(token) in shown, "the token is shown masked where the suite printed it"
    assert_nowhere(pytester, shown, forms(token), cache_file)


def test_a_cached_pair_is_masked_in_every_report(
    pytester: pytest.Pytester, accounts: AccountsServer, cache_file: Path
) -> None:
    pair = accounts.pair()
    now = utcnow()
    TokenCache(cache_file).put(
        accounts.url,
        "client-1",
        CacheEntry(
            pair["access_token"],
            now + timedelta(hours=8),
            now,
            scope=pair["scope"],
            refresh_token=pair["refresh_token"],
        ),
    )
    pytester.makepyfile(test_leaky=LEAKY_SUITE)
    result = pytester.runpytest_subprocess(
        *VERBOSE, "--livechat-client-id=client-1", f"--livechat-accounts-url={accounts.url}"
    )
    result.assert_outcomes(**LEAKY_OUTCOMES)
    shown = result.stdout.str() + result.stderr.str()
    stored = json.loads(cache_file.read_text())["entries"][accounts.url]["client-1"]["default"]
    assert_nowhere(
        pytester, shown, forms(stored["access_token"], stored["refresh_token"]), cache_file
    )


def test_an_unexpected_error_on_the_token_path_is_one_line(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    token = "dal:" + "BoundarySecret0123456789abcdef"
    monkeypatch.setenv("LIVECHAT_BEARER_TOKEN", token)
    pytester.makeconftest(
        """
        from pytest_livechat_token._core.obtain import TokenSource

        def explode(self, entries=None):
            bearer = self.run.environ["LIVECHAT_BEARER_TOKEN"]
            headers = {"Authorization": f"Bearer {bearer}"}
            raise OverflowError(f"date value out of range near {headers}")

        TokenSource.cached = explode
        """
    )
    pytester.makepyfile("def test_one(livechat_bearer):\n    pass\n")
    result = pytester.runpytest_subprocess("-l", "--tb=long")
    result.assert_outcomes(errors=1)
    out = result.stdout.str() + result.stderr.str()
    assert "pytest-livechat-token failed unexpectedly (OverflowError)" in out
    assert "Traceback" not in out
    assert "explode" not in out
    for secret in forms(token):
        assert secret not in out


def test_a_malformed_environment_token_stops_pytest_without_echo(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LIVECHAT_BEARER_TOKEN", "dal:first-half\nsecond-half")
    result = pytester.runpytest_subprocess()
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    err = result.stderr.str()
    assert "ERROR: LIVECHAT_BEARER_TOKEN does not hold a LiveChat token" in err
    assert "first-half" not in err + result.stdout.str()
    assert "second-half" not in err + result.stdout.str()


def test_a_broken_accounts_url_is_a_usage_error(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest_subprocess("--livechat-accounts-url=http://[::1")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert "INTERNALERROR" not in result.stderr.str() + result.stdout.str()
    result.stderr.fnmatch_lines(["ERROR: --livechat-accounts-url is not a usable address*"])


def test_named_accounts_are_masked_in_every_report(
    pytester: pytest.Pytester,
    monkeypatch: pytest.MonkeyPatch,
    accounts: AccountsServer,
    cache_file: Path,
) -> None:
    """The leaky suite as another account (a cached pair), and a test that prints a third
    account's token from ``LIVECHAT_BEARER_TOKEN_VIEWER``."""
    pair = cache_pair(cache_file, accounts)
    viewer = "fra:" + "ViewerSecretValue0123456789abcdef"
    monkeypatch.setenv("LIVECHAT_BEARER_TOKEN_VIEWER", viewer)
    pytester.makeconftest(
        "import pytest\n\n"
        "@pytest.fixture\n"
        "def livechat_bearer(livechat_bearer_for):\n"
        "    return livechat_bearer_for('supervisor')\n"
    )
    pytester.makepyfile(
        test_leaky=LEAKY_SUITE + "\ndef test_viewer(livechat_bearer_for):\n"
        "    print(livechat_bearer_for('viewer'))\n"
        "    assert livechat_bearer_for('viewer') == 'x'\n"
    )
    result = pytester.runpytest_subprocess(
        *VERBOSE, "--livechat-client-id=client-1", f"--livechat-accounts-url={accounts.url}"
    )
    result.assert_outcomes(**{**LEAKY_OUTCOMES, "failed": LEAKY_OUTCOMES["failed"] + 1})
    shown = result.stdout.str() + result.stderr.str()
    secrets = forms(pair["access_token"], pair["refresh_token"], viewer)
    assert_nowhere(pytester, shown, secrets, cache_file)


PAT_LEAKS = """
import logging
import os

def test_header_compared(livechat_api):
    assert livechat_api.headers["Authorization"] == "Basic x"

def test_locals(livechat_api):
    header = livechat_api.headers["Authorization"]
    raw = os.environ["LIVECHAT_PAT"]
    raise RuntimeError("boom")

def test_output(livechat_api):
    print("header:", livechat_api.headers["Authorization"], os.environ["LIVECHAT_PAT"])
    logging.getLogger("user").warning("pat %s", os.environ["LIVECHAT_PAT"])
    assert False
"""


@pytest.mark.parametrize("form", ["plain", "base64"])
def test_a_personal_access_token_is_masked_in_every_report(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, cache_file: Path, form: str
) -> None:
    plain = "acc-9:fra:" + "PatSecretValue0123456789abcdef"
    basic = base64.b64encode(plain.encode()).decode()
    monkeypatch.setenv("LIVECHAT_PAT", plain if form == "plain" else basic)
    pytester.makepyfile(test_leaky=PAT_LEAKS)
    result = pytester.runpytest_subprocess(*VERBOSE)
    result.assert_outcomes(failed=3)
    shown = result.stdout.str() + result.stderr.str()
    secrets = forms(plain.split(":", 1)[1]) | {plain, basic, quote(plain, safe="")}
    assert_nowhere(pytester, shown, secrets, cache_file)


@pytest.mark.parametrize(
    ("body", "args"),
    [
        ('pytest.exit(f"stopping for {livechat_bearer}")', ["-rA"]),
        ("check(str(livechat_bearer))", ["--full-trace", "-l"]),
    ],
    ids=["pytest-exit", "ctrl-c-full-trace"],
)
def test_an_interrupted_run_shows_no_token(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, body: str, args: list[str]
) -> None:
    """``pytest.exit(reason)`` and a Ctrl-C, whose traceback ``--full-trace`` prints with
    every frame's arguments: the ``!!!`` lines and the trace hold the token masked."""
    token = "dal:" + "InterruptSecret0123456789abcdef"
    monkeypatch.setenv("LIVECHAT_BEARER_TOKEN", token)
    pytester.makepyfile(
        test_stop=(
            "import pytest\n\n"
            "def check(token):\n"
            "    raise KeyboardInterrupt\n\n"
            "def test_stop(livechat_bearer):\n"
            f"    {body}\n"
        )
    )
    result = pytester.runpytest_subprocess(*args, "--junitxml=report.xml")
    shown = result.stdout.str() + result.stderr.str()
    assert "!!!" in shown
    assert mask(token) in shown
    for form in forms(token):
        assert form not in shown
        assert form not in (pytester.path / "report.xml").read_text()
