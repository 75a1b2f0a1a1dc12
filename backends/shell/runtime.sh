# The part of every meshcap shell script that does not depend on the policy. emit.ts puts
# the policy's variables before it and its payload functions at @@PAYLOADS@@.
say() { printf 'meshcap: %s\n' "$*" >&2; }
run() {
  if [ "$DRY_RUN" = 1 ]; then
    printf '+ %s\n' "$*"
    return 0
  fi
  "$@"
}

TMP=$(mktemp -d "${TMPDIR:-/tmp}/meshcap.XXXXXX")
# 1 while apply is changing the node: a signal then rolls back before the script exits.
APPLYING=0
trap 'rm -rf "$TMP"' EXIT
# A trapped signal must end the script: a handler that returns would let it carry on.
on_signal() {
  trap '' INT TERM HUP
  say "interrupted by SIG$1"
  if [ "$APPLYING" = 1 ] && [ "$DRY_RUN" != 1 ]; then rollback; fi
  exit "$2"
}
trap 'on_signal INT 130' INT
trap 'on_signal TERM 143' TERM
trap 'on_signal HUP 129' HUP

choose_firewall() {
  case "$FIREWALL" in
    iptables-legacy|iptables-nft|nftables) ;;
    auto)
      if command -v nft >/dev/null 2>&1 && nft list tables >/dev/null 2>&1; then
        FIREWALL=nftables
      elif command -v iptables-legacy-save >/dev/null 2>&1 && iptables-legacy-save 2>/dev/null | grep -q '^-A'; then
        FIREWALL=iptables-legacy
      elif command -v iptables-nft-save >/dev/null 2>&1; then
        FIREWALL=iptables-nft
      else
        FIREWALL=iptables-legacy
      fi
      say "auto: chose $FIREWALL"
      ;;
    *) say "unknown firewall '$FIREWALL' (iptables-legacy, iptables-nft, nftables, auto)"; exit 2 ;;
  esac
}

# The iptables binary of this flavour for family 4 or 6, e.g. "ip6tables-nft".
ipt() {
  case "$FIREWALL" in
    iptables-legacy) f=legacy ;;
    *) f=nft ;;
  esac
  if [ "$1" = 4 ]; then printf 'iptables-%s' "$f"; else printf 'ip6tables-%s' "$f"; fi
}

# Every iptables and iptables-restore call passes "$XT_WAIT": wait up to 10 s for the xtables
# lock. Legacy iptables holds one host-wide lock (/run/xtables.lock) that kube-proxy and
# other agents take too; without --wait a busy lock fails at once. A lock still busy after
# that exits 4.
XT_WAIT=--wait=10


@@PAYLOADS@@

# Remove meshcap's rules of family $1 (4 or 6): rules in built-in chains that jump to a
# chain meshcap owns or carry meshcap's "meshcap FILE:LINE purpose" comment (by number,
# last first), then those chains. meshcap owns the chains its lowering names ($OWN_CHAINS)
# and its fingerprint chain; a user's MESHCAP_USER or "meshcap ..." rule is not ours.
# Every listing must succeed: a failed one would leave old rules under the new ones.
remove_iptables() {
  bin=$(ipt "$1")
  if [ "$1" = 4 ]; then tables=$TABLES4; else tables=$TABLES6; fi
  for t in nat mangle raw filter; do
    rc=0
    listing=$("$bin" "$XT_WAIT" -t "$t" -S 2>"$TMP/list.err") || rc=$?
    if [ "$rc" = 4 ]; then say "the xtables lock stayed busy for 10 s"; return 1; fi
    if [ "$rc" != 0 ]; then
      # Only a table this kernel does not have is skipped (nothing of ours can be in it).
      if grep -q 'does not exist' "$TMP/list.err"; then continue; fi
      say "cannot list table $t with $bin: $(cat "$TMP/list.err")"
      return 1
    fi
    printf '%s\n' "$listing" | awk -v owned=" $OWN_CHAINS " '
      function ours_chain(c) { return index(owned, " " c " ") > 0 || c ~ /^MESHCAP_FP_[0-9a-f]+$/ }
      $1 == "-A" && $2 ~ /^(PREROUTING|INPUT|FORWARD|OUTPUT|POSTROUTING)$/ {
        n[$2]++
        mine = 0
        for (i = 3; i < NF; i++) if (($i == "-j" || $i == "-g") && ours_chain($(i + 1))) mine = 1
        if ($0 ~ /--comment "?meshcap [^ "]+:[0-9]+ /) mine = 1
        if (mine) print $2, n[$2]
      }' | sort -k2,2rn >"$TMP/ours"
    while read -r c n; do run "$bin" "$XT_WAIT" -t "$t" -D "$c" "$n" || return 1; done <"$TMP/ours"
    chains=$(printf '%s\n' "$listing" | awk -v owned=" $OWN_CHAINS " '$1 == "-N" && (index(owned, " " $2 " ") > 0 || $2 ~ /^MESHCAP_FP_[0-9a-f]+$/) { print $2 }')
    for c in $chains; do run "$bin" "$XT_WAIT" -t "$t" -F "$c" || return 1; done
    for c in $chains; do run "$bin" "$XT_WAIT" -t "$t" -X "$c" || return 1; done
  done
  : "$tables"
}

# The text listing of table inet $NFT_TABLE into file $1, cut from the ruleset's (nft's
# command line cannot name a table whose name is an nft keyword, such as 'tproxy');
# status 1: the table is not there, 2: nft failed (its words in $TMP/table.err).
nft_table_text() {
  nft list ruleset >"$TMP/ruleset.nft" 2>"$TMP/table.err" || return 2
  awk -v t="table inet $NFT_TABLE {" '$0 == t { on = 1 } on { print } on && $0 == "}" { exit }' "$TMP/ruleset.nft" >"$1" || return 2
  [ -s "$1" ] || return 1
}

# Every table of meshcap's in the ruleset nft_table_text last listed, one "FAMILY NAME" a
# line: a table one of whose rules carries meshcap's comment, or that has the fingerprint
# chain of a script or the mark chain of `meshcap apply` (the same rule as apply's
# nftTableOwner). A namespace runs one policy, so apply replaces all of them: an upgrade to
# a policy of another name must not leave the old table. A user's table (istio-sidecar
# of istio-iptables, say) has none of these and is never touched.
nft_owned() {
  awk '
    /^table / { fam = $2; name = $3; ours = 0; next }
    /^}/ { if (name != "" && ours) print fam, name; name = ""; next }
    name != "" && /^\t\t/ && !/^\t\tcomment / && /comment "meshcap ([^ "]+:[0-9]+ |ipv[46] )/ { ours = 1 }
    name != "" && /^\tchain (meshcap-apply|meshcap-fp-[0-9a-f]+) \{/ { ours = 1 }
  ' "$TMP/ruleset.nft"
}

# Delete the tables named by the arguments (FAMILY NAME ...) in one nft transaction.
nft_delete() {
  sep=''
  printf '{"nftables":[' >"$TMP/delete.nft.json"
  while [ "$#" -ge 2 ]; do
    n=$(printf '%s' "$2" | sed 's/[\\"]/\\&/g')
    printf '%s{"delete":{"table":{"family":"%s","name":"%s"}}}' "$sep" "$1" "$n" >>"$TMP/delete.nft.json"
    sep=,
    shift 2
  done
  printf ']}\n' >>"$TMP/delete.nft.json"
  nft -j -f "$TMP/delete.nft.json"
}

# 0: table inet $NFT_TABLE is there and is meshcap's (nft_owned), 1: it is not there, 2:
# it is someone else's table of the same name, 3: nft failed. Leaves meshcap's tables, this
# one and any other, in $TMP/owned.
nft_table_state() {
  lrc=0
  : >"$TMP/owned"
  nft_table_text "$TMP/table.nft" || lrc=$?
  if [ "$lrc" = 2 ]; then
    say "cannot list the nftables ruleset: $(cat "$TMP/table.err")"
    return 3
  fi
  nft_owned >"$TMP/owned" || { say "cannot read the nftables ruleset"; return 3; }
  if [ "$lrc" = 1 ]; then return 1; fi
  if grep -qx "inet $NFT_TABLE" "$TMP/owned"; then return 0; fi
  return 2
}

# Remove every table of meshcap's (nft_owned); a table of the policy's name that is not
# meshcap's is left alone.
remove_nft() {
  rc=0
  nft_table_state || rc=$?
  if [ "$rc" = 3 ]; then return 1; fi
  if [ "$rc" = 2 ]; then say "table inet $NFT_TABLE is not meshcap's (no meshcap rule in it): left alone"; fi
  # shellcheck disable=SC2046 # one word per family and name (nft names have no blanks)
  if [ -s "$TMP/owned" ]; then run nft_delete $(cat "$TMP/owned"); fi
}

# TPROXY's policy routing for family $1 (4 or 6), when the policy has it for that family.
tproxy_on() {
  if [ "$1" = 4 ]; then [ -n "$TPROXY_V4" ]; else [ -n "$TPROXY_V6" ]; fi
}
# 0: the rule is there, 1: it is not; a failed listing stops the script (it cannot tell).
has_tproxy_rule() {
  rules=$(ip -"$1" rule show) || { say "cannot list the IPv$1 policy routing rules"; exit 1; }
  printf '%s\n' "$rules" | grep -q "fwmark $(printf '0x%x' "$TPROXY_MARK") lookup $TPROXY_TABLE"
}

routing_add() {
  for fam in 4 6; do
    tproxy_on "$fam" || continue
    if [ "$fam" = 4 ]; then everything=0.0.0.0/0; else everything=::/0; fi
    # Each marker is written before its change: a signal between the two must still let
    # rollback undo it (undoing what was not yet made fails harmlessly).
    if ! has_tproxy_rule "$fam"; then
      : >"$TMP/added.rule$fam"
      run ip -"$fam" rule add fwmark "$TPROXY_MARK" lookup "$TPROXY_TABLE" || return 1
    fi
    # A table with no route yet "does not exist" (IPv4): that listing is empty, not failed.
    routes=$(ip -"$fam" route show table "$TPROXY_TABLE" 2>"$TMP/route.err") || grep -q 'does not exist' "$TMP/route.err" || {
      say "cannot list routing table $TPROXY_TABLE: $(cat "$TMP/route.err")"
      return 1
    }
    if ! printf '%s\n' "$routes" | grep -q '^local default dev lo'; then : >"$TMP/added.route$fam"; fi
    run ip -"$fam" route replace local "$everything" dev lo table "$TPROXY_TABLE" || return 1
  done
  for a in $LO_ADDRS; do
    addrs=$(ip -6 addr show dev lo) || { say "cannot list the addresses of lo"; return 1; }
    if ! printf '%s\n' "$addrs" | grep -q "inet6 $a/128"; then
      printf '%s\n' "$a" >>"$TMP/added.lo"
      run ip -6 addr add "$a/128" dev lo || return 1
    fi
  done
}

# Undo only what this run of apply added (a failed apply must leave the node as it was).
routing_undo() {
  for fam in 4 6; do
    if [ -f "$TMP/added.rule$fam" ]; then ip -"$fam" rule del fwmark "$TPROXY_MARK" lookup "$TPROXY_TABLE" 2>/dev/null; fi
    if [ -f "$TMP/added.route$fam" ]; then ip -"$fam" route flush table "$TPROXY_TABLE" 2>/dev/null; fi
  done
  if [ -f "$TMP/added.lo" ]; then
    while read -r a; do ip -6 addr del "$a/128" dev lo 2>/dev/null; done <"$TMP/added.lo"
  fi
}

routing_remove() {
  for fam in 4 6; do
    tproxy_on "$fam" || continue
    while has_tproxy_rule "$fam"; do
      run ip -"$fam" rule del fwmark "$TPROXY_MARK" lookup "$TPROXY_TABLE" || break
      [ "$DRY_RUN" = 1 ] && break
    done
    run ip -"$fam" route flush table "$TPROXY_TABLE" 2>/dev/null || true
  done
  for a in $LO_ADDRS; do
    if ip -6 addr show dev lo | grep -q "inet6 $a/128"; then run ip -6 addr del "$a/128" dev lo; fi
  done
}

# Save what apply touches, so that a failure can put it back. Nothing has changed yet, so
# a save that fails stops apply here.
save_state() {
  case "$FIREWALL" in
    nftables)
      rc=0
      nft_table_state || rc=$?
      if [ "$rc" = 2 ]; then say "table inet $NFT_TABLE exists and is not meshcap's; nothing was changed"; exit 1; fi
      if [ "$rc" = 3 ]; then say "nothing was changed"; exit 1; fi
      # Every table apply will delete, each in its own listing (one document per table).
      i=0
      while read -r fam name; do
        i=$((i + 1))
        printf '{"nftables":[{"list":{"table":{"family":"%s","name":"%s"}}}]}\n' "$fam" "$(printf '%s' "$name" | sed 's/[\\"]/\\&/g')" >"$TMP/list.nft.json"
        nft -j -f "$TMP/list.nft.json" >"$TMP/saved.$i.nft.json" || { say "cannot save table $fam $name; nothing was changed"; exit 1; }
      done <"$TMP/owned" ;;
    *)
      if [ -n "$TABLES4" ]; then "$(ipt 4)-save" >"$TMP/saved.v4" || { say "cannot save the IPv4 rules; nothing was changed"; exit 1; }; fi
      if [ -n "$TABLES6" ]; then "$(ipt 6)-save" >"$TMP/saved.v6" || { say "cannot save the IPv6 rules; nothing was changed"; exit 1; }; fi ;;
  esac
}

rollback() {
  APPLYING=0
  say "rolling back to the state before apply"
  set +e
  case "$FIREWALL" in
    nftables)
      remove_nft
      for f in "$TMP"/saved.*.nft.json; do
        if [ -f "$f" ]; then nft -j -f "$f"; fi
      done ;;
    *)
      remove_iptables 4
      remove_iptables 6
      if [ -f "$TMP/saved.v4" ]; then "$(ipt 4)-restore" "$XT_WAIT" <"$TMP/saved.v4"; fi
      if [ -f "$TMP/saved.v6" ]; then "$(ipt 6)-restore" "$XT_WAIT" <"$TMP/saved.v6"; fi ;;
  esac
  routing_undo
  set -e
}

# Run a step; on failure roll back and stop with the failing command and its error.
step() {
  if ! out=$("$@" 2>&1); then
    say "failed: $*"
    printf '%s\n' "$out" >&2
    [ "$DRY_RUN" = 1 ] || rollback
    exit 1
  fi
  [ -z "$out" ] || printf '%s\n' "$out"
}

apply_rules() {
  case "$FIREWALL" in
    nftables)
      payload_nft >"$TMP/rules.nft.json"
      step remove_nft
      # A file, never stdin: nft -j -f - exits 0 on malformed JSON.
      step run nft -j -f "$TMP/rules.nft.json"
      # The fingerprint, for check: an empty chain of the table whose name carries it
      # (counting rules cannot tell this policy from another version of it). Added after
      # the rules, so a table that has it has all of them.
      printf '{"nftables":[{"add":{"chain":{"family":"inet","table":"%s","name":"meshcap-fp-%s"}}}]}\n' "$NFT_TABLE" "$FINGERPRINT" >"$TMP/fp.nft.json"
      step run nft -j -f "$TMP/fp.nft.json" ;;
    *)
      payload_v4 >"$TMP/rules.v4"
      payload_v6 >"$TMP/rules.v6"
      step remove_iptables 4
      step remove_iptables 6
      if [ -n "$TABLES4" ]; then step run "$(ipt 4)-restore" "$XT_WAIT" --noflush "$TMP/rules.v4"; fi
      if [ -n "$TABLES6" ]; then step run "$(ipt 6)-restore" "$XT_WAIT" --noflush "$TMP/rules.v6"; fi
      # The fingerprint, for check: an empty chain whose name carries it.
      step run "$(ipt 4)" "$XT_WAIT" -t nat -N "MESHCAP_FP_$FINGERPRINT" ;;
  esac
  step routing_add
}

check_rules() {
  ok=0
  case "$FIREWALL" in
    nftables)
      if ! nft_table_text "$TMP/now.nft"; then
        say "table inet $NFT_TABLE is missing"; return 1
      fi
      # Another policy's table of meshcap's (apply would have replaced it) is not this state.
      nft_owned | grep -vx "inet $NFT_TABLE" >"$TMP/others" || true
      while read -r fam name; do say "table $fam $name is meshcap's but not this policy's"; ok=1; done <"$TMP/others"
      if ! grep -q "^[[:space:]]*chain meshcap-fp-$FINGERPRINT {" "$TMP/now.nft"; then
        say "this policy's fingerprint $FINGERPRINT is not installed"; ok=1
      fi
      payload_nft >"$TMP/rules.nft.json"
      want=$(grep -c '"rule": {' "$TMP/rules.nft.json" || true)
      have=$(grep -c 'comment "meshcap\|jump v[46]-' "$TMP/now.nft" || true)
      if [ "$want" != "$have" ]; then say "table inet $NFT_TABLE has $have meshcap rules, this policy has $want"; ok=1; fi ;;
    *)
      if ! "$(ipt 4)" "$XT_WAIT" -t nat -S "MESHCAP_FP_$FINGERPRINT" >/dev/null 2>&1; then
        say "this policy's fingerprint $FINGERPRINT is not installed"; ok=1
      fi
      for fam in 4 6; do
        if [ "$fam" = 4 ]; then counts=$COUNTS4; else counts=$COUNTS6; fi
        for spec in $counts; do
          t=${spec%%:*}; rest=${spec#*:}; c=${rest%%:*}; want=${rest#*:}
          have=$("$(ipt "$fam")" "$XT_WAIT" -t "$t" -S "$c" 2>/dev/null | awk 'NR > 1 && (/--comment "?meshcap / || / -j MESHCAP_/)' | wc -l | tr -d ' ') || have=0
          if [ "$have" != "$want" ]; then say "IPv$fam $t $c has $have meshcap rules, this policy has $want"; ok=1; fi
        done
      done ;;
  esac
  for fam in 4 6; do
    if tproxy_on "$fam" && ! has_tproxy_rule "$fam"; then say "the IPv$fam tproxy routing rule is missing"; ok=1; fi
  done
  for a in $LO_ADDRS; do
    if ! ip -6 addr show dev lo | grep -q "inet6 $a/128"; then say "$a is not on lo"; ok=1; fi
  done
  return "$ok"
}

cleanup_all() {
  case "$FIREWALL" in
    nftables) remove_nft ;;
    *)
      remove_iptables 4
      remove_iptables 6 ;;
  esac
  routing_remove
}

main() {
  cmd=${1:-apply}
  choose_firewall
  case "$cmd" in
    apply)
      preflight_checks
      save_state
      APPLYING=1
      apply_rules
      APPLYING=0
      say "applied policy $POLICY ($FIREWALL, fingerprint $FINGERPRINT)" ;;
    cleanup)
      cleanup_all
      say "removed policy $POLICY ($FIREWALL)" ;;
    check)
      if check_rules; then say "policy $POLICY is installed ($FIREWALL)"; else exit 1; fi ;;
    *)
      say "usage: sh $0 [apply|cleanup|check]"; exit 2 ;;
  esac
}

main "$@"
