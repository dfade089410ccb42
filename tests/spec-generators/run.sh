#!/usr/bin/env bash
# The spec within what a second, non-TypeScript generator accepts: openapi-python-client generates
# a Python client from infra/openapi.yaml (or the spec given as $1) into
# target/spec-generators/python, and this fails if the generator prints any warning or error (it
# exits 0 after dropping a response it cannot type, e.g. a `const` inside `allOf`), then
# check.py imports the generated package and checks that every documented JSON answer is parsed,
# every error schema is a model pinning its code, ids are `str`, and a mocked call returns the
# typed models.
#
# The generator lives in .venv-gen, a venv of its own (it pins httpx, pydantic, typer and ruff
# versions of its own, kept out of .venv), (re)installed only when requirements.txt changes.
# Safe to run twice: the output directory is generated afresh each time.
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$PWD
start=$(date +%s)

spec=${1:-infra/openapi.yaml}
here=tests/spec-generators
venv=.venv-gen
stamp=$venv/.installed
out=target/spec-generators/python
package=tiktok_connect

if [ ! -f "$stamp" ] || [ "$here/requirements.txt" -nt "$stamp" ]; then
  echo "spec-generators: installing $here/requirements.txt into $venv"
  ./scripts/venv.sh "$venv" "$here/requirements.txt"
  touch "$stamp"
fi

rm -rf "$out"
mkdir -p "$out"
log=target/spec-generators/generate.log
# The post-generation hooks run `ruff` from PATH: the venv's, pinned. --meta none: the package
# itself (no pyproject), importable from $out.
set +e
PATH="$root/$venv/bin:$PATH" NO_COLOR=1 COLUMNS=200 "$venv/bin/openapi-python-client" generate \
  --path "$spec" --config "$here/config.yaml" --meta none --output-path "$out/$package" \
  --fail-on-warning >"$log" 2>&1
status=$?
set -e
# A clean run prints one line, `Generating <path>`; anything else is a warning, an error or a
# hook's complaint.
unexpected=$(grep -v -e '^Generating ' -e '^[[:space:]]*$' "$log" || true)
failed=
if [ "$status" != 0 ] || [ -n "$unexpected" ]; then
  warnings=$(grep -c -E '^(WARNING|ERROR)' "$log" || true)
  lines=$(grep -vc '^[[:space:]]*$' "$log" || true)
  echo "spec-generators: openapi-python-client did not take $spec cleanly (exit $status, $warnings warnings/errors):"
  awk 'NF && n++ < 12' "$log"
  [ "$lines" -le 12 ] || echo "  ... $((lines - 12)) more lines in $log"
  failed=1
fi
if [ -z "$failed" ]; then
  version=$("$venv/bin/python" -c 'import importlib.metadata as m; print(m.version("openapi-python-client"))')
  echo "spec-generators: openapi-python-client $version generated $out/$package with no warning"
fi
# The package is written even after warnings (without what the generator dropped): checked all the
# same, to say what a Python app would miss.
if [ -d "$out/$package" ] && ! "$venv/bin/python" -B "$here/check.py" "$spec" "$out" "$package"; then
  failed=1
fi
if [ -n "$failed" ]; then
  echo "spec-generators: FAILED after $(($(date +%s) - start)) s"
  exit 1
fi
echo "spec-generators: passed in $(($(date +%s) - start)) s"
