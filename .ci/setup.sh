# Shared by run.sh and test.sh (sourced, not run): installs missing Debian packages and configures
# and builds one build folder. Functions only; the caller sets -euo pipefail.

deltascope_packages=(
    cmake ninja-build g++ ccache pkg-config
    qt6-base-dev qt6-base-dev-tools qt6-websockets-dev qt6-charts-dev libgl-dev
    catch2 libsimdjson-dev libzstd-dev zlib1g-dev
    xvfb xauth
)

deltascope_install_packages() {
    local missing=()
    local package
    for package in "${deltascope_packages[@]}"; do
        if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q 'install ok installed'; then
            missing+=("$package")
        fi
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    if ! command -v apt-get >/dev/null 2>&1; then
        echo "deltascope: missing packages (${missing[*]}) and no apt-get here; install their equivalents and rerun." >&2
        return 1
    fi
    local sudo=()
    if [ "$(id -u)" -ne 0 ]; then
        if command -v sudo >/dev/null 2>&1; then sudo=(sudo); else
            echo "deltascope: need root or sudo to install: ${missing[*]}" >&2
            return 1
        fi
    fi
    echo "deltascope: installing Debian packages: ${missing[*]}" >&2
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >&2
}

# Paths relative to the checkout let ccache share results between clones and worktrees.
export CCACHE_BASEDIR=${CCACHE_BASEDIR:-$PWD}
# -g puts the build folder into the hash; without this a fresh clone never hits the cache.
export CCACHE_NOHASHDIR=${CCACHE_NOHASHDIR:-1}

# deltascope_build BUILD_DIR [extra cmake -D options...]
deltascope_build() {
    local build_dir=$1
    shift
    local generator=()
    command -v ninja >/dev/null 2>&1 && generator=(-G Ninja)
    if [ ! -f "$build_dir/CMakeCache.txt" ]; then
        cmake -S . -B "$build_dir" "${generator[@]}" -DCMAKE_BUILD_TYPE=RelWithDebInfo "$@" >&2
    else
        cmake -S . -B "$build_dir" "$@" >/dev/null
    fi
    local jobs
    jobs=$(nproc 2>/dev/null || echo 2)
    cmake --build "$build_dir" --parallel "$jobs" >&2
}
