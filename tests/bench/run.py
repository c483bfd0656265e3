"""Benchmarks and the stress run. Prints figures and ratios; asserts no speed.

    python tests/bench/run.py                  # everything, full size (tox -e bench)
    python tests/bench/run.py startup lookup   # some of it
    python tests/bench/run.py --smoke          # tiny sizes, to see that each one works

Run from the repository root with the package installed.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from pytest_livechat_token._store.cache import CacheEntry, TokenCache

ROOT = Path(__file__).resolve().parents[2]
URL = "http://127.0.0.1:9"  # never contacted: a warm cache needs no network
TOKEN = "dal:bench-token-0123456789abcdef"


def _environ(cache_home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LIVECHAT_", "PYTEST_"))}
    env["XDG_CACHE_HOME"] = str(cache_home)
    env["BENCH_TOKEN"] = TOKEN
    return env


def _warm(cache_home: Path, *accounts: str) -> None:
    """A warm cache: the default account's token, and one for each of ``accounts``."""
    now = datetime.now(timezone.utc)
    cache = TokenCache(cache_home / "pytest-livechat-token" / "tokens.json")
    cache.put(URL, "bench-client", CacheEntry(TOKEN, now + timedelta(hours=8), now))
    for account in accounts:
        token = f"dal:bench-{account}-token-0123456789"
        cache.put(URL, "bench-client", CacheEntry(token, now + timedelta(hours=8), now), account)


def _timed(command: Sequence[str], cwd: Path, env: dict[str, str]) -> float:
    start = time.perf_counter()
    result = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - start
    if result.returncode != 0:
        raise SystemExit(f"benchmark command failed: {command}\n{result.stdout}\n{result.stderr}")
    return elapsed


def _side_by_side(
    name: str, runs: int, cwd: Path, env: dict[str, str], ours: list[str], theirs: list[str]
) -> dict[str, Any]:
    """Run both commands ``runs`` times, interleaved (the order alternating from pair to pair).

    The figure is the median of the pairs' ratios, which a slow drift of the machine's speed
    affects less than a ratio of two medians; the quartiles of those ratios show the spread.
    """
    pytest = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q"]
    _timed(pytest + ours, cwd, env)  # warm the file system caches once, unmeasured
    _timed(pytest + theirs, cwd, env)
    plugin_times, baseline_times, ratios = [], [], []
    for run in range(runs):
        if run % 2:
            baseline = _timed(pytest + theirs, cwd, env)
            plugin = _timed(pytest + ours, cwd, env)
        else:
            plugin = _timed(pytest + ours, cwd, env)
            baseline = _timed(pytest + theirs, cwd, env)
        plugin_times.append(plugin)
        baseline_times.append(baseline)
        ratios.append(plugin / baseline)
    ratio = statistics.median(ratios)
    quartiles = statistics.quantiles(ratios, n=4) if runs >= 2 else [ratio, ratio, ratio]
    plugin_s, baseline_s = statistics.median(plugin_times), statistics.median(baseline_times)
    print(
        f"{name}: plugin {plugin_s * 1000:.0f} ms, baseline {baseline_s * 1000:.0f} ms, "
        f"median paired ratio {ratio:.3f} (quartiles {quartiles[0]:.3f}-{quartiles[2]:.3f}, "
        f"{runs} pairs)"
    )
    return {
        "plugin_s": plugin_s,
        "baseline_s": baseline_s,
        "ratio": ratio,
        "quartiles": [quartiles[0], quartiles[2]],
        "runs": runs,
    }


def startup(smoke: bool) -> dict[str, Any]:
    """``pytest --collect-only -q`` on a small suite: with the plugin, and without it."""
    runs = 1 if smoke else 31
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp)
        suite = base / "suite"
        suite.mkdir()
        for module in range(1 if smoke else 10):
            tests = "".join(f"def test_{n}():\n    pass\n\n" for n in range(10))
            (suite / f"test_m{module}.py").write_text(tests)
        env = _environ(base / "cache")
        results["unconfigured"] = _side_by_side(
            "start-up, no client id",
            runs,
            suite,
            env,
            ["--collect-only"],
            ["--collect-only", "-p", "no:livechat_token"],
        )
        _warm(base / "cache")
        configured = [f"--livechat-accounts-url={URL}", "--livechat-client-id=bench-client"]
        results["configured"] = _side_by_side(
            "start-up, client id and warm cache (header reads it)",
            runs,
            suite,
            env,
            ["--collect-only", *configured],
            ["--collect-only", "-p", "no:livechat_token"],
        )
    return results


PEERS = {
    "bare": None,
    "pytest-livechat-token": "pytest_livechat_token.plugin",
    "pytest-asyncio": "pytest_asyncio.plugin",
    "pytest-randomly": "pytest_randomly",
}
"""The one-test run's plugins: none, this one, and two peers (each the module its ``pytest11``
entry point names), each alone: autoloading is off, ``-p`` names the one."""


def _instructions(command: Sequence[str], cwd: Path, env: dict[str, str]) -> int:
    """What callgrind counts for ``command``: instructions, not seconds (they do not move with
    the machine's load)."""
    result = subprocess.run(
        ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null", *command],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    found = [line for line in result.stderr.splitlines() if "Collected :" in line]
    if result.returncode != 0 or not found:
        raise SystemExit(f"callgrind failed: {command}\n{result.stdout}\n{result.stderr}")
    return int(found[-1].rsplit(":", 1)[1])


def _drop_rewritten(module: str) -> None:
    """Remove the bytecode pytest's assertion rewriter cached for ``module``'s package (files
    named ``*-pytest-*.pyc``; the interpreter's own stay, as pip installed them): a run with
    ``PYTHONDONTWRITEBYTECODE=1`` then rewrites and compiles them from source, as it does at
    every run of a container that never had them."""
    import importlib.util

    spec = importlib.util.find_spec(module.split(".", maxsplit=1)[0])
    if spec is None or spec.origin is None:
        return
    for cached in Path(spec.origin).parent.rglob("__pycache__/*-pytest-*.pyc"):
        cached.unlink()


def startup_instructions(smoke: bool) -> dict[str, Any]:
    """A one-test pytest run, bare and with each plugin alone, with bytecode caches and without
    (``PYTHONDONTWRITEBYTECODE=1``, as in many CI containers: pytest's assertion rewriter then
    compiles each module of a plugin's package from source at every run); the overhead of each
    plugin over the bare run, side by side. Skipped (said) without valgrind; a peer that is not
    installed is left out (said)."""
    import importlib.util
    import shutil

    if shutil.which("valgrind") is None:
        print("start-up instructions: skipped (valgrind is not installed)")
        return {"skipped": "valgrind is not installed"}
    wanted = list(PEERS)[:2] if smoke else list(PEERS)  # the smoke run: bare and this one
    peers = {
        name: module
        for name, module in PEERS.items()
        if name in wanted
        and (module is None or importlib.util.find_spec(module.split(".")[0]) is not None)
    }
    for name in sorted(set(wanted) - set(peers)):
        print(f"start-up instructions: {name} left out (not installed)")
    figures: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp)
        (base / "test_one.py").write_text("def test_one():\n    pass\n")
        env = _environ(base / "cache")
        env |= {"PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1", "PYTHONHASHSEED": "0"}
        for caches in (True, False):
            mode = "with bytecode caches" if caches else "without bytecode caches"
            run_env = dict(env)
            if caches:
                run_env.pop("PYTHONDONTWRITEBYTECODE", None)
            else:
                run_env["PYTHONDONTWRITEBYTECODE"] = "1"
            counts: dict[str, int] = {}
            for name, module in peers.items():
                command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"]
                command += ["-p", module] if module else []
                command.append("test_one.py")
                if caches:  # the first run writes the caches (pytest's rewritten ones too)
                    _timed(command, base, run_env)
                elif module:
                    _drop_rewritten(module)
                counts[name] = _instructions(command, base, run_env)
            bare = counts["bare"]
            overheads = {
                name: round(100 * (count - bare) / bare, 2)
                for name, count in counts.items()
                if name != "bare"
            }
            figures[mode] = {"instructions": counts, "overhead_percent": overheads}
            print(f"start-up instructions, {mode} (one-test run; overhead over bare):")
            print(f"  bare: {bare / 1e6:.1f} M")
            for name, percent in overheads.items():
                print(f"  {name}: {counts[name] / 1e6:.1f} M, +{percent:.2f} %")
    return figures


WITH_PLUGIN = """
import pytest

@pytest.mark.parametrize("n", range({count}))
def test_api(livechat_bearer, n):
    assert livechat_bearer
"""
BY_HAND = """
import os, pytest

@pytest.fixture(scope="session")
def token():
    return os.environ["BENCH_TOKEN"]

@pytest.mark.parametrize("n", range({count}))
def test_api(token, n):
    assert token
"""


def warm(smoke: bool, workers: int = 0) -> dict[str, Any]:
    """N tests using ``livechat_bearer`` on a warm cache vs a hand-written env-var fixture."""
    count, runs = (20, 1) if smoke else (200, 31 if workers == 0 else 11)
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp)
        ours, theirs = base / "ours", base / "theirs"
        ours.mkdir()
        theirs.mkdir()
        (ours / "test_api.py").write_text(WITH_PLUGIN.format(count=count))
        (theirs / "test_api.py").write_text(BY_HAND.format(count=count))
        _warm(base / "cache")
        env = _environ(base / "cache")
        parallel = ["-n", str(workers)] if workers else ["-p", "no:xdist"]
        name = f"warm cache, {count} tests" + (f", -n {workers}" if workers else "")
        plugin = [f"--livechat-accounts-url={URL}", "--livechat-client-id=bench-client", *parallel]
        baseline = ["-p", "no:livechat_token", *parallel]
        # Both commands run in their own folder: point each at its suite by path.
        return _side_by_side(name, runs, base, env, [*plugin, str(ours)], [*baseline, str(theirs)])


TWO_NAMES = """
import pytest

@pytest.mark.parametrize("n", range({count}))
def test_api(livechat_bearer, livechat_bearer_for, n):
    assert livechat_bearer != livechat_bearer_for("supervisor")
"""


def names(smoke: bool) -> dict[str, Any]:
    """N tests using two accounts (``livechat_bearer`` and ``livechat_bearer_for``) vs the same
    N tests using ``livechat_bearer`` alone, both on a warm cache."""
    count, runs = (20, 1) if smoke else (200, 31)
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp)
        two, one = base / "two", base / "one"
        two.mkdir()
        one.mkdir()
        (two / "test_api.py").write_text(TWO_NAMES.format(count=count))
        (one / "test_api.py").write_text(WITH_PLUGIN.format(count=count))
        _warm(base / "cache", "supervisor")
        env = _environ(base / "cache")
        plugin = [f"--livechat-accounts-url={URL}", "--livechat-client-id=bench-client"]
        plugin += ["-p", "no:xdist"]
        name = f"warm cache, {count} tests, two accounts vs one"
        return _side_by_side(name, runs, base, env, [*plugin, str(two)], [*plugin, str(one)])


def lookup(smoke: bool) -> dict[str, Any]:
    """One cache lookup, as the fixture makes it (read + parse), and with the lock around it."""
    calls = 200 if smoke else 10_000
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        cache = TokenCache(Path(tmp) / "tokens.json")
        now = datetime.now(timezone.utc)
        for client in range(5):  # a cache with a few entries, as a real one has
            cache.put(URL, f"client-{client}", CacheEntry(TOKEN, now + timedelta(hours=8), now))

        def locked() -> None:
            with cache.locks.writing():  # the bench reaches in: lock + read + parse
                cache._entries_of(cache._load())

        def plain() -> None:
            cache.get(URL, "client-3")

        for name, call in (
            ("read + parse (the fixture's lookup)", plain),
            ("lock + read + parse", locked),
        ):
            results[name] = _percentiles(name, call, calls)
    return results


def cleanup(smoke: bool) -> dict[str, Any]:
    """Chats left active at the test server: after 50 tests that start chats (sync, async,
    customer and bot clients, RTM sessions, resumed chats) on 4 xdist workers, and after a run
    SIGKILLed with a chat started, then after one more run."""
    sys.path.insert(0, str(ROOT))  # the test server, from a run as a script too
    from tests.support.accounts_server import AccountsServer
    from tests.support.chat_suites import KILLED, MANY, SCOPE
    from tests.support.helpers import cache_token
    from tests.support.rtm_server import RtmServer

    count, rest, workers = (1, 1, 2) if smoke else (9, 5, 4)
    server = AccountsServer().start()
    rtm = RtmServer(server).start()
    server.rtm_upstream = ("127.0.0.1", int(rtm.url.split(":")[2].split("/")[0]))
    try:
        with tempfile.TemporaryDirectory() as tmp:
            base = Path(tmp)
            env = _environ(base / "cache")
            env["PYTEST_ADDOPTS"] = "-p no:hypothesispytest -p no:randomly"
            cache = base / "cache" / "pytest-livechat-token" / "tokens.json"
            token = server.issue(scope=SCOPE)
            cache_token(cache, server.url, token, account_id="acc-1", scope=SCOPE)
            (base / "pytest.ini").write_text(
                "[pytest]\nasyncio_default_fixture_loop_scope = function\n"
            )
            (base / "test_many.py").write_text(MANY.format(count=count, rest=rest))
            command = [
                sys.executable,
                "-m",
                "pytest",
                "-q",
                "-p",
                "no:cacheprovider",
                "--livechat-client-id=client-1",
                f"--livechat-accounts-url={server.url}",
                f"--livechat-api-url={server.url}/v3.6/",
            ]
            many = subprocess.run(
                [*command, "-n", str(workers), "test_many.py"],
                cwd=base,
                env=env,
                capture_output=True,
                text=True,
                check=False,
            )
            started, left = len(server.chats), len(server.active_chats())
            (base / "test_killed.py").write_text(KILLED)
            subprocess.run(
                [*command, "test_killed.py"], cwd=base, env=env, capture_output=True, check=False
            )
            after_kill = len(server.active_chats())
            (base / "test_plain.py").write_text("def test_plain():\n    pass\n")
            subprocess.run(
                [*command, "test_plain.py"], cwd=base, env=env, capture_output=True, check=False
            )
            after_next = len(server.active_chats())
    finally:
        rtm.stop()
        server.stop()
    tests = 5 * count + rest
    print(
        f"chat cleanup: {tests} tests on {workers} workers (exit {many.returncode}): "
        f"{started} chats started, {left} left active; a run SIGKILLed after starting a chat: "
        f"{after_kill} left active, {after_next} after one more run"
    )
    return {
        "tests": tests,
        "exit": many.returncode,
        "started": started,
        "left_active": left,
        "after_kill": after_kill,
        "after_next_run": after_next,
    }


ASYNC_REQUESTS = 20


def async_pool(smoke: bool) -> dict[str, Any]:
    """20 API requests in one test over TLS to the test server, as ``livechat_async_api`` makes
    them (its client, made and closed), against a plain pooled ``httpx.AsyncClient`` and one
    that opens a connection a request (what 0.1.x did): connections opened and wall time.

    Each round runs the three once, in an order that rotates from round to round, each in a
    fresh event loop as a test under a function-scoped loop has; the figure is the median of
    the rounds' ratios (see ``_side_by_side``).
    """
    import asyncio

    import httpx

    sys.path.insert(0, str(ROOT))  # the test server, from a run as a script too
    from pytest_livechat_token._api.clients import async_api_client
    from pytest_livechat_token._base.bearer import BearerToken
    from tests.support.accounts_server import TLS, AccountsServer

    rounds = 2 if smoke else 51
    os.environ["SSL_CERT_FILE"] = str(TLS / "ca.pem")  # how a user makes httpx trust a CA
    server = AccountsServer(tls=True).start()
    token = BearerToken(server.issue())
    base_url = f"{server.url}/v3.6/"
    settings: dict[str, Any] = {
        "base_url": base_url,
        "headers": {"Authorization": token.authorization},
        "timeout": 30.0,
    }

    async def twenty(client: httpx.AsyncClient) -> None:
        for n in range(ASYNC_REQUESTS):
            answer = await client.post("agent/action/list_chats", json={"n": n})
            answer.raise_for_status()

    async def plugin() -> None:
        with async_api_client(base_url, token) as client:
            await twenty(client)

    async def pooled() -> None:
        async with httpx.AsyncClient(**settings) as client:
            await twenty(client)

    async def unpooled() -> None:
        no_keepalive = httpx.AsyncHTTPTransport(limits=httpx.Limits(max_keepalive_connections=0))
        async with httpx.AsyncClient(transport=no_keepalive, **settings) as client:
            await twenty(client)

    variants = {
        "livechat_async_api": plugin,
        "plain pooled httpx.AsyncClient": pooled,
        "a connection a request (0.1.x)": unpooled,
    }
    times: dict[str, list[float]] = {name: [] for name in variants}
    connections: dict[str, set[int]] = {name: set() for name in variants}
    try:
        for round_ in range(rounds + 1):  # round 0 warms up, unmeasured
            order = list(variants)
            for name in order[round_ % 3 :] + order[: round_ % 3]:
                before = server.connections
                start = time.perf_counter()
                asyncio.run(variants[name]())
                elapsed = time.perf_counter() - start
                if not server.all_closed():
                    raise SystemExit(f"{name}: a connection was left open")
                if round_:
                    times[name].append(elapsed)
                    connections[name].add(server.connections - before)
    finally:
        server.stop()
        del os.environ["SSL_CERT_FILE"]
    ratios = [
        ours / theirs
        for ours, theirs in zip(
            times["livechat_async_api"], times["plain pooled httpx.AsyncClient"], strict=True
        )
    ]
    figures: dict[str, Any] = {"rounds": rounds, "requests": ASYNC_REQUESTS}
    for name in variants:
        median = statistics.median(times[name]) * 1000
        opened = sorted(connections[name])
        figures[name] = {"median_ms": median, "connections": opened}
        print(
            f"async clients, {ASYNC_REQUESTS} requests over TLS, {name}: median {median:.1f} ms, "
            f"connections opened {'/'.join(map(str, opened))} ({rounds} rounds)"
        )
    figures["ratio"] = statistics.median(ratios)
    quartiles = statistics.quantiles(ratios, n=4) if rounds >= 2 else [figures["ratio"]] * 3
    figures["quartiles"] = [quartiles[0], quartiles[2]]
    print(
        f"async clients: livechat_async_api / plain pooled, median paired ratio "
        f"{figures['ratio']:.3f} (quartiles {quartiles[0]:.3f}-{quartiles[2]:.3f})"
    )
    return figures


def _percentiles(name: str, call: Callable[[], None], calls: int) -> dict[str, float]:
    durations = []
    for _ in range(calls):
        start = time.perf_counter_ns()
        call()
        durations.append(time.perf_counter_ns() - start)
    durations.sort()
    median = durations[len(durations) // 2] / 1e6
    p99 = durations[int(len(durations) * 0.99) - 1] / 1e6
    print(f"cache lookup, {name}: median {median:.3f} ms, p99 {p99:.3f} ms ({calls} calls)")
    return {"median_ms": median, "p99_ms": p99, "calls": calls}


def stress(smoke: bool) -> dict[str, Any]:
    """16 processes on one cache file, SIGKILLed at random and restarted, for a bounded time."""
    processes, seconds = (4, 3.0) if smoke else (16, 30.0)
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp)
        cache_path, stats = base / "cache" / "tokens.json", base / "stats"
        stats.mkdir()
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        command = [sys.executable, "-m", "tests.bench.stress_worker", str(cache_path)]

        def start(index: int) -> subprocess.Popen[bytes]:
            return subprocess.Popen([*command, str(index), str(stats)], env=env, cwd=ROOT)

        children = [start(index) for index in range(processes)]
        chooser = random.Random(1)  # noqa: S311 - picks victims, not secrets
        kills, deadline = 0, time.monotonic() + seconds
        while time.monotonic() < deadline:
            time.sleep(chooser.uniform(0.02, 0.2))
            index = chooser.randrange(processes)
            children[index].send_signal(signal.SIGKILL)
            children[index].wait()
            kills += 1
            children[index] = start(index)
        time.sleep(0.5)  # let the last ones start and write after the last kill
        for child in children:
            child.send_signal(signal.SIGTERM)
        for child in children:
            child.wait(timeout=60)
        failures = (
            (stats / "failures.log").read_text().splitlines()
            if (stats / "failures.log").exists()
            else []
        )
        ops = sum(int(path.read_text()) for path in stats.glob("ops-*") if path.suffix != ".tmp")
        leftovers = [p.name for p in cache_path.parent.glob("*.tmp")]
        # Every worker may have been killed before its first write: no file is no entry.
        document = json.loads(cache_path.read_text()) if cache_path.exists() else {"entries": {}}
        entries = sum(len(clients) for clients in document["entries"].values())
    print(
        f"stress: {processes} processes, {seconds:.0f} s, {ops} operations, {kills} SIGKILLs, "
        f"{len(failures)} failures, {len(leftovers)} temp files left, {entries} entries in the end"
    )
    for failure in failures[:10]:
        print(f"  {failure}")
    return {
        "processes": processes,
        "seconds": seconds,
        "operations": ops,
        "kills": kills,
        "failures": len(failures),
        "leftovers": len(leftovers),
        "entries": entries,
    }


def fuzz(smoke: bool) -> dict[str, Any]:
    """The hypothesis suite (tests/unit/test_fuzz.py) at 10,000 examples a property."""
    examples = "25" if smoke else "10000"  # the suite runs the same properties at 300
    # The project's own settings, not a calling test's PYTEST_ADDOPTS (which turns plugins off).
    env = {k: v for k, v in os.environ.items() if k != "PYTEST_ADDOPTS"}
    env["LIVECHAT_FUZZ_EXAMPLES"] = examples
    command = [
        sys.executable,
        "-m",
        "pytest",
        "-q",
        "-p",
        "no:cacheprovider",
        "tests/unit/test_fuzz.py",
    ]
    result = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, check=False)
    summary = result.stdout.strip().splitlines()[-1] if result.stdout.strip() else result.stderr
    print(f"fuzz, {examples} examples a property: {summary}")
    return {"examples": int(examples), "exit": result.returncode, "summary": summary}


INPROCESS = """
import functools, json, sys, time
import pytest, importlib.metadata  # what every pytest run has imported before the plugin

spent = {}
started = time.perf_counter()
import pytest_livechat_token.plugin as plugin
spent["import"] = time.perf_counter() - started


def timed(name, hook):
    @functools.wraps(hook)
    def run(*args, **kwargs):
        began = time.perf_counter()
        try:
            return hook(*args, **kwargs)
        finally:
            spent[name] = spent.get(name, 0.0) + time.perf_counter() - began
    return run


for name in ("pytest_addoption", "pytest_configure", "pytest_report_header"):
    setattr(plugin, name, timed(name, getattr(plugin, name)))


class FirstToken:
    @pytest.hookimpl(wrapper=True)
    def pytest_fixture_setup(self, fixturedef, request):
        began = time.perf_counter()
        try:
            return (yield)
        finally:
            if fixturedef.argname == "livechat_bearer":
                spent["fixture"] = time.perf_counter() - began


code = pytest.main(sys.argv[2:], plugins=[FirstToken()])
print(json.dumps({"exit": int(code), **{k: v * 1000 for k, v in spent.items()}}))
"""


def inprocess(smoke: bool) -> dict[str, Any]:
    """In-process times of the plugin, stable on a noisy machine: start-up (import, options,
    settings, header) and the warm path (start-up plus the fixture's first token from a warm
    cache), each in a fresh interpreter with compiled bytecode, as an installed package has."""
    import compileall

    runs = 3 if smoke else 31
    compileall.compile_dir(ROOT / "pytest_livechat_token", quiet=1)
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp)
        _warm(base / "cache")
        (base / "test_one.py").write_text("def test_one(livechat_bearer):\n    pass\n")
        env = _environ(base / "cache")
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        common = [sys.executable, "-c", INPROCESS, "--", "-p", "no:cacheprovider", str(base)]
        warm_args = ["--livechat-client-id=bench-client", f"--livechat-accounts-url={URL}"]
        cold: list[dict[str, float]] = []
        warm: list[dict[str, float]] = []
        for index in range(2 * runs + 2):  # interleaved; the first pair writes missing bytecode
            configured = index % 2 == 1
            command = common + (warm_args if configured else ["-k", "not one"])
            done = subprocess.run(
                command, cwd=base, env=env, capture_output=True, text=True, check=False
            )
            figures = json.loads(done.stdout.strip().splitlines()[-1])
            if figures["exit"] not in (0, 5):
                raise SystemExit(f"in-process bench failed:\n{done.stdout}\n{done.stderr}")
            if index >= 2:
                (warm if configured else cold).append(figures)

    def startup_of(sample: dict[str, float]) -> float:
        hooks = ("import", "pytest_addoption", "pytest_configure", "pytest_report_header")
        return sum(sample.get(hook, 0.0) for hook in hooks)

    startup_ms = [startup_of(sample) for sample in cold]
    warm_ms = [startup_of(sample) + sample["fixture"] for sample in warm]
    parts = ("import", "pytest_addoption", "pytest_configure", "pytest_report_header", "fixture")
    startup = {"min": min(startup_ms), "median": statistics.median(startup_ms)}
    warm_path = {"min": min(warm_ms), "median": statistics.median(warm_ms)}
    warm_parts = {part: statistics.median(s.get(part, 0.0) for s in warm) for part in parts}
    print(
        f"in-process, {runs} fresh interpreters each: start-up (no client id: import, options, "
        f"settings, header) median {startup['median']:.2f} ms (min {startup['min']:.2f}); "
        f"warm path (client id, warm cache, the fixture's first token) median "
        f"{warm_path['median']:.2f} ms (min {warm_path['min']:.2f}); its parts: "
        + ", ".join(f"{k} {v:.2f}" for k, v in warm_parts.items())
    )
    return {
        "runs": runs,
        "startup_ms": startup,
        "warm_ms": warm_path,
        "warm_parts_median_ms": warm_parts,
    }


BENCHES: dict[str, Callable[[bool], dict[str, Any]]] = {
    "startup_instructions": startup_instructions,
    "inprocess": inprocess,
    "startup": startup,
    "warm": warm,
    "xdist": lambda smoke: warm(smoke, workers=2 if smoke else 8),
    "names": names,
    "lookup": lookup,
    "async_pool": async_pool,
    "cleanup": cleanup,
    "stress": stress,
    "fuzz": fuzz,
}


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("benches", nargs="*", metavar="BENCH", help=", ".join(BENCHES))
    parser.add_argument("--smoke", action="store_true", help="tiny sizes: does each one work?")
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    arguments = parser.parse_args(argv)
    unknown = set(arguments.benches) - set(BENCHES)
    if unknown:
        parser.error(f"unknown bench(es): {', '.join(sorted(unknown))}")
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    )
    figures = {name: BENCHES[name](arguments.smoke) for name in arguments.benches or BENCHES}
    if arguments.json:
        arguments.json.write_text(json.dumps(figures, indent=2))
    failed = figures.get("stress", {}).get("failures", 0) or figures.get("fuzz", {}).get("exit", 0)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
