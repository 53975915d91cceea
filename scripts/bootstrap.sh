#!/bin/sh
# Installs the Debian packages polyrec needs when they are missing, saying what
# it does. Run by the make targets when pkg-config cannot find a dependency.
# Uses apt-get, through sudo when not root. Downloads nothing from elsewhere.
set -eu

# pkg-config module -> Debian package providing it
MODULES="openblas:libopenblas-dev lapacke:liblapacke-dev libpng:libpng-dev libjpeg:libjpeg62-turbo-dev libwebp:libwebp-dev zlib:zlib1g-dev"
# files the demo and tests use -> Debian package
FILES="/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz:dataset-fashion-mnist"

missing=""
command -v pkg-config >/dev/null 2>&1 || missing="$missing pkg-config"
command -v cc >/dev/null 2>&1 || missing="$missing gcc"
for m in $MODULES; do
    mod=${m%%:*}; pkg=${m#*:}
    if ! command -v pkg-config >/dev/null 2>&1 || ! pkg-config --exists "$mod"; then
        missing="$missing $pkg"
    fi
done
for f in $FILES; do
    path=${f%%:*}; pkg=${f#*:}
    [ -e "$path" ] || missing="$missing $pkg"
done

if [ -z "$missing" ]; then
    exit 0
fi

echo "bootstrap: installing missing Debian packages:$missing" >&2
if [ "$(id -u)" -eq 0 ]; then SUDO=""; else SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# shellcheck disable=SC2086
$SUDO apt-get install -y -qq --no-install-recommends $missing >&2
echo "bootstrap: done" >&2
