#!/bin/sh
# Qt's xcb platform plugin (X11 desktops) needs system libraries that a fresh Debian/Ubuntu desktop may lack
# (libxcb-cursor0 first of all). Called by `make run`: with an X display, install the missing ones when root
# (apt-get), otherwise stop with the one line that installs them. Offscreen, Wayland-only or non-Debian
# systems pass untouched. PYTHON is the venv's interpreter (to find PySide6's xcb plugin).
set -eu
PYTHON="${PYTHON:-python3}"
PACKAGES="libxcb-cursor0 libxcb-icccm4 libxcb-image0 libxcb-keysyms1 libxcb-randr0 libxcb-render-util0 \
libxcb-shape0 libxcb-xinerama0 libxcb-xkb1 libxkbcommon-x11-0 libegl1"

case "${QT_QPA_PLATFORM:-}" in offscreen*|minimal*|wayland*|vnc*) exit 0 ;; esac
[ -n "${DISPLAY:-}" ] || exit 0              # no X display: xcb is not used
command -v dpkg-query >/dev/null 2>&1 || exit 0  # not Debian/Ubuntu: Qt reports what it misses itself

missing=""
for pkg in $PACKAGES; do
    status=$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true)
    case "$status" in *"install ok installed"*) ;; *) missing="$missing $pkg" ;; esac
done
[ -n "$missing" ] || exit 0

# a package may be installed under another name (t64 transitions): ask the plugin's linker when we can
plugin=$("$PYTHON" -c 'import PySide6, os; print(os.path.join(os.path.dirname(PySide6.__file__), "Qt", "plugins", "platforms", "libqxcb.so"))' 2>/dev/null || true)
if [ -n "$plugin" ] && [ -f "$plugin" ] && command -v ldd >/dev/null 2>&1; then
    if ! ldd "$plugin" 2>/dev/null | grep -q "not found" && ldconfig -p 2>/dev/null | grep -q libxcb-cursor; then
        exit 0
    fi
fi

if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
    echo "check_qt_libs: installing the Qt X11 libraries:$missing"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $missing
    exit 0
fi
echo "CaDIS Studio needs Qt's X11 libraries. Install them with:" >&2
echo "  sudo apt-get install -y$missing" >&2
exit 1
