/*
 * leader.c - what only the leader keeps in etcd and the database: its WAL position in the status
 * key, the history row after a promotion, the sync key, the failsafe key; and releasing the
 * leader key.
 */
#include "agent_state.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "buf.h"
#include "log.h"

/* Writes the leader's WAL position into the status key (replicas judge their lag by it), with
 * its slots' positions and the member slots it retains, in Patroni 4's form (slots.c). */
static void write_status(struct agent *a, uint64_t lsn)
{
	struct dcs_status_doc *st = malloc(sizeof(*st));
	char json[DCS_STATUS_DOC_MAX + 1], msg[DCS_MSG_MAX];
	int rc;

	if (lsn == 0 || st == NULL)
		goto out_free;
	st->optime_lsn = lsn;
	slot_status(a, st);
	rc = dcs_doc_status_slots(st, json, sizeof(json), msg, sizeof(msg));
	if (rc == 0 && strcmp(json, a->status_written) == 0)
		goto out_free;
	if (rc == 0)
		rc = dcs_write_status(a->dcs, json, msg, sizeof(msg));
	if (rc == 0) {
		a->status_optime_written = lsn;
		memcpy(a->status_written, json, sizeof(json));
	} else {
		note_dcs_error(a, "could not write the status key", rc, msg);
	}
out_free:
	free(st);
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
	struct dcs_history_row row = { .timeline = old_timeline, .lsn = lsn };
	char *json = malloc(DCS_HISTORY_MAX + 1), msg[DCS_MSG_MAX] = "";
	time_t now = time(NULL);
	struct tm tm;
	int rc = DCS_ERR_INVALID_ARGUMENT;

	if (json == NULL)
		return;
	gmtime_r(&now, &tm);
	strftime(row.timestamp, sizeof(row.timestamp), "%Y-%m-%dT%H:%M:%S+00:00", &tm);
	buf_copy_or_clear(row.reason, sizeof(row.reason), "no recovery target specified");
	if (buf_copy(row.leader, sizeof(row.leader), a->cfg->name) == 0)
		rc = dcs_doc_history_append(a->cluster->has_history ? a->cluster->history : NULL,
					    &row, a->dyn.max_timelines_history, json,
					    DCS_HISTORY_MAX + 1, msg, sizeof(msg));
	else
		snprintf(msg, sizeof(msg), "member name \"%s\" is longer than %d bytes",
			 a->cfg->name, MEMBER_NAME_LEN);
	if (rc == 0)
		rc = dcs_write_history(a->dcs, json, msg, sizeof(msg));
	if (rc != 0)
		note_dcs_error(a, "could not write the history key", rc, msg);
	free(json);
}

static int name_cmp(const void *a, const void *b)
{
	return strcmp(a, b);
}

/* The sync key after a change of the synchronous standbys (Patroni's format): this node as
 * its leader, names as its standbys, compare-and-swap on the one in the view. Returns 0,
 * DCS_ERR_CONFLICT (changed since: nothing written), or another dcs_error, logged. */
int write_sync_key_names(struct agent *a, const struct ha_names *names, int quorum)
{
	char msg[DCS_MSG_MAX] = "", json[DCS_SYNC_DOC_MAX + 1];
	struct dcs_sync_doc d = { .standby_count = names->count, .quorum = quorum };
	int rc = 0;

	if (buf_copy(d.leader, sizeof(d.leader), a->cfg->name) != 0 || names->count < 0 ||
	    names->count > DCS_MEMBERS_MAX)
		rc = DCS_ERR_INVALID_ARGUMENT;
	for (int i = 0; rc == 0 && i < names->count; i++)
		if (buf_copy(d.standbys[i], sizeof(d.standbys[i]), names->name[i]) != 0)
			rc = DCS_ERR_INVALID_ARGUMENT;
	if (rc != 0) {
		snprintf(msg, sizeof(msg), "a member name is longer than %d bytes",
			 MEMBER_NAME_LEN);
	} else {
		/* Patroni writes the names sorted ("sync_standby": "a,b") */
		qsort(d.standbys, (size_t)d.standby_count, sizeof(d.standbys[0]), name_cmp);
		rc = dcs_doc_sync(&d, json, sizeof(json), msg, sizeof(msg));
	}
	if (rc == 0)
		rc = dcs_cas_sync(a->dcs, json,
				  a->cluster->has_sync ? a->cluster->sync_mod_revision
						       : DCS_CAS_ABSENT,
				  NULL, msg, sizeof(msg));
	if (rc != 0 && rc != DCS_ERR_CONFLICT)
		note_dcs_error(a, "could not write the sync key", rc, msg);
	return rc;
}

void write_sync_key(struct agent *a)
{
	/* a failure is logged there; the next cycle decides on a new read */
	(void)write_sync_key_names(a, &a->out.sync, a->out.sync_quorum);
}

/* Failsafe mode: the leader keeps the failsafe key = every member's api_url, itself included,
 * so that without etcd it knows whom to ask (patroni-compat.md 4.7). */
static void write_failsafe_key(struct agent *a)
{
	struct dcs_failsafe_member *f = calloc(DCS_FAILSAFE_MEMBERS_MAX, sizeof(*f));
	char *json = malloc(DCS_FAILSAFE_DOC_MAX + 1), msg[DCS_MSG_MAX];
	struct dcs_cluster *c = a->cluster;
	bool me = false;
	int n = 0, rc;

	if (f == NULL || json == NULL)
		goto out;
	for (int i = 0; i < c->member_count && n < DCS_FAILSAFE_MEMBERS_MAX; i++) {
		const struct dcs_member *m = &c->members[i];

		if (m->api_url[0] == '\0')
			continue;
		me = me || strcmp(m->name, a->cfg->name) == 0;
		memcpy(f[n].name, m->name, sizeof(m->name));
		memcpy(f[n].api_url, m->api_url, sizeof(m->api_url));
		n++;
	}
	if (!me && n < DCS_FAILSAFE_MEMBERS_MAX) {
		if (buf_copy(f[n].name, sizeof(f[n].name), a->cfg->name) != 0 ||
		    buf_copy(f[n].api_url, sizeof(f[n].api_url), a->api_url) != 0)
			goto out;
		n++;
	}
	rc = dcs_doc_failsafe(f, n, json, DCS_FAILSAFE_DOC_MAX + 1, msg, sizeof(msg));
	if (rc == 0 && c->has_failsafe && strcmp(json, c->failsafe) == 0)
		goto out;
	if (rc == 0)
		rc = dcs_write_failsafe(a->dcs, json, msg, sizeof(msg));
	if (rc != 0) {
		note_dcs_error(a, "could not write the failsafe key", rc, msg);
	} else if (buf_copy(c->failsafe, sizeof(c->failsafe), json) == 0) {
		/* Usable at once if etcd goes away now. */
		c->has_failsafe = true;
		c->failsafe_valid = true;
		c->failsafe_count = n;
		memcpy(c->failsafe_members, f, (size_t)n * sizeof(*f));
	}
out:
	free(json);
	free(f);
}

/* Things only the leader keeps: its WAL position in status, the failsafe key. (Its slots:
 * slots.c.) */
void maintain_as_leader(struct agent *a)
{
	if (!a->out.leader || a->dbs->role != DB_ROLE_PRIMARY)
		return;
	write_status(a, a->dbs->flush_lsn);
	if (a->dyn.failsafe_mode)
		write_failsafe_key(a);
}
