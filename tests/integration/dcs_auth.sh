#!/usr/bin/env bash
# dcs against a real etcd with authentication on: the token goes in the Authorization header,
# an expired token is replaced, a wrong password is a clear error, a denied write is
# "permission denied".
. "$(dirname "$0")/lib/common.sh"
. "$(dirname "$0")/lib/dcs.sh"

# One member; tokens live one second, so every renewal below needs a fresh one.
t_dcs_start_etcd1 http curl -sf -- --auth-token-ttl 1
url=$DCS_ETCD_URL
ctl() { etcdctl --endpoints="$url" "$@" >/dev/null; }
ctl user add root --new-user-password=secret
ctl user grant-role root root
ctl role add patroni-ro
ctl role grant-permission patroni-ro read /service/batman/ --prefix=true
ctl user add reader --new-user-password=readpw
ctl user grant-role reader patroni-ro
ctl auth enable
out=$(t_tmpdir)
dc() { t_dcs_client --endpoints="$url" --ttl-ms=2000 --retry-ms=3000 "$@"; }

version=$(dc --user=root --password=secret connect 2>/dev/null) || t_fail "connect with the right password"
t_assert_eq "version=3.4.0" "$version" "right password: connect authenticates"

# Hold the lock for 7 s, reading and renewing every 2 s (ttl/3): a token unused for 1 s
# expires, so every read meets "invalid auth token" and must re-authenticate.
"$GSHA_DCS_CLIENT" --endpoints="$url" --ttl-ms=6000 --retry-ms=3000 --user=root --password=secret \
	--debug=on --name=node1 hold 7 >"$out/hold.out" 2>"$out/hold.err" || t_fail "hold with auth: $(cat "$out/hold.err")"
grep -q '^holding' "$out/hold.out" || t_fail "hold with auth did not take the lock"
reauths=$(grep -c 'rejected the auth token.*re-authenticating' "$out/hold.err" || true)
[ "$reauths" -ge 2 ] || t_fail "expected renewals to meet expired tokens, saw $reauths re-authentications"
if grep -qE 'renew:|read:' "$out/hold.err"; then
	t_fail "calls failed while tokens expired: $(grep -E 'renew:|read:' "$out/hold.err" | head -3)"
fi
t_assert_eq node1 "$(dc --user=root --password=secret read 2>/dev/null | sed -n 's/^leader=//p')" \
	"expiring tokens: every read re-authenticated and the lock was kept"
woke=$(dc --user=root --password=secret watch-wake 3 2>/dev/null | sed -n 's/^woke=//p')
t_assert_eq "3 rounds=3" "$woke" "watch with auth wakes on every change"

rc=0
dc --user=root --password=wrong connect 2>"$out/err" || rc=$?
t_assert_eq 15 "$rc" "wrong password: connect fails as an authentication error"
grep -q 'could not authenticate to etcd as user "root".*authentication failed' "$out/err" ||
	t_fail "wrong password: unclear message: $(head -1 "$out/err")"
t_pass "wrong password: the message says so: $(head -1 "$out/err")"
rc=0
dc --user=root --password=wrong read 2>"$out/err" || rc=$?
t_assert_eq 15 "$rc" "wrong password: read fails as an authentication error"
[ "$(sed -n 's/^elapsed_ms=//p' "$out/err")" -lt 3000 ] ||
	t_fail "wrong password: read retried until the deadline instead of failing at once"
t_pass "wrong password: a definite error, not retried until retry_timeout"
rc=0
dc read 2>"$out/err" || rc=$?
t_assert_eq 15 "$rc" "no user against auth-enabled etcd: authentication error"
grep -q 'set etcd3.username' "$out/err" || t_fail "no user: message does not say what to set"

dc --user=reader --password=readpw read >/dev/null 2>&1 || t_fail "read-only user can read"
rc=0
dc --user=reader --password=readpw cas-config '{"ttl":30}' any 2>"$out/err" || rc=$?
t_assert_eq 14 "$rc" "read-only user: a write is permission denied"
t_done
