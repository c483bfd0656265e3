"""``masking.scrub_report``: every shape of a pytest report."""

from __future__ import annotations

from pytest_livechat_token import redact


def test_report_masking_reaches_every_shape() -> None:
    from dataclasses import dataclass  # noqa: PLC0415
    from types import SimpleNamespace  # noqa: PLC0415

    from pytest_livechat_token.masking import scrub_report  # noqa: PLC0415

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
