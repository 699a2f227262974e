#!/usr/bin/env bash
# The whole test suite, as README.md's quick start runs it:
#   installs the test extras into .venv (and the extension's lint tools),
#   then lint, types, the extension's unit tests, and pytest (inside a private
#   dbus session with an unlocked gnome-keyring when one is available).
# Options via environment: TUCKAWAY_TEST_E2E=0 skips the browser tests;
# PYTEST_ARGS adds pytest arguments.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
    "$PY" -m venv .venv
fi
.venv/bin/python -m pip install -q --upgrade pip >/dev/null
extras=test
if [ "${TUCKAWAY_TEST_FROZEN:-0}" = "1" ]; then extras=test,build; fi
.venv/bin/python -m pip install -q -e ".[$extras]"
export PATH="$PWD/.venv/bin:$PATH"

echo "== ruff"; ruff check host tests bench packaging
echo "== ruff format"; ruff format --check host
echo "== mypy --strict"; mypy

if [ "${TUCKAWAY_REQUIRE_NPM:-0}" = "1" ] && ! command -v npm >/dev/null; then
    echo "npm is needed for the extension's lint and unit tests (apt-get install nodejs npm)" >&2
    exit 1
fi
if [ -f extension/package.json ] && command -v npm >/dev/null; then
    echo "== extension: npm ci, lint, unit tests"
    (cd extension && npm ci --no-audit --no-fund --loglevel=error && npm run --silent lint && npm test --silent)
fi

if [ "${TUCKAWAY_TEST_FROZEN:-0}" = "1" ]; then
    echo "== packaging/build.sh (the release: bundle archive, wheel, extension zip and .xpi)"
    DIST="$PWD/dist" PYTHON="$PWD/.venv/bin/python" bash packaging/build.sh
    export TUCKAWAY_FROZEN_DIST="$PWD/dist"
fi

marker=()
if [ "${TUCKAWAY_TEST_E2E:-1}" = "0" ]; then marker=(-m "not e2e"); fi
echo "== pytest"
if [ -x .ci/keyring-session.sh ] || [ -f .ci/keyring-session.sh ]; then
    set +e
    bash .ci/keyring-session.sh pytest "${marker[@]}" ${PYTEST_ARGS:-}
    status=$?
    if [ $status -eq 0 ] && [ "${TUCKAWAY_TEST_FROZEN:-0}" = "1" ] \
            && [ "${TUCKAWAY_TEST_E2E:-1}" != "0" ]; then
        echo "== the browser tests once more, against the host installed from the release archive"
        rel=$(mktemp -d)
        tar -C "$rel" -xzf dist/tuckaway-*-linux-*.tar.gz
        mkdir -p "$rel/home"
        HOME="$rel/home" TUCKAWAY_HOME="$rel/th" sh "$rel"/tuckaway-*/install.sh --browser chromium
        TUCKAWAY_FROZEN_HOST="$rel/home/.local/lib/tuckaway/tuckaway-host" \
            bash .ci/keyring-session.sh python packaging/e2e_frozen.py -q \
            tests/e2e/test_chromium.py tests/e2e/test_firefox.py
        status=$?
        rm -rf "$rel"
    fi
    set -e
else
    set +e
    pytest "${marker[@]}" ${PYTEST_ARGS:-}
    status=$?
    set -e
fi
exit $status
