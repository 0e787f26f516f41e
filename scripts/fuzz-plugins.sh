#!/usr/bin/env bash
# Fuzzes cam's plugin load path for SECONDS (default 600): random components
# of cam's worlds (wasm-smith bodies, wit-component encoding), mutated example
# plugins, wasm-smith modules and components, and random bytes, each fed to
# the real load (compile, world check, `describe`) and, when one loads, its
# main call, under cam's default limits. See host/examples/fuzz_plugins.rs.
#
#   scripts/fuzz-plugins.sh            # 600 s, a fresh seed (printed)
#   scripts/fuzz-plugins.sh 60         # one minute
#   CAM_FUZZ_SEED=15 scripts/fuzz-plugins.sh 600   # the same inputs again
#
# A violation (a panic, a hang, an abort, a refusal whose message is not
# plain host text) saves its input to tests/data/fuzz-crashers/ and exits 3;
# `cargo test --test e2e -- hostile::fuzz` replays that folder. Needs only
# what scripts/test.sh installs (the wasm32-wasip2 target, for the example
# plugins the mutations start from).
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-600}"
if command -v rustup >/dev/null; then
  rustup target add wasm32-wasip2 >/dev/null 2>&1 || true
fi
cargo build --example fuzz_plugins
exec cargo run --quiet --example fuzz_plugins -- --seconds "$seconds" ${CAM_FUZZ_SEED:+--seed "$CAM_FUZZ_SEED"}
