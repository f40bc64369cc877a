#!/usr/bin/env bash
# Installs what is missing, builds with warnings as errors, and runs every test with ctest.
# Extra arguments go to ctest (e.g. ./test.sh -R fold).
set -euo pipefail
cd "$(dirname "$0")"
source .ci/setup.sh
deltascope_install_packages
deltascope_build build-test -DDELTASCOPE_BUILD_TESTS=ON -DDELTASCOPE_WARNINGS_AS_ERRORS=ON
export QT_QPA_PLATFORM=${QT_QPA_PLATFORM:-offscreen}
cd build-test
ctest --output-on-failure --timeout 300 -j "$(nproc 2>/dev/null || echo 2)" "$@"
