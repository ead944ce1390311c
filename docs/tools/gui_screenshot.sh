#!/usr/bin/env bash
# Screenshot of the whole ParaView window with the plugin in use (docs/images/gui.png).
# Needs xvfb, x11-apps (xwd) and imagemagick (convert): apt-get install x11-apps imagemagick
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
out="${1:-$root/docs/images/gui.png}"
display=":${INR_AMR_DISPLAY:-87}"
tmp="$(mktemp -d)"
Xvfb "$display" -screen 0 1600x1000x24 -nolisten tcp -noreset &
xvfb=$!
trap 'kill $pv $xvfb 2>/dev/null || true; rm -rf "$tmp"' EXIT
sleep 1
export XDG_RUNTIME_DIR="$tmp" DISPLAY="$display" INR_AMR_SCENE="$root/docs/tools/gui_scene.py" INR_AMR_READY="$tmp/ready"
"$root/.venv/bin/inr-amr" paraview --dr --script="$root/docs/tools/gui_scene.py" >"$tmp/log" 2>&1 &
pv=$!
for _ in $(seq 480); do [ -e "$tmp/ready" ] && break; sleep 1; done
[ -e "$tmp/ready" ] || { cat "$tmp/log"; echo "ParaView did not get ready" >&2; exit 1; }
sleep 5  # let the GUI repaint after the last render
# crop to ParaView's main window (the largest top-level window; there is no window manager)
geometry="$(xwininfo -root -children -display "$display" | awk '/^ +0x/ && match($0, /[0-9]+x[0-9]+\+[0-9]+\+[0-9]+/) {
  g = substr($0, RSTART, RLENGTH); split(g, a, /[x+]/); if (a[1] * a[2] > best) { best = a[1] * a[2]; out = g } } END { print out }')"
xwd -root -silent -display "$display" | convert xwd:- -crop "$geometry" +repage "$out"
echo "wrote $out"
