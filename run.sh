#!/usr/bin/env bash
# Builds what is missing and starts Deltascope. Arguments pass through to the app, e.g.
#   ./run.sh                                   live demo against the embedded reference server
#   ./run.sh --url ws://127.0.0.1:7777/~s ...   watch a real server
#   ./run.sh capture.ndjson                    replay a capture
set -euo pipefail
cd "$(dirname "$0")"
source .ci/setup.sh
deltascope_install_packages
deltascope_build build -DDELTASCOPE_BUILD_TESTS=OFF
# The app names this script, not its build path, in what it tells a user (no display found).
DELTASCOPE_LAUNCHER=./run.sh exec ./build/app/deltascope "$@"
