"""`make invoke`: the callback's real entry point on a fixture, against moto's server on loopback."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from localcloud.invoke import main

pytestmark = pytest.mark.integration


def _responses(out: str) -> list[dict[str, Any]]:
    decoder, found, text = json.JSONDecoder(), [], out
    while "{\n" in text:
        obj, end = decoder.raw_decode(text[text.index("{\n") :])
        found.append(obj)
        text = text[text.index("{\n") + end :]
    return found


def test_invoke_runs_the_fixture_and_a_repeat_is_a_duplicate(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["events/callback.json", "--repeat", "2"]) == 0

    first, second = (json.loads(r["body"]) for r in _responses(capsys.readouterr().out))
    assert (first["duplicate"], second["duplicate"]) == (False, True)


def test_invoke_exits_1_when_the_invocation_fails(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    not_a_proxy_event = tmp_path / "eventbridge.json"
    not_a_proxy_event.write_text(json.dumps({"detail-type": "Scheduled Event", "detail": {}}))

    assert main([str(not_a_proxy_event)]) == 1

    assert '"errorType": "InvalidEventError"' in capsys.readouterr().err
