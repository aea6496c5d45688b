#!/usr/bin/env bash
# Lint and security-scan template.yaml; exit non-zero on any finding and say which check found it.
#
#   sam validate --lint   SAM's transform + its bundled cfn-lint (needs no region or credentials)
#   cfn-lint              the current CloudFormation rules (warnings count as findings)
#   checkov               security policy checks; a skip lives in the resource's Metadata with a reason
#
# and the same cfn-lint and checkov on the *translated* template: the CloudFormation the SAM
# transform makes of it (scripts/sam_translate.py, offline), with the resources SAM generates
# (the functions' execution roles, the `live` alias, the API's stage and invoke permissions) that
# template.yaml never spells out. It is written to a temporary directory and removed afterwards.
#
# Each tool lives in its own venv under .tools/<name>, at a pinned version (aws-sam-cli pins boto3,
# pydantic and click versions that conflict with the app's .venv, and checkov pulls in ~100
# packages). Installs are idempotent: a venv is rebuilt only when its pin changes. uv is used when
# `make install` has created .tools/uv, else python3 -m venv + pip.
#
# Usage: scripts/template-checks.sh [TEMPLATE]      (default: template.yaml)
# Sourcing this file only defines the installer (scripts/build.sh uses it for sam).
set -uo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TOOLS="$ROOT/.tools"

SAM_CLI_SPEC="aws-sam-cli==1.170.0"
CFN_LINT_SPEC="cfn-lint==1.58.0"
CHECKOV_SPEC="checkov==3.3.30"

# Nothing here may talk to AWS or phone home.
export SAM_CLI_TELEMETRY=0

# checkov checks skipped on the translated template only. A resource that SAM generates carries no
# Metadata of its own, so a skip cannot sit next to it as in template.yaml: each id here extends a
# skip that template.yaml makes, with its reason, on the SAM resource that generates the flagged
# resource (tests/infra/test_translated_template.py holds every id to that). One comment per id.
TRANSLATED_CHECKOV_SKIPS=(
  # CKV_AWS_120 (API Gateway caching) flags SchedulerApiv1Stage, the stage SAM generates for
  # SchedulerApi, whose Metadata skips CKV_AWS_120: responses must never be cached (schedule state
  # changes on every call) and a cache cluster is billed per hour.
  CKV_AWS_120
)

# ensure_tool NAME SPEC: a venv at .tools/NAME holding exactly SPEC (installed once, then reused).
ensure_tool() {
  local name="$1" spec="$2" venv="$TOOLS/$1" uv="$TOOLS/uv/bin/uv" python
  if [ -f "$venv/.installed" ] && [ "$(cat "$venv/.installed")" = "$spec" ]; then
    return 0
  fi
  python="$(command -v python3)" || { echo "error: python3 is needed to install $spec" >&2; return 1; }
  echo "installing $spec into .tools/$name ..." >&2
  rm -rf "$venv"
  if [ -x "$uv" ]; then
    "$uv" venv --quiet --python "$python" "$venv" >&2 &&
      VIRTUAL_ENV="$venv" "$uv" pip install --quiet "$spec" >&2
  else
    "$python" -m venv "$venv" >&2 &&
      "$venv/bin/pip" install --quiet --disable-pip-version-check "$spec" >&2
  fi || { echo "error: could not install $spec into .tools/$name" >&2; rm -rf "$venv"; return 1; }
  echo "$spec" >"$venv/.installed"
}

# The checks run in parallel (each is a few seconds of CPU); their output is printed in order.
declare -a LABELS=() PIDS=() LOGS=() STARTS=()
WORKDIR=""
TRANSLATE_FAILED=""

start_check() {
  local label="$1" log="$WORKDIR/${#LABELS[@]}.log"
  shift
  LABELS+=("$label")
  LOGS+=("$log")
  STARTS+=("$(date +%s%N)")
  ("$@" >"$log" 2>&1; echo "$? $(date +%s%N)" >"$log.rc") &
  PIDS+=("$!")
}

seconds_between() { awk -v ns=$(($2 - $1)) 'BEGIN { printf "%.1f", ns / 1e9 }'; }

main() {
  local template="${1:-template.yaml}"
  cd "$ROOT" || exit 2
  [ -f "$template" ] || { echo "error: $template not found" >&2; exit 2; }
  WORKDIR="$(mktemp -d)"
  trap 'rm -rf "$WORKDIR"' EXIT

  local start end
  start=$(date +%s%N)
  ensure_tool sam "$SAM_CLI_SPEC" &&
    ensure_tool cfn-lint "$CFN_LINT_SPEC" &&
    ensure_tool checkov "$CHECKOV_SPEC" || exit 2
  end=$(date +%s%N)

  start_check "sam validate --lint" "$TOOLS/sam/bin/sam" validate --lint --template-file "$template"
  # --skip-download: no calls to the Prisma Cloud API (guidelines, custom policies); checks run offline.
  start_check "checkov" "$TOOLS/checkov/bin/checkov" -f "$template" --framework cloudformation \
    --quiet --compact --skip-download

  # While those run: the SAM transform (~2 s of CPU), then the scanners on its output.
  local translated="$WORKDIR/template.translated.json" translate_log="$WORKDIR/translate.log" translate_start
  translate_start=$(date +%s%N)
  if "$TOOLS/sam/bin/python" scripts/sam_translate.py --template "$template" --output "$translated" \
    >"$translate_log" 2>&1; then
    # One cfn-lint process for both files: its start-up (schemas, rules) is most of its cost.
    start_check "cfn-lint (template + translated)" "$TOOLS/cfn-lint/bin/cfn-lint" "$template" "$translated"
    start_check "checkov (translated)" "$TOOLS/checkov/bin/checkov" -f "$translated" \
      --framework cloudformation --quiet --compact --skip-download \
      --skip-check "$(IFS=,; echo "${TRANSLATED_CHECKOV_SKIPS[*]}")"
  else
    echo "==> SAM transform (scripts/sam_translate.py)"
    cat "$translate_log"
    TRANSLATE_FAILED="  FAILED  SAM transform (scripts/sam_translate.py, $(seconds_between "$translate_start" "$(date +%s%N)")s)"
    start_check "cfn-lint" "$TOOLS/cfn-lint/bin/cfn-lint" "$template"
  fi

  local i rc done_at failed=0
  local -a summary=("  ok      tools installed or reused ($(seconds_between "$start" "$end")s)")
  if [ -n "$TRANSLATE_FAILED" ]; then
    summary+=("$TRANSLATE_FAILED")
    failed=1
  fi
  for i in "${!LABELS[@]}"; do
    wait "${PIDS[$i]}"
    read -r rc done_at <"${LOGS[$i]}.rc"
    echo "==> ${LABELS[$i]}"
    cat "${LOGS[$i]}"
    if [ "$rc" -eq 0 ]; then
      summary+=("  ok      ${LABELS[$i]} ($(seconds_between "${STARTS[$i]}" "$done_at")s)")
    else
      summary+=("  FAILED  ${LABELS[$i]} (exit $rc, $(seconds_between "${STARTS[$i]}" "$done_at")s)")
      failed=1
    fi
  done

  echo "==> summary ($template, $(seconds_between "$start" "$(date +%s%N)")s in all)"
  printf '%s\n' "${summary[@]}"
  if [ "$failed" -ne 0 ]; then
    echo "template checks failed: see the output of the FAILED checks above" >&2
    exit 1
  fi
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
  main "$@"
fi
