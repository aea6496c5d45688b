"""Translate template.yaml (SAM) into the CloudFormation that AWS really creates, offline.

The SAM transform generates resources that template.yaml never spells out: each function's
execution role with its policies, the published version and `live` alias, the API's deployment,
stage and invoke permissions. Linters and checkov on template.yaml cannot see them; run on this
output they can (scripts/template-checks.sh), and tests/infra asserts on it.

    .tools/sam/bin/python scripts/sam_translate.py [--template template.yaml] [--parameter NAME=VALUE ...] \
        --output translated.json

Parameters take their defaults unless given: the transform writes some values into what it generates
(the API's resource policy, from AllowedCallers), as it does at deploy time with the stack's values.

Runs with the aws-sam-translator that aws-sam-cli brings (.tools/sam: it pins a pydantic the app's
.venv cannot share). Nothing here talks to AWS: the session has a region and no credentials, and
a managed policy named (not given by ARN) in a function's `Policies` must be in the translator's
bundled map, or the translation fails instead of asking IAM.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path
from typing import Any

from samcli.lib.translate.sam_template_validator import SamTemplateValidator
from samcli.yamlhelper import yaml_parse

ROOT = Path(__file__).resolve().parent.parent

#: The region only fills AWS::Region / AWS::Partition where SAM needs a value at transform time;
#: the output keeps `${AWS::Region}` references for CloudFormation to resolve.
TRANSLATION_REGION = "us-east-1"


class ManagedPolicyNeedsIam(RuntimeError):
    """A function names a managed policy that only an IAM lookup could resolve."""


class OfflineManagedPolicyLoader:
    """Stands in for samtranslator's ManagedPolicyLoader, which calls iam:ListPolicies.

    The translator asks it only for a managed policy named in a function's `Policies` that its
    bundled name -> ARN map lacks; every other policy (inline statements, ARNs) needs no lookup.
    """

    def load(self) -> dict[str, str]:
        raise ManagedPolicyNeedsIam(
            "a function's Policies names a managed policy that aws-sam-translator's bundled map lacks; "
            "give it by ARN (arn:${AWS::Partition}:iam::aws:policy/...) so that the template translates offline"
        )


def translate(template_path: Path, parameters: dict[str, str] | None = None) -> dict[str, Any]:
    """The CloudFormation template that the SAM transform makes of `template_path` (with these parameter values)."""
    sam_template = yaml_parse(template_path.read_text(encoding="utf-8"))
    # What `sam validate` runs (local CodeUri/ContentUri become placeholder S3 URIs, then the
    # Translator), with the offline loader. The session has a region and no profile or
    # credentials: nothing is ever signed, let alone sent.
    validator = SamTemplateValidator(
        sam_template, OfflineManagedPolicyLoader(), region=TRANSLATION_REGION, parameter_overrides=parameters or {}
    )
    translated: dict[str, Any] = yaml_parse(validator.get_translated_template_if_valid())
    return translated


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--template", type=Path, default=ROOT / "template.yaml")
    parser.add_argument("--output", type=Path, required=True, help="where to write the CloudFormation (JSON)")
    parser.add_argument(
        "--parameter", action="append", default=[], metavar="NAME=VALUE", help="a parameter's value (repeatable)"
    )
    args = parser.parse_args(argv)
    parameters = dict(given.split("=", 1) for given in args.parameter)
    # The translator warns about each feature its (absent) toggle config lacks: noise, not a finding.
    logging.getLogger("samtranslator.feature_toggle").setLevel(logging.ERROR)
    translated = translate(args.template, parameters)
    args.output.write_text(json.dumps(translated, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
