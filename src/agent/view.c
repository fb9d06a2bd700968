/*
 * view.c - questions about the cluster view and this node that every phase of the loop asks:
 * a member's address as a driver peer, whether this node leads in the view, its engine.
 */
#include "agent_state.h"

#include <errno.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "buf.h"

/* Parses "postgres://host:port/..." into a driver peer. */
int peer_from_member(const struct dcs_member *m, struct db_peer *out)
{
	const char *p = m->conn_url, *end;
	char hostport[DB_HOST_MAX + 8];
	size_t n;

	memset(out, 0, sizeof(*out));
	if (strncmp(p, "postgres://", 11) == 0)
		p += 11;
	else if (strncmp(p, "postgresql://", 13) == 0)
		p += 13;
	else
		return -EINVAL;
	/* Credentials are never written into conn_url, but skip them if a peer did. */
	if (strchr(p, '@') != NULL && strchr(p, '@') < strchr(p, '/'))
		p = strchr(p, '@') + 1;
	end = strchr(p, '/');
	n = end != NULL ? (size_t)(end - p) : strlen(p);
	if (n == 0 || n >= sizeof(hostport))
		return -EINVAL;
	memcpy(hostport, p, n);
	hostport[n] = '\0';
	if (agent_split_host_port(hostport, 5432, out->host, sizeof(out->host), &out->port) != 0)
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
