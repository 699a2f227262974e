#!/bin/sh
# Install Tuckaway from this release archive, for your user only (no root):
#   the bundle goes to ~/.local/lib/tuckaway, `tuckaway` is linked into ~/.local/bin,
#   then `tuckaway install --all` registers the host with every browser found
#   (arguments replace --all: ./install.sh --browser firefox).
# Run it again to upgrade: the manifests keep naming ~/.local/lib/tuckaway/tuckaway-host.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
lib="${TUCKAWAY_LIB_DIR:-$HOME/.local/lib/tuckaway}"
bin="${TUCKAWAY_BIN_DIR:-$HOME/.local/bin}"
if [ ! -x "$here/tuckaway/tuckaway-host" ]; then
    echo "install.sh: no tuckaway/ bundle beside this script; unpack the whole archive" >&2
    exit 1
fi
mkdir -p "$(dirname "$lib")" "$bin"
tmp="$lib.new.$$"
rm -rf "$tmp"
cp -R "$here/tuckaway" "$tmp"
rm -rf "$lib"
mv "$tmp" "$lib"
ln -sf "$lib/tuckaway" "$bin/tuckaway"
echo "installed $lib (tuckaway $("$lib/tuckaway" --version | cut -d' ' -f2)); linked $bin/tuckaway"
case ":$PATH:" in
    *":$bin:"*) ;;
    *) echo "note: $bin is not on your PATH; add it, or run $bin/tuckaway" ;;
esac
[ $# -gt 0 ] || set -- --all
if "$lib/tuckaway" install "$@"; then
    echo "done: restart your browser if it was open, then install the extension"
else
    echo "install.sh: no browser registered yet; start your browser once, or name it:" >&2
    echo "    $bin/tuckaway install --browser NAME" >&2
    exit 1
fi
