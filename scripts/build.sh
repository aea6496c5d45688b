#!/usr/bin/env bash
# Build the Lambda artifacts (`sam build`), then precompile them to python3.13 bytecode.
#
# Why precompile: Lambda unpacks the code into a read-only /var/task (and /opt for layers), so
# Python cannot cache the bytecode it compiles at import: without .pyc files every cold start
# compiles fastapi, pydantic, powertools and our code again. `sam build` ships none, and its zip
# stores every file with a 1980 timestamp, so ordinary (timestamp-checked) .pyc files would be
# judged stale on Lambda and ignored. `--invalidation-mode unchecked-hash` writes .pyc files that
# are used without checking the source; the build directory is rebuilt from source on every
# build, so they cannot go stale, and they are byte-for-byte reproducible (same code, same zip).
#
# Usage: scripts/build.sh [extra `sam build` options]      (artifacts: .aws-sam/build/)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
# shellcheck source=scripts/template-checks.sh
source "$ROOT/scripts/template-checks.sh"   # ensure_tool and the pinned aws-sam-cli version

PYTHON313="$("$ROOT/scripts/find-python313.sh")"
if [ -z "$PYTHON313" ]; then
  cat >&2 <<'EOF'
error: no working python3.13 found (the Lambda runtime is python3.13 and `sam build` needs it).
       Install one, e.g. `pyenv install 3.13` or your OS's python3.13 package, then run again.
       scripts/find-python313.sh looks on PATH, then in pyenv's 3.13.x versions.
EOF
  exit 1
fi
for f in layers/shared/requirements.txt functions/callback/requirements.txt functions/scheduler/requirements.txt; do
  [ -f "$f" ] || { echo "error: $f is missing; run \`make lock\` to export it from uv.lock" >&2; exit 1; }
done

ensure_tool sam "$SAM_CLI_SPEC"

echo "==> sam build (python3.13: $PYTHON313)"
start=$(date +%s)
# sam's python workflow looks for `python3.13` on PATH: put the one found first.
PATH="$(dirname "$PYTHON313"):$PATH" "$TOOLS/sam/bin/sam" build --template-file template.yaml "$@"

echo "==> precompiling .aws-sam/build/* for python3.13 (unchecked-hash .pyc)"
for artifact in .aws-sam/build/*/; do
  # -f: replace any timestamp-based .pyc that pip left; -j 0: all cores.
  "$PYTHON313" -m compileall -q -f -j 0 --invalidation-mode unchecked-hash "$artifact" >/dev/null ||
    { echo "error: compileall failed in $artifact" >&2; exit 1; }
  printf '    %-28s %6s  %5d .pyc\n' "$(basename "$artifact")" "$(du -sh "$artifact" | cut -f1)" \
    "$(find "$artifact" -name '*.pyc' | wc -l)"
done
echo "==> built in $(($(date +%s) - start))s: .aws-sam/build/template.yaml (next: sam deploy)"
