#!/usr/bin/env bash
# Smoke test of the PyInstaller bundle built by `make installer` (installer.spec).
#
#   scripts/smoke_installer.sh [BUNDLE_DIR] [OUT_PNG]
#
# 1. the bundle's own `cadis` generates a small phantom sample (no venv involved);
# 2. the bundle's `cadis-studio` opens it offscreen (or under Xvfb with XVFB=1) and writes --screenshot;
# 3. with the starter model in the bundle, the bundled `cadis synth` samples 2 steps (torch + diffusers work);
# 4. the screenshot is checked: a real window picture, not blank (needs the build venv's python).
# Exits non-zero with a message on the first failure. Environment: XVFB=1, PYTHON (checker), TIMEOUT (s).
set -euo pipefail

BUNDLE="${1:-dist/cadis-studio}"
OUT_PNG="${2:-}"
PYTHON="${PYTHON:-.venv/bin/python}"
TIMEOUT="${TIMEOUT:-300}"

fail() { echo "smoke_installer: $*" >&2; exit 1; }

[ -x "$BUNDLE/cadis-studio" ] || fail "$BUNDLE/cadis-studio not found: build it first with 'make installer'"
[ -x "$BUNDLE/cadis" ] || fail "$BUNDLE/cadis not found: the bundle is incomplete, rebuild with 'make installer'"

BUNDLE="$(cd "$BUNDLE" && pwd)"
case "$OUT_PNG" in ""|/*) ;; *) OUT_PNG="$PWD/$OUT_PNG" ;; esac
WORK="$(mktemp -d "${TMPDIR:-/tmp}/cadis-smoke.XXXXXX")"
trap 'rm -rf "$WORK"' EXIT
OUT_PNG="${OUT_PNG:-$WORK/screenshot.png}"
# the bundle must not pick up the source tree or the venv: run it from an empty folder, with a clean env
cd "$WORK"
RUN_ENV=(env -i "HOME=$WORK" "PATH=/usr/bin:/bin" "LANG=C.UTF-8" "HF_HUB_OFFLINE=1" "TRANSFORMERS_OFFLINE=1")

SECONDS=0
"${RUN_ENV[@]}" timeout "$TIMEOUT" "$BUNDLE/cadis" phantom "$WORK/sample" --videos 1 --frames-per-video 2 \
    --width 480 --height 270 --quiet || fail "the bundled 'cadis phantom' failed"
cli_s=$SECONDS

SECONDS=0
if [ "${XVFB:-0}" = "1" ]; then
    command -v xvfb-run >/dev/null || fail "XVFB=1 needs xvfb-run (apt-get install -y xvfb xauth libxcb-cursor0 libxcb-icccm4 libxcb-keysyms1)"
    "${RUN_ENV[@]}" QT_QPA_PLATFORM=xcb timeout "$TIMEOUT" xvfb-run -a "$BUNDLE/cadis-studio" "$WORK/sample" \
        --project "$WORK/project" --settings "$WORK/settings.ini" --screenshot "$OUT_PNG" \
        || fail "the bundled app failed under Xvfb"
else
    "${RUN_ENV[@]}" QT_QPA_PLATFORM=offscreen timeout "$TIMEOUT" "$BUNDLE/cadis-studio" "$WORK/sample" \
        --project "$WORK/project" --settings "$WORK/settings.ini" --screenshot "$OUT_PNG" \
        || fail "the bundled app failed offscreen"
fi
app_s=$SECONDS
[ -s "$OUT_PNG" ] || fail "no screenshot was written"

# torch + diffusers inside the bundle: two sampling steps of the bundled starter model, when it is there
STARTER="$BUNDLE/_internal/resources/models/starter-synthesis"
synth="skipped (no starter model in the bundle)"
if [ -f "$STARTER/model_index.json" ] || [ -f "$STARTER/config.json" ]; then
    SECONDS=0
    mask="$(ls "$WORK"/sample/Video01/Labels/*.png | head -n 1)"
    "${RUN_ENV[@]}" timeout "$TIMEOUT" "$BUNDLE/cadis" synth --model "$STARTER" --mask "$mask" \
        --out "$WORK/synth.png" --steps 2 || fail "the bundled 'cadis synth' failed with the starter model"
    [ -s "$WORK/synth.png" ] || fail "the bundled 'cadis synth' wrote no image"
    synth="${SECONDS}s"
fi
cd - >/dev/null

"$PYTHON" - "$OUT_PNG" <<'PY' || fail "the screenshot looks blank"
import sys
import cv2
import numpy as np

img = cv2.imread(sys.argv[1], cv2.IMREAD_COLOR)
assert img is not None, "unreadable PNG"
h, w = img.shape[:2]
colours = len(np.unique(img.reshape(-1, 3), axis=0))
centre = img[h // 4: 3 * h // 4, w // 4: 3 * w // 4]
print(f"screenshot {w}x{h}, {colours} colours, std {img.std():.1f}, centre std {centre.std():.1f}")
assert w >= 800 and h >= 500, "window too small"
assert colours > 200 and img.std() > 10 and centre.std() > 10, "blank or nearly blank"
PY
echo "smoke_installer: OK (bundled cadis phantom ${cli_s}s, app start + screenshot ${app_s}s, starter-model synth ${synth})"
