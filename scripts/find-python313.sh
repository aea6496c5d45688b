#!/usr/bin/env bash
# Print the path of a working python3.13 (the Lambda runtime's version), or nothing.
# Order: python3.13 on PATH, then pyenv's 3.13.x install. Each candidate must actually run.
set -u
works() { [ -n "$1" ] && "$1" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 13))' >/dev/null 2>&1; }
candidate=$(command -v python3.13 2>/dev/null || true)
if works "$candidate"; then echo "$candidate"; exit 0; fi
if command -v pyenv >/dev/null 2>&1; then
  for v in $(pyenv versions --bare 2>/dev/null | grep -E '^3\.13(\.|$)' | sort -rV); do
    candidate="$(pyenv prefix "$v" 2>/dev/null)/bin/python3.13"
    if works "$candidate"; then echo "$candidate"; exit 0; fi
  done
fi
exit 0
