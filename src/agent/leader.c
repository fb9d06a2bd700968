/*
 * leader.c - what only the leader keeps in etcd and the database: its WAL position in the status
 * key, the history row after a promotion, the sync key, the failsafe key, replication slots;
 * and releasing the leader key.
 */
#include "agent_state.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>

#include "buf.h"
#include "log.h"

/* Writes the leader's WAL position into the status key (replicas judge their lag by it). */
static void write_status(struct agent *a, uint64_t lsn)
{
	char json[64], msg[DCS_MSG_MAX];
	int rc;

	if (lsn == 0 || lsn == a->status_optime_written)
		return;
	if (buf_format(json, sizeof(json), "{\"optime\":%llu}", (unsigned long long)lsn) != 0)
		return;
	rc = dcs_write_status(a->dcs, json, msg, sizeof(msg));
	if (rc == 0)
		a->status_optime_written = lsn;
	else
		note_dcs_error(a, "could not write the status key", rc, msg);
}

/* Releases the leader key (after writing the WAL position into status) and forgets it in the
 * local view, so the next cycle's renewal does not take it again from a stale view. */
void release_leader(struct agent *a, uint64_t lsn)
{
	char msg[DCS_MSG_MAX];
	int rc;

	write_status(a, lsn);
	rc = dcs_release_leader(a->dcs, msg, sizeof(msg));
	if (rc != 0 && rc != DCS_ERR_CONFLICT) {
		note_dcs_error(a, "could not release the leader key", rc, msg);
		return;
	}
	if (rc == 0)
		log_notice("released the leader key");
	a->cluster->has_leader = false;
	a->cluster->leader[0] = '\0';
}

/* Appends a row to the history key after a promotion (Patroni's format). */
void write_history(struct agent *a, int64_t old_timeline, uint64_t lsn)
{
	struct buf b;
	char stamp[40], msg[DCS_MSG_MAX];
	time_t now = time(NULL);
	struct tm tm;
	const char *old = a->cluster->has_history ? a->cluster->history : "[]";
	size_t n = strlen(old);
	int rc;

	gmtime_r(&now, &tm);
	strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%S+00:00", &tm);
	buf_init(&b, DCS_HISTORY_MAX);
	while (n > 0 && old[n - 1] != ']')
		n--;
	if (n < 1 || old[0] != '[') {
		old = "[]";
		n = 2;
	}
	buf_append(&b, old, n - 1);
	if (n > 2)
		buf_puts(&b, ",");
	buf_printf(&b, "[%lld,%llu,\"no recovery target specified\",\"%s\",\"%s\"]]",
		   (long long)old_timeline, (unsigned long long)lsn, stamp, a->cfg->name);
	if (!b.overflow) {
		rc = dcs_write_history(a->dcs, b.data, msg, sizeof(msg));
		if (rc != 0)
			note_dcs_error(a, "could not write the history key", rc, msg);
	}
	buf_done(&b);
}

/* The sync key after a change of the synchronous standbys (Patroni's format). */
void write_sync_key(struct agent *a)
{
	const struct ha_output *o = &a->out;
	char msg[DCS_MSG_MAX] = "";
	struct buf json;
	int rc;

	buf_init(&json, DCS_DOC_MAX);
	buf_printf(&json, "{\"leader\":\"%s\",\"quorum\":0,\"sync_standby\":", a->cfg->name);
	if (o->sync.count == 0) {
		buf_puts(&json, "null}");
	} else {
		buf_puts(&json, "\"");
		for (int i = 0; i < o->sync.count; i++)
			buf_printf(&json, "%s%s", i ? "," : "", o->sync.name[i]);
		buf_puts(&json, "\"}");
	}
	rc = json.overflow ? DCS_ERR_INVALID_ARGUMENT
			   : dcs_cas_sync(a->dcs, json.data,
					  a->cluster->has_sync ? a->cluster->sync_mod_revision
							       : DCS_CAS_ABSENT,
					  NULL, msg, sizeof(msg));
	if (rc != 0 && rc != DCS_ERR_CONFLICT)
		note_dcs_error(a, "could not write the sync key", rc, msg);
	buf_done(&json);
}

/* Failsafe mode: the leader keeps the failsafe key = every member's api_url, itself included,
 * so that without etcd it knows whom to ask (patroni-compat.md 4.7). */
static void write_failsafe_key(struct agent *a)
{
	cJSON *doc = cJSON_CreateObject();
	char *json = NULL, msg[DCS_MSG_MAX];
	bool me = false;
	int rc;

	if (doc == NULL)
		return;
	for (int i = 0; i < a->cluster->member_count; i++) {
		const struct dcs_member *m = &a->cluster->members[i];

		if (m->api_url[0] == '\0')
			continue;
		me = me || strcmp(m->name, a->cfg->name) == 0;
		if (cJSON_AddStringToObject(doc, m->name, m->api_url) == NULL)
			goto out;
	}
	if (!me && cJSON_AddStringToObject(doc, a->cfg->name, a->api_url) == NULL)
		goto out;
	json = cJSON_PrintUnformatted(doc);
	if (json == NULL || (a->cluster->has_failsafe && strcmp(json, a->cluster->failsafe) == 0))
		goto out;
	rc = dcs_write_failsafe(a->dcs, json, msg, sizeof(msg));
	if (rc != 0)
		note_dcs_error(a, "could not write the failsafe key", rc, msg);
	else if (buf_copy(a->cluster->failsafe, sizeof(a->cluster->failsafe), json) == 0)
		a->cluster->has_failsafe = true; /* usable at once if etcd goes away now */
out:
	free(json);
	cJSON_Delete(doc);
}

/* Things only the leader keeps: its WAL position in status, slots for every member, the
 * config key when the cluster lacks one. */
void maintain_as_leader(struct agent *a)
{
	char names[HA_MEMBERS_MAX][DB_NAME_MAX];
	char signature[sizeof(a->slots_written)] = "";
	char err[DB_ERROR_MAX];
	int n = 0;

	if (!a->out.leader || a->dbs->role != DB_ROLE_PRIMARY) {
		/* Slots do not survive pg_rewind or pg_basebackup: after the next promotion they
		 * are made again, whatever this node made when it led before. */
		a->slots_written[0] = '\0';
		return;
	}
	write_status(a, a->dbs->flush_lsn);
	if (a->dyn.failsafe_mode)
		write_failsafe_key(a);
	/* openGauss replicates through replconninfo, without slots (opengauss.md 2.6). */
	if (!a->dyn.postgresql.use_slots || is_opengauss(a))
		return;
	for (int i = 0; i < a->cluster->member_count && n < HA_MEMBERS_MAX; i++) {
		const struct dcs_member *m = &a->cluster->members[i];

		if (strcmp(m->name, a->cfg->name) == 0)
			continue;
		if (buf_copy(names[n], DB_NAME_MAX, m->name) != 0)
			continue;
		strncat(signature, m->name, sizeof(signature) - strlen(signature) - 2);
		strncat(signature, ",", sizeof(signature) - strlen(signature) - 1);
		n++;
	}
	if (strcmp(signature, a->slots_written) == 0)
		return;
	if (db_ensure_slots(a->db, (const char(*)[DB_NAME_MAX])names, n, a->dyn.retry_timeout_ms,
			    err, sizeof(err)) == 0)
		memcpy(a->slots_written, signature, sizeof(signature));
	else
		log_warning("could not manage replication slots: %s, retrying", err);
}
