#!/usr/bin/env bash
# Run the gradcheck pytest plugin over every submission in a folder, hardened for grading:
# no options from the environment, no other plugin, no conftest.py, a pinned configuration
# and rootdir. Writes junit.xml and gradcheck-report.json into OUT and prints the pytest run.
#
#   ci/run-gradcheck.sh STUDENTS_DIR OUT_DIR [extra pytest args...]
#
# Exit code: pytest's (0 all checks passed, 1 some failed, 4 usage) or 2 for an empty folder.
set -uo pipefail
students="${1:?usage: run-gradcheck.sh STUDENTS_DIR OUT_DIR [pytest args...]}"
out="${2:?usage: run-gradcheck.sh STUDENTS_DIR OUT_DIR [pytest args...]}"
shift 2
here="$(cd "$(dirname "$0")" && pwd)"
mkdir -p "$out"
out="$(cd "$out" && pwd)"
args=()
for sub in "$students"/*; do
  case "$sub" in
    *.py) args+=(--gradcheck "$sub") ;;
    *) [ -d "$sub" ] && args+=(--gradcheck "$sub") ;;
  esac
done
if [ "${#args[@]}" -eq 0 ]; then
  echo "run-gradcheck: no submissions in $students" >&2
  exit 2
fi
env -u PYTEST_ADDOPTS PYTEST_DISABLE_PLUGIN_AUTOLOAD=1 \
  python -m pytest -p gradcheck -p no:cacheprovider --noconftest \
    -c "$here/pytest-grading.ini" --rootdir "$students" \
    "${args[@]}" --junitxml "$out/junit.xml" --gradcheck-report "$out/gradcheck-report.json" \
    -rfE "$@"
