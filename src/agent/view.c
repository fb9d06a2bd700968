/*
 * view.c - questions about the cluster view and this node that every phase of the loop asks:
 * a member's address as a driver peer, whether this node leads in the view, its engine.
 */
#include "agent_state.h"

#include <errno.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "buf.h"
#include "hostport.h"

/* Parses "postgres://host:port/..." into a driver peer. */
int peer_from_member(const struct dcs_member *m, struct db_peer *out)
{
	memset(out, 0, sizeof(*out));
	if (strncmp(m->conn_url, "postgres://", 11) != 0 &&
	    strncmp(m->conn_url, "postgresql://", 13) != 0)
		return -EINVAL;
	if (hostport_from_url(m->conn_url, 5432, out->host, sizeof(out->host), &out->port) != 0)
		return -EINVAL;
	return buf_copy(out->name, sizeof(out->name), m->name);
}

bool is_opengauss(const struct agent *a)
{
	return a->cfg->postgresql.engine == CFG_ENGINE_OPENGAUSS;
}

int peer_named(const struct agent *a, const char *name, struct db_peer *out)
{
	const struct dcs_member *m = dcs_cluster_member(a->cluster, name);

	if (name[0] == '\0' || m == NULL)
		return -ENOENT;
	return peer_from_member(m, out);
}

bool in_standby_cluster(const struct agent *a)
{
	return cfg_standby_cluster(&a->dyn) && !is_opengauss(a);
}

int remote_peer(const struct agent *a, struct db_peer *out)
{
	const struct cfg_standby_cluster *sc = &a->dyn.standby_cluster;

	memset(out, 0, sizeof(*out));
	if (!cfg_standby_cluster(&a->dyn))
		return -ENOENT;
	out->remote = true;
	out->port = sc->port != 0 ? sc->port : 5432;
	if (buf_copy(out->host, sizeof(out->host), sc->host) != 0 ||
	    buf_copy(out->slot, sizeof(out->slot), sc->primary_slot_name) != 0 ||
	    buf_copy(out->restore_command, sizeof(out->restore_command), sc->restore_command) !=
		    0 ||
	    buf_copy(out->archive_cleanup_command, sizeof(out->archive_cleanup_command),
		     sc->archive_cleanup_command) != 0 ||
	    buf_copy(out->recovery_min_apply_delay, sizeof(out->recovery_min_apply_delay),
		     sc->recovery_min_apply_delay) != 0)
		return -ENAMETOOLONG;
	return 0;
}

bool i_am_leader_in_view(const struct agent *a)
{
	return a->cluster->has_leader && strcmp(a->cluster->leader, a->cfg->name) == 0;
}

/* tags.clonefrom of a member key (the dcs codec keeps the tags object as text). */
bool member_clonefrom(const struct dcs_member *m)
{
	cJSON *tags;
	bool yes;

	if (m->tags[0] == '\0')
		return false;
	tags = cJSON_Parse(m->tags);
	yes = cJSON_IsObject(tags) &&
	      cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(tags, "clonefrom"));
	cJSON_Delete(tags);
	return yes;
}
