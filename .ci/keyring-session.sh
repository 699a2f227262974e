#!/usr/bin/env bash
# Run a command inside a private D-Bus session with an unlocked gnome-keyring,
# so the real Secret Service backend of `keyring` works on a headless machine:
#   bash .ci/keyring-session.sh pytest -q
# Without dbus-run-session or gnome-keyring-daemon it runs the command as is
# (the Secret Service tests then skip themselves).
set -euo pipefail

if [ "${1:-}" = "--inside" ]; then
    shift
    # A throwaway keyring in a throwaway home: never touch the user's own keyrings.
    export XDG_DATA_HOME="$KEYRING_SESSION_DIR/data"
    export XDG_RUNTIME_DIR="$KEYRING_SESSION_DIR/run"
    mkdir -p "$XDG_DATA_HOME" "$XDG_RUNTIME_DIR"
    chmod 700 "$XDG_RUNTIME_DIR"
    # --unlock reads the password on stdin, creates/unlocks the login keyring and
    # prints the environment (GNOME_KEYRING_CONTROL=...) to export.
    if out=$(printf '%s' "${KEYRING_SESSION_PASSWORD:-tuckaway-ci}" \
            | gnome-keyring-daemon --unlock --components=secrets 2>/dev/null); then
        while IFS= read -r line; do
            case "$line" in *=*) export "${line?}" ;; esac
        done <<< "$out"
        export TUCKAWAY_SECRET_SERVICE=1
    else
        echo "keyring-session: gnome-keyring-daemon did not start; Secret Service tests will skip" >&2
    fi
    status=0
    "$@" || status=$?
    if [ -n "${GNOME_KEYRING_PID:-}" ]; then
        kill "$GNOME_KEYRING_PID" 2>/dev/null || true
    fi
    exit $status
fi

if [ $# -eq 0 ]; then
    echo "usage: bash .ci/keyring-session.sh COMMAND [ARG...]" >&2
    exit 2
fi
if ! command -v dbus-run-session >/dev/null || ! command -v gnome-keyring-daemon >/dev/null; then
    echo "keyring-session: dbus-run-session or gnome-keyring-daemon missing" \
         "(apt-get install gnome-keyring dbus); running without a Secret Service" >&2
    exec "$@"
fi
KEYRING_SESSION_DIR=$(mktemp -d "${TMPDIR:-/tmp}/tuckaway-keyring.XXXXXX")
export KEYRING_SESSION_DIR
trap 'rm -rf "$KEYRING_SESSION_DIR"' EXIT
status=0
dbus-run-session -- bash "$0" --inside "$@" || status=$?
exit $status
