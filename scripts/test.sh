#!/usr/bin/env bash
# Runs every test of cam on this machine, installing what the tests need first:
# the wasm32-wasip2 target, Node.js (for the JavaScript plugin), Python's venv
# (for componentize-py and the Python plugin), and a
# PostgreSQL server when none answers at $CAM_TEST_POSTGRES_URL.
#
#   scripts/test.sh            # everything
#   scripts/test.sh hostile    # extra args go to `cargo test` (a test filter)
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }

apt_install() {
  if ! command -v apt-get >/dev/null; then
    echo "missing $* and no apt-get to install it: install it and re-run" >&2
    exit 1
  fi
  local sudo=""
  [ "$(id -u)" -ne 0 ] && sudo="sudo"
  if [ -z "${CAM_APT_UPDATED:-}" ]; then
    $sudo apt-get update -qq
    export CAM_APT_UPDATED=1
  fi
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "$@" >/dev/null
}

# 1. The guest target (rust-toolchain.toml lists it; this covers older rustups).
if command -v rustup >/dev/null; then
  rustup target add wasm32-wasip2 >/dev/null 2>&1 || true
fi

# 2. Node.js + npm for the JavaScript plugin (componentize-js).
if ! command -v npm >/dev/null; then
  log "installing Node.js and npm"
  apt_install nodejs npm
fi
log "building the JavaScript plugin"
bash plugins/js/build.sh

# 2b. Python 3 with venv for the Python plugin: plugins/python/build.sh
#     installs componentize-py into target/py-venv (which the test of
#     `cam plugins new --lang python` uses too).
if ! command -v python3 >/dev/null; then
  log "installing Python 3"
  apt_install python3 python3-venv
fi
if [ ! -x target/py-venv/bin/python ] && ! python3 -m venv target/py-venv >/dev/null 2>&1; then
  # Debian's python3 has no venv/ensurepip without python3-venv.
  rm -rf target/py-venv
  log "installing python3-venv"
  apt_install python3-venv
fi
log "building the Python plugin"
bash plugins/python/build.sh

# 2c. curl for the README walkthrough's test (tests/hosted.rs).
if ! command -v curl >/dev/null; then
  log "installing curl"
  apt_install curl
fi

# 3. PostgreSQL: use the one at CAM_TEST_POSTGRES_URL, else start a throwaway cluster.
export CAM_TEST_POSTGRES_URL="${CAM_TEST_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/postgres}"
pg_ready() { psql "$CAM_TEST_POSTGRES_URL" -Atqc 'select 1' >/dev/null 2>&1; }
if ! command -v psql >/dev/null; then
  log "installing the PostgreSQL client"
  apt_install postgresql-client
fi
if ! pg_ready; then
  log "no PostgreSQL at $CAM_TEST_POSTGRES_URL: starting a throwaway cluster"
  if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
    apt_install postgresql
  fi
  bindir=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
  pgdata=$(mktemp -d /tmp/cam-pg.XXXXXX)
  port=55432
  owner=$(id -un)
  if [ "$(id -u)" -eq 0 ]; then
    owner=postgres
    chown postgres "$pgdata"
  fi
  run_as() { if [ "$owner" = "$(id -un)" ]; then "$@"; else su "$owner" -s /bin/sh -c "$(printf '%q ' "$@")"; fi; }
  run_as "$bindir/initdb" -D "$pgdata" -U postgres --auth=trust >/dev/null
  run_as "$bindir/pg_ctl" -D "$pgdata" -o "-p $port -k /tmp -c listen_addresses=127.0.0.1" -l "$pgdata/log" -w start >/dev/null
  trap 'run_as "$bindir/pg_ctl" -D "$pgdata" -m immediate stop >/dev/null 2>&1 || true' EXIT
  export CAM_TEST_POSTGRES_URL="postgres://postgres@127.0.0.1:$port/postgres"
  pg_ready || { echo "the throwaway PostgreSQL did not start; see $pgdata/log" >&2; exit 1; }
fi
log "PostgreSQL: ${CAM_TEST_POSTGRES_URL}"

# 4. Real mail servers on loopback for the SMTP/IMAP tests (tests/mail_servers.rs):
#    aiosmtpd in a venv (tests/servers/smtp_server.py) and Dovecot.
aiosmtpd_version=1.4.6
venv="$PWD/target/test-venv"
if ! "$venv/bin/python" -c "import aiosmtpd, sys; sys.exit(aiosmtpd.__version__ != '$aiosmtpd_version')" 2>/dev/null; then
  log "installing aiosmtpd $aiosmtpd_version into $venv"
  if ! command -v python3 >/dev/null; then
    apt_install python3 python3-venv
  fi
  if [ ! -x "$venv/bin/python" ]; then
    rm -rf "$venv"
    # Debian's python3 has no venv/ensurepip without python3-venv.
    if ! python3 -m venv "$venv" >/dev/null 2>&1; then
      rm -rf "$venv"
      apt_install python3-venv
      python3 -m venv "$venv"
    fi
  fi
  "$venv/bin/python" -m pip install -q --disable-pip-version-check "aiosmtpd==$aiosmtpd_version"
fi
export CAM_TEST_PYTHON="$venv/bin/python"
dovecot_bin=$(command -v dovecot || true)
if [ -z "$dovecot_bin" ] && [ -x /usr/sbin/dovecot ]; then
  dovecot_bin=/usr/sbin/dovecot
fi
if [ -z "$dovecot_bin" ]; then
  log "installing Dovecot (IMAP) for the mail tests"
  # The tests start their own Dovecots; keep the package from starting the
  # system one (policy-rc.d exit 101 = "not allowed", for invoke-rc.d and
  # deb-systemd-invoke alike), unless this machine already has a policy.
  sudo=""
  [ "$(id -u)" -ne 0 ] && sudo="sudo"
  policy=""
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    policy=/usr/sbin/policy-rc.d
    printf '#!/bin/sh\nexit 101\n' | $sudo tee "$policy" >/dev/null
    $sudo chmod +x "$policy"
  fi
  status=0
  apt_install dovecot-imapd || status=$?
  if [ -n "$policy" ]; then
    $sudo rm -f "$policy"
  fi
  [ "$status" -eq 0 ] || exit "$status"
  dovecot_bin=/usr/sbin/dovecot
fi
export CAM_TEST_DOVECOT="$dovecot_bin"
log "mail servers: aiosmtpd $aiosmtpd_version ($CAM_TEST_PYTHON), Dovecot $("$CAM_TEST_DOVECOT" --version | cut -d' ' -f1)"

# 5. Plugin logic, natively (SDK and example plugins' unit tests).
log "plugin unit tests (native)"
(cd plugins && cargo test --quiet --target-dir ../target/plugins-native)

# 6. The host: unit tests, the store conformance suite on both backends, and
#    the end-to-end tests with real components (built by host/build.rs).
log "host tests"
cargo test --workspace "$@"
