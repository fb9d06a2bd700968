/*
 * libFuzzer harness for ha_decide: the bytes pick a fixture and then a sequence of field writes
 * (any value, including negative counts, out-of-range enums and names without a NUL). ha_decide
 * must not crash, must give a terminated, non-empty reason, must answer the same twice, and must
 * still never promote or race where it may not.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ha_decide.h"
#include "tests/unit/ha_fixtures.h"

enum kind {
	K_BOOL,
	K_I64,
	K_INT,
	K_BYTES
};

struct slot {
	enum kind kind;
	size_t off;
	size_t len; /* K_BYTES */
};

#define S(kind, path)                                                                       \
	{                                                                                   \
		kind, offsetof(struct ha_input, path), sizeof(((struct ha_input *)0)->path) \
	}

static const struct slot slots[] = {
	S(K_I64, now_ms),
	S(K_I64, now_wall_ms),
	S(K_I64, last_call_ms),
	S(K_I64, last_call_wall_ms),
	S(K_I64, policy.ttl_ms),
	S(K_I64, policy.loop_wait_ms),
	S(K_I64, policy.retry_timeout_ms),
	S(K_I64, policy.maximum_lag_on_failover_bytes),
	S(K_I64, policy.primary_start_timeout_ms),
	S(K_BOOL, policy.synchronous_mode),
	S(K_BOOL, policy.synchronous_mode_strict),
	S(K_BOOL, policy.synchronous_quorum),
	S(K_I64, policy.maximum_lag_on_syncnode_bytes),
	S(K_INT, policy.synchronous_node_count),
	S(K_BOOL, policy.failsafe_mode),
	S(K_BOOL, policy.check_timeline),
	S(K_BOOL, policy.paused),
	S(K_BOOL, policy.use_pg_rewind),
	S(K_INT, policy.engine),
	S(K_BYTES, self.name),
	S(K_BOOL, self.tags.nofailover),
	S(K_BOOL, self.tags.nosync),
	S(K_BOOL, self.tags.clonefrom),
	S(K_INT, self.tags.failover_priority),
	S(K_INT, self.tags.sync_priority),
	S(K_BOOL, self.shutdown_requested),
	S(K_INT, self.busy),
	S(K_I64, self.busy_since_ms),
	S(K_I64, self.failsafe_primary_seen_ms),
	S(K_BOOL, dcs.reachable),
	S(K_BOOL, dcs.initialize_present),
	S(K_BYTES, dcs.initialize),
	S(K_BOOL, dcs.leader_present),
	S(K_BYTES, dcs.leader),
	S(K_BOOL, dcs.leader_lease_mine),
	S(K_I64, dcs.lease_renewed_ms),
	S(K_I64, dcs.lease_ttl_ms),
	S(K_BOOL, dcs.failover.present),
	S(K_BYTES, dcs.failover.leader),
	S(K_BYTES, dcs.failover.candidate),
	S(K_I64, dcs.failover.scheduled_at_wall_ms),
	S(K_BOOL, dcs.sync.present),
	S(K_BYTES, dcs.sync.leader),
	S(K_INT, dcs.sync.standbys.count),
	S(K_INT, dcs.sync.quorum),
	S(K_BYTES, dcs.sync.standbys.name[0]),
	S(K_BOOL, dcs.status_present),
	S(K_I64, dcs.optime_lsn),
	S(K_I64, dcs.cluster_timeline),
	S(K_I64, dcs.term),
	S(K_BOOL, dcs.failsafe_present),
	S(K_INT, dcs.failsafe.count),
	S(K_INT, dcs.member_count),
	S(K_BYTES, dcs.members[0].name),
	S(K_BOOL, dcs.members[0].running),
	S(K_BOOL, dcs.members[0].is_primary),
	S(K_I64, dcs.members[0].lsn),
	S(K_BOOL, dcs.members[0].tags.nofailover),
	S(K_BOOL, dcs.members[0].tags.clonefrom),
	S(K_BYTES, dcs.members[1].name),
	S(K_BOOL, dcs.members[1].tags.nosync),
	S(K_INT, db.state),
	S(K_BOOL, db.is_primary),
	S(K_BYTES, db.sysid),
	S(K_I64, db.timeline),
	S(K_I64, db.term),
	S(K_I64, db.lsn),
	S(K_BYTES, db.following),
	S(K_BOOL, db.rejoin_needed),
	S(K_I64, db.start_since_ms),
	S(K_INT, db.sync_names.count),
	S(K_BOOL, db.sync_placeholder),
	S(K_INT, db.sync_num),
	S(K_BOOL, db.sync_any),
	S(K_INT, db.replication_count),
	S(K_BYTES, db.replication[0].name),
	S(K_BOOL, db.replication[0].streaming),
	S(K_BOOL, db.replication[0].sync),
	S(K_BOOL, probe.done),
	S(K_INT, probe.count),
	S(K_BYTES, probe.peers[0].name),
	S(K_BOOL, probe.peers[0].reachable),
	S(K_BOOL, probe.peers[0].is_primary),
	S(K_I64, probe.peers[0].lsn),
	S(K_I64, probe.peers[0].term),
	S(K_BOOL, failsafe.done),
	S(K_I64, failsafe.acked_ms),
};

static void apply(struct ha_input *in, const struct slot *s, const uint8_t *v, size_t n)
{
	char *p = (char *)in + s->off;
	int64_t x = 0;
	int32_t i;

	memcpy(&x, v, n < sizeof(x) ? n : sizeof(x));
	switch (s->kind) {
	case K_BOOL:
		*(bool *)p = x & 1;
		break;
	case K_I64:
		memcpy(p, &x, sizeof(x));
		break;
	case K_INT:
		i = (int32_t)x;
		memcpy(p, &i, sizeof(i));
		break;
	case K_BYTES:
		memset(p, 0, s->len);
		memcpy(p, v, n < s->len ? n : s->len); /* may leave no NUL: on purpose */
		break;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct ha_input in;
	static struct ha_output out, again;
	size_t pos = 1;

	if (size < 1)
		return 0;
	switch (data[0] % 5) {
	case 0:
		fix_primary(&in);
		break;
	case 1:
		fix_replica(&in);
		break;
	case 2:
		fix_leaderless(&in);
		break;
	case 3:
		fix_leaderless_probed(&in);
		break;
	default:
		fix_empty(&in);
		break;
	}
	/* each write: slot byte, length byte, value */
	while (pos + 2 <= size) {
		const struct slot *s = &slots[data[pos] % (sizeof(slots) / sizeof(slots[0]))];
		size_t n = data[pos + 1] % (MEMBER_NAME_MAX + 1);

		pos += 2;
		if (n > size - pos)
			n = size - pos;
		apply(&in, s, data + pos, n);
		pos += n;
	}
	ha_decide(&in, &out);
	ha_decide(&in, &again);
	if (memcmp(&out, &again, sizeof(out)) != 0)
		abort();
	if (!memchr(out.reason, '\0', sizeof(out.reason)) || out.reason[0] == '\0')
		abort();
	if (out.action < HA_ACT_NONE || out.action >= HA_ACT_COUNT_)
		abort();
	if (out.action == HA_ACT_PROMOTE &&
	    (!in.dcs.leader_present || strncmp(in.dcs.leader, in.self.name, MEMBER_NAME_MAX) != 0 ||
	     !in.dcs.leader_lease_mine || !in.dcs.reachable || in.self.tags.nofailover))
		abort();
	if (out.action == HA_ACT_RACE &&
	    (in.dcs.leader_present || !in.dcs.reachable || in.self.tags.nofailover))
		abort();
	return 0;
}
