#!/usr/bin/env bash
# The Debian packages some tests need beyond Node: QEMU, a kernel and a static busybox for the VM
# guests (apps/vrdma/src/vm), libfabric for engine-libfabric. Run before `npm test` and by CI.
# As root with apt-get, what is missing is installed. Otherwise one line says what to install;
# with CI=true that fails the run, elsewhere the tests that need it fail with the same line.
set -euo pipefail

missing=()
command -v qemu-system-x86_64 >/dev/null || missing+=(qemu-system-x86)
compgen -G '/boot/vmlinuz-*' >/dev/null || missing+=(linux-image-amd64)
[ -x /bin/busybox ] || missing+=(busybox-static)
[ -e /usr/include/rdma/fabric.h ] || missing+=(libfabric-dev)
command -v fi_info >/dev/null || missing+=(libfabric-bin)
[ ${#missing[@]} -eq 0 ] && exit 0

if command -v apt-get >/dev/null && [ "$(id -u)" = 0 ]; then
  echo "system packages: installing ${missing[*]}" >&2
  # Two test runs may start at once: wait for the other's dpkg lock rather than fail.
  lock=(-o DPkg::Lock::Timeout=600)
  apt-get "${lock[@]}" update -qq
  DEBIAN_FRONTEND=noninteractive apt-get "${lock[@]}" install -y -qq --no-install-recommends \
    "${missing[@]}" >/dev/null
  # engine-libfabric's add-on is built at `npm ci` when the headers are there: build it now,
  # through npm, which is what puts node-gyp on the PATH of an install script.
  if [[ " ${missing[*]} " == *" libfabric-dev "* ]] && [ -d node_modules/@vrdma/engine-libfabric ]; then
    npm rebuild @vrdma/engine-libfabric >/dev/null
  fi
  exit 0
fi

line="system packages missing: ${missing[*]} (as root: apt-get install -y ${missing[*]})"
if [ "${CI:-}" = true ]; then
  echo "CI: $line" >&2
  exit 1
fi
echo "$line; the tests that need them will fail" >&2
