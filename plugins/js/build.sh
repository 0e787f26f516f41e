#!/usr/bin/env bash
# Builds every JavaScript plugin under plugins/js/ into a WebAssembly component
# with componentize-js (StarlingMonkey), against the repository's wit/ folder.
#
#   plugins/js/build.sh            build every plugin that changed
#   plugins/js/build.sh NAME...    only these plugin folders (e.g. reply-keywords)
#   FORCE=1 plugins/js/build.sh    rebuild even when the output is up to date
#
# A plugin is a folder with an `index.js` entry module and a manifest named
# after the folder with `_` for `-` (reply-keywords/reply_keywords.toml); the
# manifest's `kind` is the WIT world it is built for. Output goes to
# target/plugins/js/<name>.wasm at the repository root, with the manifest
# copied beside it. A plugin whose output is newer than its sources, the WIT,
# the lock file and this script is skipped, so a no-op run takes well under a
# second; a real build takes several seconds per plugin.
set -euo pipefail

js_dir="$(cd "$(dirname "$0")" && pwd)"
wit_dir="$(cd "$js_dir/../../wit" && pwd)"
out_dir="$(cd "$js_dir/../.." && pwd)/target/plugins/js"

# componentize-js links these WASI features by default. Our plugins reach the
# outside only through the cam imports, so all but stdio are disabled (Date.now()
# is then frozen at build time and Math.random() repeats the same sequence: use
# the clock import). stdio stays: it is how the engine prints an uncaught
# exception, which the host reads into the failure's message (stdout is
# discarded, stderr captured and labelled as the plugin's).
disabled_features=(random clocks http fetch-event)

cd "$js_dir"

# `npm ci` again only when the lock file changed since the last install. No
# dependency has an install script; --ignore-scripts keeps it that way, so the
# install fetches nothing but packages from the npm registry.
if [[ ! -f node_modules/.package-lock.json || package-lock.json -nt node_modules/.package-lock.json ]]; then
    npm ci --ignore-scripts --no-audit --no-fund
fi

if [[ $# -gt 0 ]]; then
    plugins=("$@")
else
    plugins=()
    for entry in */index.js; do
        [[ -e "$entry" ]] && plugins+=("${entry%/index.js}")
    done
fi

mkdir -p "$out_dir"
for plugin in "${plugins[@]}"; do
    name="${plugin//-/_}"
    manifest="$plugin/$name.toml"
    out="$out_dir/$name.wasm"
    if [[ ! -f "$plugin/index.js" || ! -f "$manifest" ]]; then
        echo "build.sh: $js_dir/$plugin needs an index.js and a manifest $name.toml" >&2
        exit 1
    fi
    world="$(sed -n 's/^kind[[:space:]]*=[[:space:]]*"\([a-z-]*\)".*/\1/p' "$manifest")"
    if [[ -z "$world" ]]; then
        echo "build.sh: $js_dir/$manifest has no kind = \"...\" line" >&2
        exit 1
    fi

    if [[ -z "${FORCE:-}" && -f "$out" ]] &&
        [[ -z "$(find "$plugin" "$wit_dir" package-lock.json "$js_dir/build.sh" -newer "$out" -print -quit)" ]]; then
        echo "$name: up to date ($out)"
    else
        started=$SECONDS
        # Write beside the output and rename, so a host watching the folder
        # never loads a half-written file.
        node_modules/.bin/componentize-js "$plugin/index.js" \
            --wit "$wit_dir" \
            --world-name "$world" \
            --disable "${disabled_features[@]}" \
            --out "$out.partial"
        mv "$out.partial" "$out"
        echo "$name: built $out ($(wc -c <"$out") bytes, world $world, $((SECONDS - started)) s)"
    fi

    # Copy the manifest only when it changed, so watchers see no spurious event.
    if ! cmp -s "$manifest" "$out_dir/$name.toml"; then
        cp "$manifest" "$out_dir/$name.toml"
    fi
done
