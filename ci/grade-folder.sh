#!/usr/bin/env bash
# Check every submission folder under DIR; write DIR/<name>.gradcheck.json for each and print
# a one-line verdict per submission.
# Usage: ci/grade-folder.sh DIR [extra gradcheck run options...]
# Exit code: 2 if any submission could not be checked, else 1 if any failed, else 0.
set -u
dir=${1:?usage: grade-folder.sh DIR [options]}
shift
shopt -s nullglob
subs=("$dir"/*/)
if [ ${#subs[@]} -eq 0 ]; then
  echo "grade-folder: no submission folders in $dir" >&2
  exit 2
fi
worst=0
for sub in "${subs[@]}"; do
  name=$(basename "$sub")
  gradcheck run "$sub" --format json --output "$dir/$name.gradcheck.json" "$@"
  code=$?
  case $code in
    0) verdict=pass ;;
    1) verdict=fail ;;
    *) verdict=error ;;
  esac
  printf '%-30s %s\n' "$name" "$verdict"
  if [ "$code" -gt "$worst" ]; then worst=$code; fi
done
exit $worst
