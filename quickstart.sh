#!/bin/sh
# First command of the README: on a fresh Debian 12 machine as root, install
# what bale needs, build it, and run its main job on embedded defaults.
set -eu
cd "$(dirname "$0")"

.ci/install-packages

autoreconf -fi
mkdir -p _build/release
cd _build/release
../../configure
make -j"$(nproc)"

./bale version
