#!/usr/bin/env bash
# The system packages the kernel tests need: they load every backend's output into real
# network namespaces with each firewall, and run the shell backend's script with dash and
# busybox. `npm test` runs this first. A missing command is installed from Debian's
# packages when it can be (root with apt-get), saying what is installed; otherwise the
# run stops here with the exact command to type. MESHCAP_NO_INSTALL=1 never installs.
set -euo pipefail

# command the tests run, and the Debian package that brings it
required=(
  "nft nftables"
  "iptables-legacy-restore iptables"
  "iptables-nft-restore iptables"
  "ip6tables-legacy-restore iptables"
  "ip6tables-nft-restore iptables"
  "ip iproute2"
  "shellcheck shellcheck"
  "busybox busybox"
  "dash dash"
  "python3 python3"
)

missing_cmds=()
missing_pkgs=()
find_missing() {
  missing_cmds=()
  missing_pkgs=()
  for entry in "${required[@]}"; do
    cmd=${entry%% *}
    pkg=${entry#* }
    if ! command -v "$cmd" >/dev/null 2>&1; then
      missing_cmds+=("$cmd")
      case " ${missing_pkgs[*]-} " in *" $pkg "*) ;; *) missing_pkgs+=("$pkg") ;; esac
    fi
  done
}

find_missing
[ ${#missing_cmds[@]} -eq 0 ] && exit 0

install_cmd="apt-get update && apt-get install -y --no-install-recommends ${missing_pkgs[*]}"
say() { printf 'meshcap tests: %s\n' "$*" >&2; }

if [ "${MESHCAP_NO_INSTALL:-}" != 1 ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  say "the kernel tests need ${missing_cmds[*]}; installing Debian packages: ${missing_pkgs[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing_pkgs[@]}" >/dev/null
  installed="${missing_pkgs[*]}"
  find_missing
  if [ ${#missing_cmds[@]} -eq 0 ]; then
    say "installed $installed"
    exit 0
  fi
  say "after installing, still not on PATH ($PATH): ${missing_cmds[*]}"
  exit 1
fi

say "the kernel tests need commands this machine does not have: ${missing_cmds[*]}"
if [ "$(id -u)" != 0 ]; then
  say "install them as root (the kernel tests also need root):"
  say "  sudo sh -c '$install_cmd'"
else
  say "install them with:"
  say "  $install_cmd"
fi
exit 1
