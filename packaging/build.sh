#!/usr/bin/env bash
# Build a release, into dist/ (or $DIST):
#   dist/tuckaway/                               the frozen one-dir bundle (tuckaway, tuckaway-host)
#   dist/tuckaway-VERSION-linux-x86_64.tar.gz    that bundle + install.sh (docs/install.md)
#   dist/tuckaway-VERSION-py3-none-any.whl       the wheel, for pipx / pip
#   dist/tuckaway-extension-VERSION.zip          the extension, for the Chrome Web Store / unpacked
#   dist/tuckaway-VERSION.xpi                    the Firefox add-on, unsigned (web-ext build)
#   dist/SHA256SUMS                              of the four files above
# Needs: python with the `build` extra (pip install -e '.[build]'); zip; npx for the .xpi.
#   PYTHON=/path/to/python bash packaging/build.sh
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
PY=${PYTHON:-python3}
DIST=${DIST:-$ROOT/dist}
WORK=${WORK:-$ROOT/build/pyinstaller}
VERSION=$("$PY" -c 'import sys; sys.path.insert(0, "host"); import tuckaway; print(tuckaway.__version__)')
mkdir -p "$DIST"

started=$(date +%s)
echo "== pyinstaller: $DIST/tuckaway"
"$PY" -m PyInstaller --noconfirm --log-level WARN \
    --distpath "$DIST" --workpath "$WORK" packaging/tuckaway.spec
echo "   bundle: $(du -sh "$DIST/tuckaway" | cut -f1) in $(( $(date +%s) - started ))s"

# The release archive: the bundle and install.sh, under one top folder.
platform_tag="$(uname -s | tr '[:upper:]' '[:lower:]')-$(uname -m)"
name="tuckaway-$VERSION-$platform_tag"
echo "== release archive: $DIST/$name.tar.gz"
stage=$(mktemp -d)
mkdir "$stage/$name"
cp -R "$DIST/tuckaway" "$stage/$name/tuckaway"
cp packaging/install.sh "$stage/$name/install.sh"
chmod 755 "$stage/$name/install.sh"
tar -C "$stage" -czf "$DIST/$name.tar.gz" "$name"
rm -rf "$stage"

echo "== wheel"
rm -f "$DIST"/tuckaway-*.whl
"$PY" -m pip wheel -q --no-deps --wheel-dir "$DIST" . >/dev/null

# The extension's own files only (web-ext-config.mjs lists what is not shipped).
zipfile="$DIST/tuckaway-extension-$VERSION.zip"
echo "== extension: $zipfile"
rm -f "$zipfile"
(cd extension && zip -q -r -X "$zipfile" . \
    -x 'node_modules/*' 'test/*' 'tools/*' 'package.json' 'package-lock.json' \
       'eslint.config.js' 'web-ext-config.mjs' 'icons/icon.svg' '*.DS_Store')

if command -v npx >/dev/null && [ -x extension/node_modules/.bin/web-ext ]; then
    echo "== firefox: web-ext build"
    tmp=$(mktemp -d)
    (cd extension && npx --no-install web-ext build --source-dir . --artifacts-dir "$tmp" \
        --overwrite-dest >/dev/null)
    built=$(ls "$tmp"/*.zip)
    mv "$built" "$DIST/tuckaway-$VERSION.xpi"
    rmdir "$tmp"
    echo "   $DIST/tuckaway-$VERSION.xpi"
else
    echo "== firefox: skipped (needs npx and 'npm ci' in extension/)"
fi
echo "== SHA256SUMS"
(cd "$DIST" && sha256sum -- *.tar.gz *.whl *.zip $(ls *.xpi 2>/dev/null) > SHA256SUMS && cat SHA256SUMS)
echo "done in $(( $(date +%s) - started ))s"
