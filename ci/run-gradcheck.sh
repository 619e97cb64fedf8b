#!/usr/bin/env bash
# Run the gradcheck pytest plugin over submissions, hardened for grading: no options from the
# environment, no other plugin, no conftest.py, a pinned configuration and rootdir, and the
# current folder not on sys.path. Writes junit.xml and gradcheck-report.json into OUT.
#
#   ci/run-gradcheck.sh STUDENTS_DIR OUT_DIR [extra pytest args...]
#       every folder or .py directly under STUDENTS_DIR is one submission (a course repository)
#   ci/run-gradcheck.sh --single SUBMISSION OUT_DIR [extra pytest args...]
#       SUBMISSION (a folder or .py) is the one submission (a student's own repository)
#
# Exit code: pytest's (0 all checks passed, 1 some failed, 4 usage or a refused configuration)
# or 2 for a folder with no submissions / bad usage.
set -uo pipefail
usage="usage: run-gradcheck.sh [--single] DIR OUT_DIR [pytest args...]"
single=0
if [ "${1:-}" = "--single" ]; then single=1; shift; fi
target="${1:?$usage}"
out="${2:?$usage}"
shift 2
here="$(cd "$(dirname "$0")" && pwd)"
mkdir -p "$out"
out="$(cd "$out" && pwd)"
args=()
if [ "$single" -eq 1 ]; then
  if [ ! -e "$target" ]; then echo "run-gradcheck: no submission $target" >&2; exit 2; fi
  args+=(--gradcheck "$target")
  root="$(cd "$(dirname "$target")" && pwd)"   # the folder holding it, never inside it
else
  for sub in "$target"/*; do
    case "$sub" in
      *.py) [ -f "$sub" ] && args+=(--gradcheck "$sub") ;;
      *) [ -d "$sub" ] && args+=(--gradcheck "$sub") ;;
    esac
  done
  root="$target"
fi
if [ "${#args[@]}" -eq 0 ]; then
  echo "run-gradcheck: no submissions in $target" >&2
  exit 2
fi
# -I: the current folder (the repository, which students may write to) is not on sys.path, and
# PYTHON* variables are ignored; the rest of the flags: docs/pytest.md, "the hardened invocation".
env -u PYTEST_ADDOPTS PYTEST_DISABLE_PLUGIN_AUTOLOAD=1 \
  python -I -m pytest -p gradcheck -p no:cacheprovider --noconftest \
    -c "$here/pytest-grading.ini" --rootdir "$root" \
    "${args[@]}" --junitxml "$out/junit.xml" --gradcheck-report "$out/gradcheck-report.json" \
    -rfE "$@"
