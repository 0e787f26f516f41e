#!/usr/bin/env bash
# Builds every Python plugin under plugins/python/ into a WebAssembly component
# with componentize-py (CPython compiled to WASI), against the repository's
# wit/ folder, after running its unit tests.
#
#   plugins/python/build.sh            build every plugin that changed
#   plugins/python/build.sh NAME...    only these plugin folders (e.g. title-enrich)
#   FORCE=1 plugins/python/build.sh    rebuild even when the output is up to date
#
# A plugin is a folder with an `app.py` entry module (a `WitWorld` class) and
# a manifest named after the folder with `_` for `-`
# (title-enrich/title_enrich.toml); the manifest's `kind` is the WIT world it
# is built for. Its `test_*.py` files run with `python3 -m unittest` first.
# Output goes to target/plugins/python/<name>.wasm at the repository root, with
# the manifest copied beside it. componentize-py is installed into
# target/py-venv when that venv lacks the pinned version. A plugin whose
# output is newer than its sources, the WIT and this script is skipped; a
# real build takes 10-20 s per plugin. Nothing is written into the source
# tree (no bindings, no __pycache__).
set -euo pipefail

# The componentize-py release we build and test with (host/src/cli/scaffold/python.rs
# pins the same one for `cam plugins new --lang python`).
componentize_py_version=0.25.1

py_dir="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$py_dir/../.." && pwd)"
wit_dir="$root/wit"
out_dir="$root/target/plugins/python"
venv="$root/target/py-venv"
export PYTHONDONTWRITEBYTECODE=1

if ! "$venv/bin/componentize-py" --version 2>/dev/null | grep -qx "componentize-py $componentize_py_version"; then
    echo "installing componentize-py $componentize_py_version into $venv" >&2
    if [[ ! -x "$venv/bin/python" ]]; then
        rm -rf "$venv"
        python3 -m venv "$venv"
    fi
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check "componentize-py==$componentize_py_version"
fi

cd "$py_dir"
if [[ $# -gt 0 ]]; then
    plugins=("$@")
else
    plugins=()
    for entry in */app.py; do
        [[ -e "$entry" ]] && plugins+=("${entry%/app.py}")
    done
fi

mkdir -p "$out_dir"
for plugin in "${plugins[@]}"; do
    name="${plugin//-/_}"
    manifest="$plugin/$name.toml"
    out="$out_dir/$name.wasm"
    if [[ ! -f "$plugin/app.py" || ! -f "$manifest" ]]; then
        echo "build.sh: $py_dir/$plugin needs an app.py and a manifest $name.toml" >&2
        exit 1
    fi
    world="$(sed -n 's/^kind[[:space:]]*=[[:space:]]*"\([a-z-]*\)".*/\1/p' "$manifest")"
    if [[ -z "$world" ]]; then
        echo "build.sh: $py_dir/$manifest has no kind = \"...\" line" >&2
        exit 1
    fi

    if [[ -z "${FORCE:-}" && -f "$out" ]] &&
        [[ -z "$(find "$plugin" "$wit_dir" "$py_dir/build.sh" -newer "$out" -print -quit)" ]]; then
        echo "$name: up to date ($out)"
    else
        if compgen -G "$plugin/test_*.py" >/dev/null; then
            (cd "$plugin" && python3 -m unittest --quiet) ||
                { echo "build.sh: the unit tests of $plugin failed" >&2; exit 1; }
        fi
        started=$SECONDS
        # componentize-py bundles every module on its Python path and writes
        # __pycache__ beside them, so it gets a copy of the plugin's sources
        # (without the tests) under target/, never the source folder itself.
        stage="$root/target/py-build/$name"
        rm -rf "$stage"
        mkdir -p "$stage"
        cp -R "$plugin/." "$stage/"
        rm -rf "$stage"/test_*.py "$stage/__pycache__"
        # Write beside the output and rename, so a host watching the folder
        # never loads a half-written file.
        (cd "$stage" && "$venv/bin/componentize-py" --quiet \
            -d "$wit_dir" -w "$world" \
            componentize app -p "$stage" \
            -o "$out.partial")
        mv "$out.partial" "$out"
        echo "$name: built $out ($(wc -c <"$out") bytes, world $world, $((SECONDS - started)) s)"
    fi

    # Copy the manifest only when it changed, so watchers see no spurious event.
    if ! cmp -s "$manifest" "$out_dir/$name.toml"; then
        cp "$manifest" "$out_dir/$name.toml"
    fi
done
