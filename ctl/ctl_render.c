/*
 * ctl_render.c - the cluster view and what gsctl prints of it: patronictl's member table (list,
 * topology), its json / yaml / tsv forms, and the history table. Pure.
 */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "ctl.h"
#include "ctl_internal.h"
#include "err.h"
#include "hostport.h"
#include "num.h"

int64_t ctl_lag_bytes(int64_t cluster_lsn, int64_t member_lsn)
{
	return cluster_lsn >= member_lsn ? cluster_lsn - member_lsn : 0;
}

int64_t ctl_lag_mb(int64_t lag_bytes)
{
	/* Python's round(): half to even. */
	return (int64_t)nearbyint((double)lag_bytes / 1048576.0);
}

/* The config key's synchronous_mode as Patroni reads it: a true boolean, or "quorum". */
static bool sync_mode_on(const struct dcs_cluster *c)
{
	bool on = false;

	return strcmp(c->config_synchronous_mode, "quorum") == 0 ||
	       (num_parse_bool(c->config_synchronous_mode, &on) == 0 && on);
}

static bool sync_has(const struct dcs_cluster *c, const char *name)
{
	if (!c->has_sync || !c->sync_valid)
		return false;
	for (int i = 0; i < c->sync_standby_count; i++) /* as dcs split them */
		if (strcmp(c->sync_standbys[i], name) == 0)
			return true;
	return false;
}

/* tags.replicatefrom out of the tags JSON. */
static void tag_string(const char *tags, const char *key, char *out, size_t cap)
{
	cJSON *doc, *v;

	out[0] = '\0';
	if (tags[0] == '\0')
		return;
	doc = cJSON_Parse(tags);
	v = cJSON_GetObjectItemCaseSensitive(doc, key);
	if (cJSON_IsString(v))
		buf_copy_or_clear(out, cap, v->valuestring);
	cJSON_Delete(doc);
}

/* The view's member names come from dcs, which refuses a document naming a member over
 * MEMBER_NAME_LEN bytes (it is then absent from the cluster view and counted in
 * dcs_cluster.rejected_count): the fields are the same size, so a copy never cuts. */
_Static_assert(sizeof(((struct dcs_cluster *)0)->leader) == MEMBER_NAME_MAX,
	       "dcs holds member names in MEMBER_NAME_MAX bytes");
_Static_assert(sizeof(((struct dcs_member *)0)->name) == MEMBER_NAME_MAX,
	       "dcs holds member names in MEMBER_NAME_MAX bytes");

static int row_cmp(const void *a, const void *b)
{
	return strcmp(((const struct ctl_row *)a)->name, ((const struct ctl_row *)b)->name);
}

void ctl_view_build(const struct dcs_cluster *c, const char *cluster, struct ctl_view *out)
{
	memset(out, 0, sizeof(*out));
	buf_copy_or_clear(out->cluster, sizeof(out->cluster), cluster);
	out->initialized = c->has_initialize;
	buf_copy_or_clear(out->sysid, sizeof(out->sysid), c->initialize);
	if (c->has_leader)
		buf_copy_or_clear(out->leader, sizeof(out->leader), c->leader);
	out->paused = c->has_config && c->config_valid && c->config_pause;
	if (c->has_failover && c->failover_valid && c->failover_scheduled_at[0] != '\0') {
		out->has_scheduled_switchover = true;
		buf_copy_or_clear(out->scheduled_at, sizeof(out->scheduled_at),
				  c->failover_scheduled_at);
		buf_copy_or_clear(out->scheduled_from, sizeof(out->scheduled_from),
				  c->failover_leader);
		buf_copy_or_clear(out->scheduled_to, sizeof(out->scheduled_to), c->failover_member);
	}
	for (int i = 0; i < c->member_count && i < DCS_MEMBERS_MAX; i++) {
		const struct dcs_member *m = &c->members[i];
		struct ctl_row *r = &out->rows[out->count];
		bool is_leader = c->has_leader && strcmp(c->leader, m->name) == 0;

		buf_copy_or_clear(r->name, sizeof(r->name), m->name);
		out->count++;

		if (hostport_from_url(m->conn_url, 5432, r->host, sizeof(r->host), &r->port) != 0) {
			r->host[0] =
				'\0'; /* shown empty, as patronictl shows a member without one */
			r->port = 0;
		}
		if (is_leader)
			buf_copy_or_clear(r->role, sizeof(r->role),
					  strcmp(m->role, "standby_leader") == 0 ? "standby_leader"
										 : "leader");
		else if (sync_has(c, m->name) && sync_mode_on(c))
			/* as Patroni 4's cluster_as_json: only in synchronous mode */
			buf_copy_or_clear(r->role, sizeof(r->role),
					  strcmp(c->config_synchronous_mode, "quorum") == 0
						  ? "quorum_standby"
						  : "sync_standby");
		else
			buf_copy_or_clear(r->role, sizeof(r->role), "replica");
		buf_copy_or_clear(r->state, sizeof(r->state),
				  !is_leader && m->replication_state[0] != '\0'
					  ? m->replication_state
					  : m->state);
		r->has_timeline = m->timeline > 0;
		r->timeline = m->timeline;
		if (!is_leader) {
			r->has_lag = true;
			if (!m->has_xlog_location)
				r->lag_unknown = true;
			else
				r->lag_bytes = ctl_lag_bytes(c->has_optime ? c->optime_lsn : 0,
							     m->xlog_location_lsn);
		}
		r->pending_restart = m->pending_restart;
		buf_copy_or_clear(r->tags, sizeof(r->tags), m->tags);
		if (strcmp(r->tags, "{}") == 0)
			r->tags[0] = '\0';
		tag_string(r->tags, "replicatefrom", r->replicatefrom, sizeof(r->replicatefrom));
		buf_copy_or_clear(r->api_url, sizeof(r->api_url), m->api_url);
		r->nofailover =
			m->nofailover || (m->has_failover_priority && m->failover_priority <= 0);
	}
	qsort(out->rows, (size_t)out->count, sizeof(out->rows[0]), row_cmp);
}

const struct ctl_row *ctl_view_row(const struct ctl_view *v, const char *name)
{
	for (int i = 0; i < v->count; i++)
		if (strcmp(v->rows[i].name, name) == 0)
			return &v->rows[i];
	return NULL;
}

bool ctl_row_can_take_over(const struct ctl_view *v, const struct ctl_row *r, char *why, size_t cap)
{
	if (strcmp(r->name, v->leader) == 0) {
		err_set(why, cap, "it is the current leader");
		return false;
	}
	if (r->nofailover) {
		err_set(why, cap, "it is tagged nofailover");
		return false;
	}
	const struct ctl_row *l = v->leader[0] != '\0' ? ctl_view_row(v, v->leader) : NULL;

	if (l != NULL && l->has_timeline && (!r->has_timeline || r->timeline < l->timeline)) {
		err_set(why, cap, "it is on timeline %lld, behind the leader's %lld",
			(long long)r->timeline, (long long)l->timeline);
		return false;
	}
	if (strcmp(r->state, "running") != 0 && strcmp(r->state, "streaming") != 0) {
		err_set(why, cap, "its state is \"%s\", not running or streaming", r->state);
		return false;
	}
	return true;
}

int ctl_api_base(const char *api_url, char *base, size_t cap)
{
	const char *p;
	size_t len;

	if (strncmp(api_url, "http://", 7) != 0 && strncmp(api_url, "https://", 8) != 0)
		return -EINVAL;
	p = strstr(api_url, "://") + 3;
	len = (size_t)(p - api_url) + strcspn(p, "/?#");
	if (len == (size_t)(p - api_url) || len >= cap)
		return -EINVAL;
	memcpy(base, api_url, len);
	base[len] = '\0';
	return 0;
}

/* ---- the pretty table ------------------------------------------------------------------- */

void ctl_table_init(struct ctl_table *t)
{
	memset(t, 0, sizeof(*t));
}

void ctl_table_done(struct ctl_table *t)
{
	for (int r = 0; r < t->rows; r++)
		for (int c = 0; c < t->cols; c++)
			free(t->cells[r][c]);
	memset(t, 0, sizeof(*t));
}

int ctl_table_col(struct ctl_table *t, const char *header, bool right)
{
	if (t->cols >= CTL_TABLE_COLS_MAX)
		return -ENOBUFS;
	t->headers[t->cols] = header;
	t->right[t->cols] = right;
	t->cols++;
	return 0;
}

/* Appends s with the bytes a terminal would act on written as \xNN: C0 controls (except a
 * newline when keep_newline: multi-line cells), DEL, and the UTF-8 form of the C1 controls
 * (U+0080..U+009F, among them CSI). Text from etcd is anyone's: a member state holding ESC [ 2 J
 * must not clear the operator's screen. The JSON and YAML output escape these already. */
static int put_escaped(struct buf *out, const char *s, bool keep_newline)
{
	int rc = 0;

	for (const unsigned char *c = (const unsigned char *)s; *c != '\0'; c++) {
		if ((*c < 0x20 && !(keep_newline && *c == '\n')) || *c == 0x7f) {
			rc |= buf_printf(out, "\\x%02x", *c);
		} else if (*c == 0xc2 && c[1] >= 0x80 && c[1] <= 0x9f) {
			rc |= buf_printf(out, "\\u%04x", c[1]);
			c++;
		} else {
			rc |= buf_append(out, c, 1);
		}
	}
	return rc != 0 ? -ENOBUFS : 0;
}

int ctl_table_cell(struct ctl_table *t, int row, int col, const char *text)
{
	struct buf esc;
	char *copy;

	if (row >= CTL_TABLE_ROWS_MAX || col >= t->cols)
		return -ENOBUFS;
	buf_init(&esc, CTL_DOC_MAX);
	if (put_escaped(&esc, text, true) != 0) {
		buf_done(&esc);
		return -ENOBUFS;
	}
	copy = buf_steal(&esc);
	if (copy == NULL)
		return -ENOMEM;
	free(t->cells[row][col]);
	t->cells[row][col] = copy;
	if (row >= t->rows)
		t->rows = row + 1;
	return 0;
}

static size_t line_count(const char *s)
{
	size_t n = 1;

	for (; *s != '\0'; s++)
		if (*s == '\n')
			n++;
	return n;
}

/* The idx-th line of s: start and length. */
static const char *nth_line(const char *s, size_t idx, size_t *len)
{
	for (size_t i = 0; i < idx; i++) {
		const char *nl = strchr(s, '\n');

		if (nl == NULL) {
			*len = 0;
			return "";
		}
		s = nl + 1;
	}
	*len = strcspn(s, "\n");
	return s;
}

static int hrule(struct buf *out, const struct ctl_table *t, const size_t *w, const char *title)
{
	struct buf line;
	int rc = 0;

	buf_init(&line, CTL_DOC_MAX);
	rc |= buf_puts(&line, "+");
	for (int c = 0; c < t->cols; c++) {
		for (size_t i = 0; i < w[c] + 2; i++)
			rc |= buf_puts(&line, "-");
		rc |= buf_puts(&line, "+");
	}
	if (rc == 0 && title != NULL) {
		size_t tl = strlen(title);

		if (tl >= line.len)
			rc |= buf_printf(out, "%s\n", title);
		else
			rc |= buf_printf(out, "%s%s\n", title, line.data + tl);
	} else if (rc == 0) {
		rc |= buf_printf(out, "%s\n", line.data);
	}
	buf_done(&line);
	return rc != 0 ? -ENOBUFS : 0;
}

static int cell_line(struct buf *out, const char *text, size_t len, size_t width, bool right)
{
	int rc = 0;

	rc |= buf_puts(out, " ");
	if (right)
		for (size_t i = len; i < width; i++)
			rc |= buf_puts(out, " ");
	rc |= buf_append(out, text, len);
	if (!right)
		for (size_t i = len; i < width; i++)
			rc |= buf_puts(out, " ");
	rc |= buf_puts(out, " |");
	return rc;
}

int ctl_table_render(const struct ctl_table *t, const char *title, struct buf *out)
{
	size_t w[CTL_TABLE_COLS_MAX] = { 0 };
	bool multiline = false;
	int rc = 0;

	for (int c = 0; c < t->cols; c++)
		w[c] = strlen(t->headers[c]);
	for (int r = 0; r < t->rows; r++) {
		for (int c = 0; c < t->cols; c++) {
			const char *s = t->cells[r][c] != NULL ? t->cells[r][c] : "";
			size_t n = line_count(s);

			if (n > 1)
				multiline = true;
			for (size_t i = 0; i < n; i++) {
				size_t len;

				nth_line(s, i, &len);
				if (len > w[c])
					w[c] = len;
			}
		}
	}
	if (hrule(out, t, w, title) != 0)
		return -ENOBUFS;
	rc |= buf_puts(out, "|");
	for (int c = 0; c < t->cols; c++)
		rc |= cell_line(out, t->headers[c], strlen(t->headers[c]), w[c], t->right[c]);
	rc |= buf_puts(out, "\n");
	if (rc != 0 || hrule(out, t, w, NULL) != 0)
		return -ENOBUFS;
	for (int r = 0; r < t->rows; r++) {
		size_t lines = 1;

		for (int c = 0; c < t->cols; c++)
			if (t->cells[r][c] != NULL && line_count(t->cells[r][c]) > lines)
				lines = line_count(t->cells[r][c]);
		for (size_t i = 0; i < lines; i++) {
			rc |= buf_puts(out, "|");
			for (int c = 0; c < t->cols; c++) {
				const char *s = t->cells[r][c] != NULL ? t->cells[r][c] : "";
				size_t len;
				const char *l = nth_line(s, i, &len);

				rc |= cell_line(out, l, len, w[c], t->right[c]);
			}
			rc |= buf_puts(out, "\n");
		}
		if (rc != 0)
			return -ENOBUFS;
		if (multiline && r + 1 < t->rows && hrule(out, t, w, NULL) != 0)
			return -ENOBUFS;
	}
	return hrule(out, t, w, NULL);
}

/* ---- list and topology --------------------------------------------------------------------- */

static void role_title(const char *role, char *out, size_t cap)
{
	bool up = true;
	size_t i;

	for (i = 0; role[i] != '\0' && i + 1 < cap; i++) {
		char ch = role[i] == '_' ? ' ' : role[i];

		if (up && ch >= 'a' && ch <= 'z')
			ch = (char)(ch - 'a' + 'A');
		up = ch == ' ';
		out[i] = ch;
	}
	out[i] = '\0';
}

/* Members in display order: by name, or (topology) the leader, then replicas under their
 * upstream, depth-first. depth[i] is the indentation level. */
static int display_order(const struct ctl_view *v, bool topology, int *order, int *depth)
{
	int n = 0;
	bool placed[DCS_MEMBERS_MAX] = { false };

	if (!topology) {
		for (int i = 0; i < v->count; i++) {
			order[n] = i;
			depth[n++] = 0;
		}
		return n;
	}
	/* Parent of each replica: its replicatefrom when that is another replica, else leader. */
	int parent[DCS_MEMBERS_MAX];
	int leader = -1;

	for (int i = 0; i < v->count; i++)
		if (strstr(v->rows[i].role, "leader") != NULL)
			leader = i;
	for (int i = 0; i < v->count; i++) {
		const struct ctl_row *r = &v->rows[i];

		parent[i] = leader;
		if (i == leader)
			continue;
		for (int j = 0; j < v->count; j++)
			if (j != i && j != leader && r->replicatefrom[0] != '\0' &&
			    strcmp(v->rows[j].name, r->replicatefrom) == 0)
				parent[i] = j;
	}
	/* Depth-first from the leader, with an explicit stack (cycles are cut by placed[]). */
	int stack[DCS_MEMBERS_MAX], sdepth[DCS_MEMBERS_MAX], sp = 0;

	if (leader >= 0) {
		stack[sp] = leader;
		sdepth[sp++] = 0;
	}
	for (;;) {
		while (sp > 0) {
			int cur = stack[--sp], d = sdepth[sp];

			if (placed[cur])
				continue;
			placed[cur] = true;
			order[n] = cur;
			depth[n++] = d;
			/* push children in reverse name order so they pop in name order */
			for (int j = v->count - 1; j >= 0; j--)
				if (!placed[j] && j != cur && parent[j] == cur &&
				    sp < DCS_MEMBERS_MAX) {
					stack[sp] = j;
					sdepth[sp++] = d + 1;
				}
		}
		/* Members not reachable from the leader (no leader, or a replicatefrom cycle). */
		int next = -1;

		for (int i = 0; i < v->count && next < 0; i++)
			if (!placed[i])
				next = i;
		if (next < 0)
			break;
		stack[sp] = next;
		sdepth[sp++] = leader >= 0 ? 1 : 0;
	}
	return n;
}

static bool any_pending(const struct ctl_view *v)
{
	for (int i = 0; i < v->count; i++)
		if (v->rows[i].pending_restart)
			return true;
	return false;
}

static bool any_tags(const struct ctl_view *v)
{
	for (int i = 0; i < v->count; i++)
		if (v->rows[i].tags[0] != '\0')
			return true;
	return false;
}

static int host_cell(const struct ctl_view *v, const struct ctl_row *r, char *out, size_t cap)
{
	bool with_port = false;

	for (int i = 0; i < v->count; i++) {
		if (v->rows[i].port != 0 && v->rows[i].port != 5432)
			with_port = true;
		for (int j = 0; j < i; j++)
			if (strcmp(v->rows[i].host, v->rows[j].host) == 0)
				with_port = true;
	}
	if (with_port && r->host[0] != '\0' && r->port != 0)
		return buf_format(out, cap, "%s:%d", r->host, r->port);
	return buf_format(out, cap, "%s", r->host);
}

/* Builds the JSON array patronictl prints with -f json (and yaml, tsv from the same data). */
static cJSON *list_json(const struct ctl_view *v, bool pending_col, bool tags_col)
{
	cJSON *arr = cJSON_CreateArray();
	int order[DCS_MEMBERS_MAX], depth[DCS_MEMBERS_MAX];
	int n = display_order(v, false, order, depth);

	if (arr == NULL)
		return NULL;
	for (int k = 0; k < n; k++) {
		const struct ctl_row *r = &v->rows[order[k]];
		cJSON *o = cJSON_CreateObject();
		char host[CTL_HOST_MAX + 8], role[CTL_WORD_MAX];

		if (o == NULL)
			goto fail;
		cJSON_AddItemToArray(arr, o);
		role_title(r->role, role, sizeof(role));
		if (host_cell(v, r, host, sizeof(host)) != 0)
			host[0] = '\0';
		cJSON_AddStringToObject(o, "Cluster", v->cluster);
		cJSON_AddStringToObject(o, "Member", r->name);
		if (host[0] != '\0')
			cJSON_AddStringToObject(o, "Host", host);
		cJSON_AddStringToObject(o, "Role", role);
		if (r->state[0] != '\0')
			cJSON_AddStringToObject(o, "State", r->state);
		if (r->has_timeline)
			cJSON_AddNumberToObject(o, "TL", (double)r->timeline);
		if (r->has_lag && r->lag_unknown)
			cJSON_AddStringToObject(o, "Lag in MB", "unknown");
		else if (r->has_lag)
			cJSON_AddNumberToObject(o, "Lag in MB", (double)ctl_lag_mb(r->lag_bytes));
		if (pending_col && r->pending_restart)
			cJSON_AddStringToObject(o, "Pending restart", "*");
		if (tags_col && r->tags[0] != '\0') {
			cJSON *tags = cJSON_Parse(r->tags);

			if (tags != NULL)
				cJSON_AddItemToObject(o, "Tags", tags);
		}
	}
	return arr;
fail:
	cJSON_Delete(arr);
	return NULL;
}

static int render_tsv(const struct ctl_view *v, bool pending_col, bool tags_col, struct buf *out)
{
	cJSON *arr = list_json(v, pending_col, tags_col);
	const char *cols[] = { "Cluster",   "Member",	       "Host", "Role", "State", "TL",
			       "Lag in MB", "Pending restart", "Tags" };
	int ncols = 7 + (pending_col ? 1 : 0) + (tags_col ? 1 : 0);
	const cJSON *o;
	int rc = 0;

	if (arr == NULL)
		return -ENOMEM;
	if (!pending_col)
		cols[7] = "Tags";
	for (int c = 0; c < ncols; c++)
		rc |= buf_printf(out, "%s%s", c ? "\t" : "", cols[c]);
	rc |= buf_puts(out, "\n");
	cJSON_ArrayForEach(o, arr)
	{
		for (int c = 0; c < ncols; c++) {
			const cJSON *val = cJSON_GetObjectItemCaseSensitive(o, cols[c]);

			if (c)
				rc |= buf_puts(out, "\t");
			if (cJSON_IsString(val))
				rc |= put_escaped(out, val->valuestring, false);
			else if (val != NULL)
				rc |= ctl_yaml_flow(val, out);
		}
		rc |= buf_puts(out, "\n");
	}
	cJSON_Delete(arr);
	return rc != 0 ? -ENOBUFS : 0;
}

static int render_pretty(const struct ctl_view *v, bool topology, bool pending_col, bool tags_col,
			 struct buf *out)
{
	struct ctl_table *t = calloc(1, sizeof(*t));
	int order[DCS_MEMBERS_MAX], depth[DCS_MEMBERS_MAX];
	int n = display_order(v, topology, order, depth);
	char title[CTL_NAME_MAX + DCS_WORD_MAX + 32];
	int rc = 0;

	if (t == NULL)
		return -ENOMEM;
	ctl_table_init(t);
	rc |= ctl_table_col(t, "Member", false);
	rc |= ctl_table_col(t, "Host", false);
	rc |= ctl_table_col(t, "Role", false);
	rc |= ctl_table_col(t, "State", false);
	rc |= ctl_table_col(t, "TL", true);
	rc |= ctl_table_col(t, "Lag in MB", true);
	if (pending_col)
		rc |= ctl_table_col(t, "Pending restart", false);
	if (tags_col)
		rc |= ctl_table_col(t, "Tags", false);
	for (int k = 0; k < n && rc == 0; k++) {
		const struct ctl_row *r = &v->rows[order[k]];
		char cell[DCS_TAGS_MAX * 2];
		char role[CTL_WORD_MAX];
		int c = 0;

		if (depth[k] > 0) {
			struct buf b;

			buf_init_fixed(&b, cell, sizeof(cell));
			for (int d = 1; d < depth[k]; d++)
				buf_puts(&b, "  ");
			buf_printf(&b, "+ %s", r->name);
			rc |= b.overflow ? -ENOBUFS : ctl_table_cell(t, k, c++, cell);
		} else {
			rc |= ctl_table_cell(t, k, c++, r->name);
		}
		rc |= host_cell(v, r, cell, sizeof(cell));
		rc |= ctl_table_cell(t, k, c++, cell);
		role_title(r->role, role, sizeof(role));
		rc |= ctl_table_cell(t, k, c++, role);
		rc |= ctl_table_cell(t, k, c++, r->state);
		if (r->has_timeline)
			rc |= buf_format(cell, sizeof(cell), "%" PRId64, r->timeline);
		else
			cell[0] = '\0';
		rc |= ctl_table_cell(t, k, c++, cell);
		if (r->has_lag && r->lag_unknown)
			rc |= buf_format(cell, sizeof(cell), "unknown");
		else if (r->has_lag)
			rc |= buf_format(cell, sizeof(cell), "%" PRId64, ctl_lag_mb(r->lag_bytes));
		else
			cell[0] = '\0';
		rc |= ctl_table_cell(t, k, c++, cell);
		if (pending_col)
			rc |= ctl_table_cell(t, k, c++, r->pending_restart ? "*" : "");
		if (tags_col) {
			struct buf y;

			buf_init(&y, sizeof(cell));
			if (r->tags[0] != '\0')
				rc |= ctl_json_to_yaml(r->tags, &y);
			while (y.len > 0 && y.data[y.len - 1] == '\n')
				y.data[--y.len] = '\0';
			rc |= ctl_table_cell(t, k, c++, y.len ? y.data : "");
			buf_done(&y);
		}
	}
	if (rc == 0) {
		if (!v->initialized)
			rc = buf_format(title, sizeof(title), "+ Cluster: %s (uninitialized) ",
					v->cluster);
		else if (v->sysid[0] == '\0')
			rc = buf_format(title, sizeof(title), "+ Cluster: %s (initializing) ",
					v->cluster);
		else
			rc = buf_format(title, sizeof(title), "+ Cluster: %s (%s) ", v->cluster,
					v->sysid);
	}
	if (rc == 0)
		rc = ctl_table_render(t, title, out);
	if (rc == 0 && v->paused)
		rc = buf_puts(out, " Maintenance mode: on\n");
	if (rc == 0 && v->has_scheduled_switchover) {
		rc |= buf_printf(out, " Switchover scheduled at: %s\n", v->scheduled_at);
		if (v->scheduled_from[0] != '\0')
			rc |= buf_printf(out, "%24s %s\n", "from:", v->scheduled_from);
		if (v->scheduled_to[0] != '\0')
			rc |= buf_printf(out, "%24s %s\n", "to:", v->scheduled_to);
	}
	ctl_table_done(t);
	free(t);
	return rc != 0 ? -ENOBUFS : 0;
}

int ctl_render_list(const struct ctl_view *v, enum ctl_format f, bool topology, bool extended,
		    struct buf *out)
{
	bool pending_col = extended || any_pending(v);
	bool tags_col = extended || any_tags(v);
	cJSON *arr;
	int rc;

	if (f == CTL_FORMAT_PRETTY)
		return render_pretty(v, topology, pending_col, tags_col, out);
	if (f == CTL_FORMAT_TSV)
		return render_tsv(v, pending_col, tags_col, out);
	arr = list_json(v, pending_col, tags_col);
	if (arr == NULL)
		return -ENOMEM;
	if (f == CTL_FORMAT_JSON) {
		rc = ctl_json_python(arr, out);
		if (rc == 0)
			rc = buf_puts(out, "\n");
	} else {
		rc = ctl_yaml_block(arr, out);
	}
	cJSON_Delete(arr);
	return rc;
}

/* ---- history ------------------------------------------------------------------------------- */

int ctl_render_history(const char *history_json, enum ctl_format f, struct buf *out)
{
	static const char *const cols[] = { "TL", "LSN", "Reason", "Timestamp", "New Leader" };
	struct dcs_history_row *h = calloc(CTL_TABLE_ROWS_MAX, sizeof(*h));
	cJSON *rows = cJSON_CreateArray();
	struct ctl_table *t = calloc(1, sizeof(*t));
	char msg[DCS_MSG_MAX];
	int rc, n = 0, total = 0;

	if (h == NULL || rows == NULL || t == NULL) {
		rc = -ENOMEM;
		goto out_free;
	}
	/* The key is read by the dcs codec, as every etcd document is; patronictl pads a short row
	 * with "" in every format. */
	if (dcs_history_parse(history_json, h, CTL_TABLE_ROWS_MAX, &n, &total, msg, sizeof(msg)) !=
	    0) {
		rc = -EINVAL;
		goto out_free;
	}
	if (total > n) {
		rc = -E2BIG;
		goto out_free;
	}
	ctl_table_init(t);
	rc = 0;
	for (int c = 0; c < 5; c++)
		rc |= ctl_table_col(t, cols[c], c < 2);
	for (int r = 0; r < n && rc == 0; r++) {
		cJSON *o = cJSON_CreateObject();
		char tl[24], lsn[24]; /* a 64-bit number in decimal */
		const char *cells[5] = { tl, lsn, h[r].reason, h[r].timestamp, h[r].leader };

		if (o == NULL || !cJSON_AddItemToArray(rows, o)) {
			cJSON_Delete(o);
			rc = -ENOMEM;
			break;
		}
		rc |= buf_format(tl, sizeof(tl), "%" PRId64, h[r].timeline);
		rc |= buf_format(lsn, sizeof(lsn), "%" PRIu64, h[r].lsn);
		for (int c = 0; c < 5; c++)
			rc |= ctl_table_cell(t, r, c, cells[c]);
		if (cJSON_AddNumberToObject(o, cols[0], (double)h[r].timeline) == NULL ||
		    cJSON_AddNumberToObject(o, cols[1], (double)h[r].lsn) == NULL ||
		    cJSON_AddStringToObject(o, cols[2], h[r].reason) == NULL ||
		    cJSON_AddStringToObject(o, cols[3], h[r].timestamp) == NULL ||
		    cJSON_AddStringToObject(o, cols[4], h[r].leader) == NULL)
			rc = -ENOMEM;
	}
	if (rc != 0)
		goto out_done;
	switch (f) {
	case CTL_FORMAT_PRETTY:
		rc = ctl_table_render(t, NULL, out);
		break;
	case CTL_FORMAT_JSON:
		rc = ctl_json_python(rows, out);
		if (rc == 0)
			rc = buf_puts(out, "\n");
		break;
	case CTL_FORMAT_YAML:
		rc = ctl_yaml_block(rows, out);
		break;
	case CTL_FORMAT_TSV:
		for (int c = 0; c < 5; c++)
			rc |= buf_printf(out, "%s%s", c ? "\t" : "", cols[c]);
		rc |= buf_puts(out, "\n");
		for (int i = 0; i < t->rows; i++) {
			for (int c = 0; c < 5; c++)
				rc |= buf_printf(out, "%s%s", c ? "\t" : "",
						 t->cells[i][c] ? t->cells[i][c] : "");
			rc |= buf_puts(out, "\n");
		}
		break;
	}
out_done:
	ctl_table_done(t);
out_free:
	free(t);
	cJSON_Delete(rows);
	free(h);
	return rc < 0 ? rc : (rc != 0 ? -ENOBUFS : 0);
}
