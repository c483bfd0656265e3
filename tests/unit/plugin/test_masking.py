"""``masking.scrub_report``: every shape of a pytest report."""

from __future__ import annotations

import sys

from pytest_livechat_token._base import redact


def test_report_masking_reaches_every_shape() -> None:
    from dataclasses import dataclass
    from types import SimpleNamespace

    from pytest_livechat_token._plugin.masking import scrub_report

    secret = "dal:ReportSecret0123456789abcdef"
    redact.remember(secret)

    @dataclass
    class Frame:
        lines: list[str]
        names: dict[str, str]

    class Opaque:
        def __str__(self) -> str:
            return f"opaque {secret}"

    walked = SimpleNamespace(
        longrepr=Frame([f"x = {secret}"], {"token": secret}),
        sections=[("Captured stdout call", secret)],
        user_properties=[("token", secret), ("count", 3)],
    )
    scrub_report(walked)
    assert walked.longrepr.lines == ["x = dal:…cdef"]
    assert walked.longrepr.names == {"token": "dal:…cdef"}
    assert walked.sections == [("Captured stdout call", "dal:…cdef")]
    assert walked.user_properties == [("token", "dal:…cdef"), ("count", 3)]
    opaque = SimpleNamespace(longrepr=Opaque(), sections=[], user_properties=[])
    scrub_report(opaque)
    assert opaque.longrepr == "opaque dal:…cdef", "what the walk cannot reach is text, masked"
    skipped = SimpleNamespace(
        longrepr=("f.py", 1, f"Skipped: {secret}"), sections=[], user_properties=[]
    )
    scrub_report(skipped)
    assert skipped.longrepr == ("f.py", 1, "Skipped: dal:…cdef")


def test_an_exception_is_masked_where_it_is() -> None:
    """Arguments (a copy: what the test holds is not changed), text attributes, notes, chained
    and grouped exceptions; an exception whose own ``__str__`` shows the secret is given a
    subclass of the same name that shows it masked."""
    from pytest_livechat_token._plugin.masking import scrub_exception

    secret = "dal:ExceptionSecret0123456789abcdef"
    redact.remember(secret)
    headers = {"Authorization": f"Bearer {secret}"}
    error = ValueError(headers, secret)
    if sys.version_info >= (3, 11):
        error.add_note(f"note {secret}")
    scrub_exception(error)
    assert str(error) == "({'Authorization': 'Bearer dal:…cdef'}, 'dal:…cdef')"
    assert headers == {"Authorization": f"Bearer {secret}"}, "the test's own dict is unchanged"
    assert secret not in repr(getattr(error, "__notes__", []))

    class Own(Exception):
        """Its text is made from bytes: no string attribute holds the secret."""

        def __init__(self, token: str) -> None:
            super().__init__()
            self._raw = token.encode()

        def __str__(self) -> str:
            return f"own {self._raw.decode()}"

    own = Own(secret)
    try:
        try:
            raise OSError(2, "missing", f"/tmp/{secret}")
        except OSError as cause:
            raise own from cause
    except Own as raised:
        scrub_exception(raised)
    assert str(own) == "own dal:…cdef"
    assert type(own).__name__ == "Own"
    assert isinstance(own, Own)
    assert isinstance(own.__cause__, OSError)
    assert secret not in str(own.__cause__)


def test_a_masked_list_masks_what_is_added() -> None:
    from pytest_livechat_token._plugin.masking import _MaskedList

    secret = "dal:ListSecret0123456789abcdef"
    redact.remember(secret)
    properties = _MaskedList([("first", secret)])
    properties.append(("token", secret))
    properties.extend([("more", [secret])])
    properties.insert(0, ("zero", secret))
    assert secret not in repr(properties)
    assert properties[1] == ("first", "dal:…cdef")
