#!/bin/sh
# The init container's entrypoint: sets up a pod's traffic capture with meshcap, touching
# only meshcap's own chains and jumps (or its nft table), then exits.
#   meshcap-init istio-iptables -- FLAGS...   istio-iptables' flags (as Istio's injector
#                                             writes them), translated, proven, applied
#   meshcap-init apply POLICY...              a policy mounted into the container
#   meshcap-init COMMAND ...                  any other meshcap command (check, compile, ...)
# MESHCAP_APPLY_FLAGS adds options to apply (--backend nftables, --flavour legacy, ...).
set -eu

usage() {
  echo "usage: meshcap-init istio-iptables -- FLAGS... | meshcap-init apply POLICY... | meshcap-init COMMAND ..." >&2
  exit 3
}

[ $# -gt 0 ] || usage
case "$1" in
  istio-iptables)
    shift
    [ "${1:-}" = "--" ] && shift
    dir=$(mktemp -d)
    trap 'rm -rf "$dir"' EXIT
    # import's warnings (an IPv4-only pod, say) go to the log; only errors stop the pod.
    cd "$dir"
    # Relative, so that each rule's comment names pod.intercept, the same on every run.
    meshcap import istio-iptables -- "$@" >pod.intercept
    # shellcheck disable=SC2086 # the flags are words on purpose
    meshcap apply -v ${MESHCAP_APPLY_FLAGS:-} pod.intercept
    ;;
  -h | --help) usage ;;
  *) exec meshcap "$@" ;;
esac
