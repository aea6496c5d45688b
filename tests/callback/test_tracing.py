"""Tracing: Lambda traces every invocation; Powertools' Tracer works with or without the X-Ray SDK."""

from __future__ import annotations

import subprocess
import sys
import textwrap

from localcloud.template import ROOT, load_template

WITHOUT_XRAY_SDK = textwrap.dedent(
    """
    import importlib.abc, importlib.util, os, sys

    # As in the deployed layer, which does not ship the X-Ray SDK (the dev environment has it for moto).
    real_find_spec = importlib.util.find_spec
    importlib.util.find_spec = lambda name, *a: None if name == "aws_xray_sdk" else real_find_spec(name, *a)

    class NoXray(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path=None, target=None):
            if name.split(".")[0] == "aws_xray_sdk":
                raise ModuleNotFoundError(name)  # any attempt to import it fails loudly
            return None

    sys.meta_path.insert(0, NoXray())
    os.environ["AWS_LAMBDA_FUNCTION_NAME"] = "CallbackFunction"  # as inside Lambda
    from callback_app.observability import tracer

    @tracer.capture_method(capture_response=False)
    def action():
        raise ValueError("the original error")

    try:
        action()
    except ValueError as exc:
        print("raised:", exc, "| disabled:", tracer.disabled)
    """
)


def test_tracer_without_the_xray_sdk_is_a_no_op_that_keeps_the_original_error():
    result = subprocess.run(  # noqa: S603 - our own interpreter and code
        [sys.executable, "-W", "ignore::DeprecationWarning", "-c", WITHOUT_XRAY_SDK],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
        env={"PYTHONPATH": f"{ROOT / 'layers' / 'shared'}:{ROOT / 'functions' / 'callback'}", "PATH": ""},
    )
    assert result.stdout.strip() == "raised: the original error | disabled: True"


def test_both_functions_are_traced_by_lambda():
    globals_ = load_template()["Globals"]["Function"]
    assert globals_["Tracing"] == "Active"
