"""What any other plugin reads of a test is masked before it reads it: a spy plugin of our own
implements the report hooks in every order (``tryfirst``, plain, ``trylast``; wrappers and
plain implementations; registered before this plugin and after it, from a conftest found during
collection) and writes down what it sees; the real allure-pytest and pytest-json-report write
their files; pytest 9's subtests run with and without xdist; junitxml and pytest-html write to
paths given with an environment variable; vcrpy saves a cassette of its own ``VCR``."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from pytest_livechat_token._base.bearer import mask

from ..support.accounts_server import AccountsServer
from ..support.helpers import cache_pair
from .test_secrets_in_reports import forms

TOKEN = "dal:" + "ReaderSecretValue0123456789abcdef"

SPY = """
import json, os, pytest

ORDERINGS = {"tryfirst": {"tryfirst": True}, "plain": {}, "trylast": {"trylast": True}}
LOG = os.path.join(os.environ["SPY_DIR"], "spy-" + os.environ.get("PYTEST_XDIST_WORKER", "main"))


def write(where, seen):
    with open(LOG + ".jsonl", "a") as out:
        out.write(json.dumps({"where": where, "seen": [str(item) for item in seen]}) + "\\n")


def of_report(report):
    seen = [report.longreprtext, report.sections, report.user_properties]
    seen += [getattr(report, name, None) for name in ("wasxfail", "extras", "_json_report_extra")]
    return seen


def of_call(item, call):
    seen = [item._report_sections, item.user_properties]
    if call.excinfo is not None:
        seen += [call.excinfo.exconly(), call.excinfo.value, call.excinfo.value.args]
    return seen


class Spy:
    def __init__(self, name):
        self.name = name


def make(name):
    spy = Spy(name)
    for order, flags in ORDERINGS.items():
        def wrapper(item, call, order=order):
            before = of_call(item, call)
            report = yield
            after = of_call(item, call) + of_report(report)
            write(f"{name}:makereport-wrapper-{order}", before + after)
            return report

        def plain(item, call, order=order):
            write(f"{name}:makereport-plain-{order}", of_call(item, call))

        def log_wrapper(report, order=order):
            write(f"{name}:logreport-wrapper-{order}", of_report(report))
            return (yield)

        def log_plain(report, order=order):
            write(f"{name}:logreport-plain-{order}", of_report(report))

        def fixture_wrapper(fixturedef, request, order=order):
            try:
                return (yield)
            except BaseException as error:
                write(f"{name}:fixture-setup-{order}", [error, error.args])
                raise

        def warned(warning_message, order=order):
            write(f"{name}:warning-{order}", [warning_message.message])

        hooks = {
            "pytest_runtest_makereport": [(wrapper, True), (plain, False)],
            "pytest_runtest_logreport": [(log_wrapper, True), (log_plain, False)],
            "pytest_fixture_setup": [(fixture_wrapper, True)],
            "pytest_warning_recorded": [(warned, False)],
        }
        for hook, impls in hooks.items():
            for function, is_wrapper in impls:
                holder = Spy(f"{name}-{hook}-{order}-{is_wrapper}")
                marked = pytest.hookimpl(wrapper=is_wrapper, **flags)(function)
                setattr(holder, hook, marked)
                yield holder
"""

CONFTEST = """
import pytest
from spy import make

def pytest_configure(config):
    for number, holder in enumerate(make("{name}")):
        config.pluginmanager.register(holder, "spy-{name}-%d" % number)
"""

LATE_CONFTEST = """
from spy import make

def pytest_collect_file(parent, file_path):
    manager = parent.config.pluginmanager
    if manager.get_plugin("spy-late-0") is None:
        for number, holder in enumerate(make("late")):
            manager.register(holder, "spy-late-%d" % number)
"""

SUITE = """
import os, sys, warnings
import pytest

@pytest.fixture
def broken(livechat_bearer):
    raise RuntimeError(f"the fixture saw {livechat_bearer}")

def test_headers(livechat_bearer):
    headers = {"authorization": livechat_bearer.authorization}
    print("sent", headers)
    assert dict(headers) == {}

def test_raised(livechat_bearer):
    raise ValueError({"Authorization": f"Bearer {livechat_bearer}"})

def test_fixture(broken):
    pass

def test_xfail(livechat_bearer):
    pytest.xfail(f"xfail for {livechat_bearer}")

def test_property(livechat_bearer, record_property):
    record_property("token", str(livechat_bearer))
    sys.stderr.write(f"err {livechat_bearer}\\n")
    assert False

def test_warning(livechat_bearer):
    warnings.warn(f"careful with {livechat_bearer}")
"""
SUITE_OUTCOMES = {"failed": 3, "errors": 1, "xfailed": 1, "passed": 1}


def _spied(pytester: pytest.Pytester) -> list[dict[str, object]]:
    records = []
    for path in sorted(pytester.path.glob("spy-*.jsonl")):
        records += [json.loads(line) for line in path.read_text().splitlines()]
    return records


def _assert_masked(pytester: pytest.Pytester, shown: str, *also: Path) -> None:
    """No form of the token in what was shown, in the spy's records or in any file the run
    wrote; the spy saw the token masked (it read what it was meant to)."""
    written = [path for path in pytester.path.rglob("*") if path.is_file()] + list(also)
    for secret in forms(TOKEN):
        assert secret not in shown, f"{secret[:8]}… is shown"
        for path in written:
            assert secret.encode() not in path.read_bytes(), f"{secret[:8]}… is in {path.name}"


@pytest.fixture
def spied(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> pytest.Pytester:
    """A project whose spies are registered before this plugin (the root conftest's
    ``pytest_configure`` runs first) and after it (from a conftest found while collecting)."""
    monkeypatch.setenv("LIVECHAT_BEARER_TOKEN", TOKEN)
    monkeypatch.setenv("SPY_DIR", str(pytester.path))
    monkeypatch.setenv("PYTHONPATH", str(pytester.path))
    pytester.makepyfile(spy=SPY)
    pytester.makeconftest(CONFTEST.replace("{name}", "early"))
    tests = pytester.mkpydir("tests")
    (tests / "conftest.py").write_text(LATE_CONFTEST)
    (tests / "test_suite.py").write_text(SUITE)
    return pytester


@pytest.mark.parametrize("workers", [[], ["-n", "2"]], ids=["one-process", "xdist"])
def test_every_hook_order_reads_masked(spied: pytest.Pytester, workers: list[str]) -> None:
    result = spied.runpytest_subprocess("-l", "-p", "no:randomly", *workers)
    result.assert_outcomes(**SUITE_OUTCOMES)
    records = _spied(spied)
    seen = {str(record["where"]) for record in records}
    for name in ("early", "late"):
        for order in ("tryfirst", "plain", "trylast"):
            for hook in ("makereport-wrapper", "logreport-wrapper", "logreport-plain"):
                assert f"{name}:{hook}-{order}" in seen
            if order != "trylast":  # pytest's own plain one answers before a trylast one
                assert f"{name}:makereport-plain-{order}" in seen
            assert f"{name}:fixture-setup-{order}" in seen
            assert f"{name}:warning-{order}" in seen
    everything = json.dumps(records, ensure_ascii=False)
    assert mask(TOKEN) in everything, "the spies read the token, masked"
    _assert_masked(spied, result.stdout.str() + result.stderr.str())


def test_allure_and_json_report_files_hold_no_token(
    spied: pytest.Pytester, with_plugins: None
) -> None:
    result = spied.runpytest_subprocess(
        "--alluredir=allure-results",
        "--json-report",
        "--json-report-file=report.json",
        "-l",
    )
    result.assert_outcomes(**SUITE_OUTCOMES)
    results = list((spied.path / "allure-results").glob("*-result.json"))
    assert len(results) == 6
    allure = [json.loads(path.read_text()) for path in results]
    messages = [str(test.get("statusDetails", {}).get("message")) for test in allure]
    assert any(mask(TOKEN) in message for message in messages)
    attachments = list((spied.path / "allure-results").glob("*-attachment.txt"))
    assert any(mask(TOKEN) in path.read_text() for path in attachments)
    report = json.loads((spied.path / "report.json").read_text())
    stdout = [test["call"].get("stdout", "") for test in report["tests"] if "call" in test]
    assert any(mask(TOKEN) in text for text in stdout)
    _assert_masked(spied, result.stdout.str() + result.stderr.str())


SUBTESTS = """
def test_subtests(livechat_bearer, subtests):
    for number in range(2):
        with subtests.test(msg="sub", number=number):
            print("Bearer", livechat_bearer)
            assert number == 1
"""


@pytest.mark.parametrize("workers", [[], ["-n", "2"]], ids=["one-process", "xdist"])
def test_a_subtest_logged_in_by_a_worker_is_masked(
    pytester: pytest.Pytester, accounts: AccountsServer, cache_file: Path, workers: list[str]
) -> None:
    """A worker obtains the token itself (the controller never learns it: no hand-off, as
    with remote workers) and a failing subtest's captured output holds it."""
    if not hasattr(pytest, "Subtests"):
        pytest.skip("pytest's own subtests came with pytest 9")
    pair = cache_pair(cache_file, accounts, account="default", account_id="acc-1")
    # The controller looks in an empty cache of its own: it hands nothing over, and learns
    # no token; each worker finds the cached pair itself.
    pytester.makeconftest(
        "import pytest\n\n"
        "@pytest.hookimpl(tryfirst=True)\n"
        "def pytest_configure(config):\n"
        "    if not hasattr(config, 'workerinput') and config.getoption('numprocesses'):\n"
        "        config.option.livechat_token_cache = 'controller-cache/tokens.json'\n"
    )
    pytester.makepyfile(test_sub=SUBTESTS)
    result = pytester.runpytest_subprocess(
        "--livechat-client-id=client-1",
        f"--livechat-accounts-url={accounts.url}",
        "-rA",
        "--junitxml=report.xml",
        *workers,
    )
    shown = result.stdout.str() + result.stderr.str()
    assert "Captured stdout call" in shown
    assert mask(pair["access_token"]) in shown
    for secret in forms(pair["access_token"], pair["refresh_token"]):
        assert secret not in shown
        assert secret not in (pytester.path / "report.xml").read_text()


def test_report_paths_with_a_variable_are_masked(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, with_plugins: None
) -> None:
    """``--junitxml=$REPORTS/junit.xml`` and ``--html=$REPORTS/report.html``: the files are
    found where junitxml and pytest-html wrote them, and masked."""
    monkeypatch.setenv("LIVECHAT_BEARER_TOKEN", TOKEN)
    reports = pytester.path / "reports"
    monkeypatch.setenv("REPORTS", str(reports))
    pytester.makepyfile(
        "import os\n\n"
        "def test_suite_property(livechat_bearer, record_testsuite_property):\n"
        "    record_testsuite_property('token', str(livechat_bearer))\n"
        "    os.chdir(os.environ['REPORTS'] + '/..')\n"
    )
    result = pytester.runpytest_subprocess(
        "--junitxml=$REPORTS/junit.xml", "--html=$REPORTS/report.html"
    )
    result.assert_outcomes(passed=1)
    junit = (reports / "junit.xml").read_text()
    assert mask(TOKEN) in junit
    assert (reports / "report.html").is_file()
    _assert_masked(pytester, result.stdout.str() + result.stderr.str())


VCR_DIRECT = """
import httpx, os, vcr

def test_own_vcr(livechat_bearer):
    recorder = vcr.VCR(cassette_library_dir="cassettes")
    with recorder.use_cassette("own.yaml"):
        headers = {"Authorization": livechat_bearer.authorization}
        httpx.get(os.environ["API"] + "/echo", headers=headers)

def test_module_vcr(livechat_bearer):
    with vcr.use_cassette("cassettes/module.json", serializer="json"):
        httpx.get(os.environ["API"] + "/echo?token=" + livechat_bearer)
"""


def test_vcrpy_used_directly_saves_masked_cassettes(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, accounts: AccountsServer
) -> None:
    """A test's own ``vcr.VCR()`` and the module's ``vcr.use_cassette`` (no pytest-recording:
    vcrpy is imported by the test module, after this plugin configured)."""
    monkeypatch.setenv("LIVECHAT_BEARER_TOKEN", TOKEN)
    monkeypatch.setenv("API", accounts.url)
    pytester.makepyfile(test_vcr=VCR_DIRECT)
    result = pytester.runpytest_subprocess()
    result.assert_outcomes(passed=2)
    cassettes = sorted((pytester.path / "cassettes").iterdir())
    assert [path.name for path in cassettes] == ["module.json", "own.yaml"]
    import yaml  # vcrpy's own dependency

    own = yaml.safe_load((pytester.path / "cassettes" / "own.yaml").read_text())
    sent = own["interactions"][0]["request"]["headers"]
    assert sent["authorization"] == [f"Bearer {mask(TOKEN)}"]
    _assert_masked(pytester, result.stdout.str() + result.stderr.str())


def test_vcrpy_imported_before_the_plugin_configures(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, accounts: AccountsServer
) -> None:
    """vcrpy already imported (by a conftest) when this plugin configures."""
    monkeypatch.setenv("LIVECHAT_BEARER_TOKEN", TOKEN)
    monkeypatch.setenv("API", accounts.url)
    pytester.makeconftest("import vcr\n")
    pytester.makepyfile(test_vcr=VCR_DIRECT)
    result = pytester.runpytest_subprocess()
    result.assert_outcomes(passed=2)
    assert os.listdir(pytester.path / "cassettes")
    _assert_masked(pytester, result.stdout.str() + result.stderr.str())
