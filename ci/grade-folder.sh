#!/usr/bin/env bash
# Check every submission folder under DIR; write DIR/<name>.gradcheck.json for each.
# Usage: ci/grade-folder.sh DIR [extra gradcheck run options...]
set -u
dir=${1:?usage: grade-folder.sh DIR [options]}
shift
worst=0
for sub in "$dir"/*/; do
  name=$(basename "$sub")
  gradcheck run "$sub" --format json --output "$dir/$name.gradcheck.json" "$@"
  code=$?
  case $code in
    0) verdict=pass ;;
    1) verdict=fail ;;
    *) verdict=error ;;
  esac
  printf '%-30s %s\n' "$name" "$verdict"
  [ "$code" -ge 2 ] && worst=2
done
exit $worst
