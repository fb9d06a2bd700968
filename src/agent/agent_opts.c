/*
 * agent_opts.c - from struct cfg to each module's options. See agent.h.
 */
#include "agent.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "buf.h"
#include "hostport.h"
#include "err.h"
#include "num.h"
#include "watchdog.h"

/* Adds or replaces one parameter. */
static int params_set(struct db_params *p, const char *name, const char *value)
{
	struct db_param *slot = NULL;

	for (int i = 0; i < p->count; i++) {
		if (strcasecmp(p->items[i].name, name) == 0) {
			slot = &p->items[i];
			break;
		}
	}
	if (slot == NULL) {
		if (p->count >= DB_PARAMS_MAX)
			return -ENOBUFS;
		slot = &p->items[p->count];
	}
	if (buf_copy(slot->name, sizeof(slot->name), name) != 0 ||
	    buf_copy(slot->value, sizeof(slot->value), value) != 0)
		return -ENAMETOOLONG;
	if (slot == &p->items[p->count])
		p->count++;
	return 0;
}

int agent_db_params(const struct cfg *c, const struct cfg_dynamic *dyn, struct db_params *out,
		    char *err, size_t errlen)
{
	const struct cfg_params *layers[2] = { &dyn->postgresql.parameters,
					       &c->postgresql.parameters };
	/* Built on the heap (some 140 kB at DB_PARAMS_MAX): a stack frame that size stays
	 * resident in the main thread's stack for the agent's life (issue 15). calloc leaves the
	 * entries never used untouched, and only the used ones are copied out. */
	struct db_params *p = calloc(1, sizeof(*p));
	int rc = 0;

	if (p == NULL)
		return err_fail(err, errlen, -ENOMEM, "out of memory");
	for (int l = 0; l < 2 && rc == 0; l++) {
		for (int i = 0; i < layers[l]->count; i++) {
			const struct cfg_kv *kv = &layers[l]->items[i];
			int r = params_set(p, kv->name, kv->value);

			if (r != 0) {
				rc = err_fail(err, errlen, r, "parameter \"%s\" does not fit: %s",
					      kv->name,
					      r == -ENOBUFS ? "too many parameters"
							    : "value too long");
				break;
			}
		}
	}
	/* Patroni forces hot_standby_feedback where permanent logical slots are kept: a replica's
	 * copy of a logical slot is safe to use after a promotion only when the primary kept the
	 * catalog rows it needs (its physical slot's catalog_xmin, fed back from here). */
	for (int i = 0;
	     rc == 0 && dyn->postgresql.use_slots && !c->tags.nofailover && i < dyn->slots.count;
	     i++) {
		if (strcmp(dyn->slots.items[i].type, "logical") == 0) {
			if (params_set(p, "hot_standby_feedback", "on") != 0)
				rc = err_fail(err, errlen, -ENOBUFS, "too many parameters");
			break;
		}
	}
	if (rc == 0)
		db_params_copy(out, p);
	free(p);
	return rc;
}

/* Copies a cfg option list ("data-checksums", "encoding=UTF8") into a driver option array. */
static int tool_options(const struct cfg_options *in, char out[][DB_TOOL_OPTION_MAX], int *count,
			const char *what, char *err, size_t errlen)
{
	int n = 0;

	for (int i = 0; i < in->count; i++) {
		const struct cfg_kv *kv = &in->items[i];
		int r;

		if (n >= DB_TOOL_OPTIONS_MAX) {
			return err_fail(err, errlen, -ENOBUFS, "too many %s options (at most %d)",
					what, DB_TOOL_OPTIONS_MAX);
		}
		if (kv->kind == CFG_VALUE_NONE || kv->value[0] == '\0')
			r = buf_format(out[n], DB_TOOL_OPTION_MAX, "%s", kv->name);
		else
			r = buf_format(out[n], DB_TOOL_OPTION_MAX, "%s=%s", kv->name, kv->value);
		if (r != 0) {
			return err_fail(err, errlen, r, "%s option \"%s\" is too long", what,
					kv->name);
		}
		n++;
	}
	*count = n;
	return 0;
}

static int copy_user(const struct cfg_pg_auth *in, struct db_user *out)
{
	if (buf_copy(out->username, sizeof(out->username), in->username) != 0 ||
	    buf_copy(out->password, sizeof(out->password), in->password) != 0)
		return -ENAMETOOLONG;
	return 0;
}

int agent_db_options(const struct cfg *c, const struct cfg_dynamic *dyn, struct db_options *out,
		     char *err, size_t errlen)
{
	struct db_options *o;
	const struct cfg_list *hba;
	int r;

	o = calloc(1, sizeof(*o));
	if (o == NULL)
		return -ENOMEM;
	o->engine = c->postgresql.engine == CFG_ENGINE_OPENGAUSS ? DB_ENGINE_OPENGAUSS
								 : DB_ENGINE_POSTGRES;
	r = -ENAMETOOLONG;
	if (buf_copy(o->name, sizeof(o->name), c->name) != 0 ||
	    buf_copy(o->scope, sizeof(o->scope), c->scope) != 0 ||
	    buf_copy(o->data_dir, sizeof(o->data_dir), c->postgresql.data_dir) != 0 ||
	    buf_copy(o->bin_dir, sizeof(o->bin_dir), c->postgresql.bin_dir) != 0 ||
	    buf_copy(o->config_dir, sizeof(o->config_dir), c->postgresql.config_dir) != 0 ||
	    buf_copy(o->pgpass_path, sizeof(o->pgpass_path), c->postgresql.pgpass) != 0) {
		err_set(err, errlen, "a name or path of the postgresql section is too long");
		goto out_free;
	}
	r = hostport_split(c->postgresql.listen, 5432, o->listen_host, sizeof(o->listen_host),
			   &o->listen_port);
	if (r != 0) {
		err_set(err, errlen, "\"postgresql.listen\": \"%s\" is not host:port",
			c->postgresql.listen);
		goto out_free;
	}
	if (c->postgresql.connect_address[0] != '\0') {
		r = hostport_split(c->postgresql.connect_address, o->listen_port, o->connect_host,
				   sizeof(o->connect_host), &o->connect_port);
		if (r != 0) {
			err_set(err, errlen,
				"\"postgresql.connect_address\": \"%s\" is not host:port",
				c->postgresql.connect_address);
			goto out_free;
		}
	}
	if (copy_user(&c->postgresql.authentication.superuser, &o->superuser) != 0 ||
	    copy_user(&c->postgresql.authentication.replication, &o->replication) != 0 ||
	    copy_user(&c->postgresql.authentication.rewind, &o->rewind) != 0) {
		r = -ENAMETOOLONG;
		err_set(err, errlen,
			"a user name or password of postgresql.authentication is too long");
		goto out_free;
	}
	r = agent_db_params(c, dyn, &o->parameters, err, errlen);
	if (r != 0)
		goto out_free;
	/* postgresql.pg_hba replaces pg_hba.conf; bootstrap.pg_hba seeds a new cluster (Patroni). */
	hba = c->postgresql.pg_hba.count > 0 ? &c->postgresql.pg_hba : &c->bootstrap.pg_hba;
	if (hba->count > DB_HBA_MAX) {
		r = -ENOBUFS;
		err_set(err, errlen, "too many pg_hba lines (at most %d)", DB_HBA_MAX);
		goto out_free;
	}
	for (int i = 0; i < hba->count; i++) {
		if (buf_copy(o->hba[i], sizeof(o->hba[i]), hba->items[i]) != 0) {
			r = -ENAMETOOLONG;
			err_set(err, errlen, "pg_hba line %d is too long", i + 1);
			goto out_free;
		}
	}
	o->hba_count = hba->count;
	r = tool_options(&c->bootstrap.initdb, o->initdb_options, &o->initdb_option_count,
			 "bootstrap.initdb", err, errlen);
	if (r != 0)
		goto out_free;
	r = tool_options(&c->postgresql.basebackup, o->basebackup_options,
			 &o->basebackup_option_count, "postgresql.basebackup", err, errlen);
	if (r != 0)
		goto out_free;
	r = agent_method_options(c, o, err, errlen);
	if (r != 0)
		goto out_free;
	o->use_slots = dyn->postgresql.use_slots;
	o->use_pg_rewind = c->postgresql.use_pg_rewind_set ? c->postgresql.use_pg_rewind
							   : dyn->postgresql.use_pg_rewind;
	o->remove_data_directory_on_rewind_failure =
		c->postgresql.remove_data_directory_on_rewind_failure;
	o->remove_data_directory_on_diverged_timelines =
		c->postgresql.remove_data_directory_on_diverged_timelines;
	o->command_timeout_ms = c->postgresql.pg_ctl_timeout_ms;
	*out = *o;
	r = 0;
out_free:
	free(o);
	return r;
}

int agent_rest_options(const struct cfg *c, struct rest_options *out, char *err, size_t errlen)
{
	struct rest_options o;
	const struct cfg_options *headers[2] = { &c->restapi.http_extra_headers,
						 &c->restapi.https_extra_headers };

	rest_options_init(&o);
	if (c->restapi.listen[0] != '\0' &&
	    hostport_split(c->restapi.listen, 8008, o.listen_host, sizeof(o.listen_host),
			   &o.listen_port) != 0) {
		return err_fail(err, errlen, -EINVAL, "\"restapi.listen\": \"%s\" is not host:port",
				c->restapi.listen);
	}
	if (buf_copy(o.scope, sizeof(o.scope), c->scope) != 0 ||
	    buf_copy(o.name, sizeof(o.name), c->name) != 0 ||
	    buf_copy(o.username, sizeof(o.username), c->restapi.username) != 0 ||
	    buf_copy(o.password, sizeof(o.password), c->restapi.password) != 0 ||
	    buf_copy(o.certfile, sizeof(o.certfile), c->restapi.certfile) != 0 ||
	    buf_copy(o.keyfile, sizeof(o.keyfile), c->restapi.keyfile) != 0 ||
	    buf_copy(o.cafile, sizeof(o.cafile), c->restapi.cafile) != 0) {
		return err_fail(err, errlen, -ENAMETOOLONG,
				"a value of the restapi section is too long");
	}
	o.verify_client =
		c->restapi.verify_client == CFG_VERIFY_CLIENT_REQUIRED	 ? REST_VERIFY_REQUIRED
		: c->restapi.verify_client == CFG_VERIFY_CLIENT_OPTIONAL ? REST_VERIFY_OPTIONAL
									 : REST_VERIFY_NONE;
	for (int i = 0; i < c->restapi.allowlist.count; i++) {
		int r = rest_allowlist_add(&o, c->restapi.allowlist.items[i]);

		if (r == -E2BIG)
			return err_fail(err, errlen, -EINVAL,
					"\"restapi.allowlist\": at most %d addresses in all",
					REST_ALLOWLIST_MAX);
		if (r != 0)
			return err_fail(err, errlen, -EINVAL,
					"\"restapi.allowlist\": \"%s\" is neither an IP address, a "
					"CIDR nor a host name that resolves",
					c->restapi.allowlist.items[i]);
	}
	o.allowlist_include_members = c->restapi.allowlist_include_members;
	for (int h = 0; h < 2; h++) {
		/* https_extra_headers only apply with TLS (Patroni). */
		if (h == 1 && c->restapi.certfile[0] == '\0')
			break;
		for (int i = 0; i < headers[h]->count; i++) {
			struct rest_header *dst;

			if (o.extra_header_count >= REST_EXTRA_HEADERS_MAX) {
				return err_fail(err, errlen, -EINVAL,
						"at most %d extra HTTP headers",
						REST_EXTRA_HEADERS_MAX);
			}
			dst = &o.extra_headers[o.extra_header_count];
			if (buf_copy(dst->name, sizeof(dst->name), headers[h]->items[i].name) !=
				    0 ||
			    buf_copy(dst->value, sizeof(dst->value), headers[h]->items[i].value) !=
				    0) {
				return err_fail(err, errlen, -ENAMETOOLONG,
						"extra HTTP header \"%s\" is too long",
						headers[h]->items[i].name);
			}
			o.extra_header_count++;
		}
	}
	*out = o;
	return 0;
}

void agent_ha_tags(const struct cfg *c, struct ha_tags *out)
{
	*out = (struct ha_tags){
		.nofailover = c->tags.nofailover || c->tags.failover_priority <= 0,
		.noloadbalance = c->tags.noloadbalance,
		.nosync = c->tags.nosync || c->tags.sync_priority <= 0,
		.sync_priority = c->tags.nosync ? 0 : c->tags.sync_priority,
		.clonefrom = c->tags.clonefrom,
		.failover_priority = c->tags.failover_priority,
		.nostream = c->tags.nostream,
	};
	memcpy(out->replicatefrom, c->tags.replicatefrom, sizeof(out->replicatefrom));
}

void agent_ha_policy(const struct cfg *c, const struct cfg_dynamic *dyn, struct ha_policy *out)
{
	*out = (struct ha_policy){
		.ttl_ms = dyn->ttl_ms,
		.loop_wait_ms = dyn->loop_wait_ms,
		.retry_timeout_ms = dyn->retry_timeout_ms,
		.maximum_lag_on_failover_bytes =
			dyn->maximum_lag_on_failover_bytes < 0
				? 0
				: (uint64_t)dyn->maximum_lag_on_failover_bytes,
		.primary_start_timeout_ms = dyn->primary_start_timeout_ms,
		.synchronous_mode = dyn->synchronous_mode != CFG_SYNC_OFF,
		.synchronous_quorum = dyn->synchronous_mode == CFG_SYNC_QUORUM,
		.synchronous_mode_strict = dyn->synchronous_mode_strict,
		.maximum_lag_on_syncnode_bytes =
			dyn->maximum_lag_on_syncnode_bytes <= 0
				? 0
				: (uint64_t)dyn->maximum_lag_on_syncnode_bytes,
		.synchronous_node_count =
			dyn->synchronous_node_count < 1 ? 1 : dyn->synchronous_node_count,
		.failsafe_mode = dyn->failsafe_mode,
		.check_timeline = dyn->check_timeline,
		.paused = dyn->pause,
		.use_pg_rewind = c->postgresql.use_pg_rewind_set ? c->postgresql.use_pg_rewind
								 : dyn->postgresql.use_pg_rewind,
		.reinit_on_diverged = c->postgresql.remove_data_directory_on_diverged_timelines,
		.engine = c->postgresql.engine == CFG_ENGINE_OPENGAUSS ? HA_ENGINE_OPENGAUSS
								       : HA_ENGINE_POSTGRES,
		.clone_without_leader = agent_leaderless_methods(c),
		/* openGauss has no standby clusters in gsha */
		.standby_cluster =
			cfg_standby_cluster(dyn) && c->postgresql.engine != CFG_ENGINE_OPENGAUSS,
	};
}

int agent_check_config(const struct cfg *c, char *err, size_t errlen)
{
	struct db_options *o = calloc(1, sizeof(*o));
	struct rest_options *ro = calloc(1, sizeof(*ro));
	int r = o && ro ? 0 : -ENOMEM;

	if (r != 0)
		err_set(err, errlen, "out of memory");
	if (r == 0)
		r = agent_db_options(c, &c->bootstrap.dcs, o, err, errlen);
	/* The configuration, not this host: the programs are looked for when the agent starts. */
	if (r == 0)
		o->bin_dir[0] = '\0';
	if (r == 0)
		r = db_check_options(o, err, errlen);
	/* §2.1: openGauss opens its HA port, the client port + 1, itself. */
	if (r == 0 && o->engine == DB_ENGINE_OPENGAUSS &&
	    agent_rest_options(c, ro, err, errlen) == 0 && ro->listen_port == o->listen_port + 1)
		r = err_fail(err, errlen, -EINVAL,
			     "\"restapi.listen\" port %d is openGauss's HA port (postgresql.listen "
			     "port + 1), which the server opens itself (opengauss.md 2.1)",
			     ro->listen_port);
	/* "required" with a timing that cannot hold on bootstrap.dcs's values: the keepalive
	 * schedule too (cfg_validate checked Patroni's rules already). */
	if (r == 0)
		r = watchdog_check_config(c, err, errlen);
	free(o);
	free(ro);
	return r;
}
