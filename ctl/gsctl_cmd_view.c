/*
 * gsctl_cmd_view.c - the commands that only look: list, topology (also with --watch), history
 * and version.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "buf.h"
#include "clock.h"
#include "gsctl.h"

int ctl_cmd_list(struct ctl *x, bool topology)
{
	for (;;) {
		int rc = ctl_read_cluster(x);

		if (rc != 0)
			return rc;
		if (x->args.watch) {
			char ts[64];

			if (isatty(STDOUT_FILENO))
				fputs("\033[H\033[2J", stdout);
			ctl_timestamp(ts, sizeof(ts));
			printf("%s\n", ts);
		}
		rc = ctl_print_list(x, topology ? CTL_FORMAT_PRETTY : x->args.format, topology);
		if (rc != 0 || !x->args.watch)
			return rc;
		ctl_sleep_interruptible(x->args.watch_interval_ms);
		if (ctl_interrupted)
			return 0;
	}
}

int ctl_cmd_history(struct ctl *x)
{
	struct buf out;
	int rc = ctl_read_cluster(x);

	if (rc != 0)
		return rc;
	buf_init(&out, CTL_DOC_MAX);
	rc = ctl_render_history(x->cluster->has_history && !x->cluster->history_oversized
					? x->cluster->history
					: "[]",
				x->args.format, &out);
	if (rc == 0)
		fputs(out.data != NULL ? out.data : "", stdout);
	else
		ctl_say_error("the history key is not a list of timeline switches");
	buf_done(&out);
	return rc == 0 ? 0 : CTL_EXIT_FAILED;
}

int ctl_cmd_version(struct ctl *x, bool with_members)
{
	int rc;

	printf("gsctl version %s\n", GSHA_VERSION);
	if (!with_members)
		return 0;
	rc = ctl_read_cluster(x);
	if (rc != 0)
		return rc;
	printf("\n");
	for (int i = 0; i < x->view->count; i++) {
		const struct ctl_row *m = &x->view->rows[i];
		struct ctl_reply *r;
		cJSON *doc = NULL;
		bool wanted = x->args.member_count == 0;

		for (int k = 0; k < x->args.member_count; k++)
			if (strcmp(x->args.members[k], m->name) == 0)
				wanted = true;
		if (!wanted)
			continue;
		r = calloc(1, sizeof(*r));
		if (r == NULL)
			return CTL_EXIT_FAILED;
		if (ctl_member_status(x, m, &doc, r) == 0) {
			const cJSON *p = cJSON_GetObjectItemCaseSensitive(doc, "patroni");
			const cJSON *sv = cJSON_GetObjectItemCaseSensitive(doc, "server_version");
			int v = cJSON_IsNumber(sv) ? sv->valueint : 0;

			printf("%s: gsha %s PostgreSQL %d.%d\n", m->name,
			       ctl_json_str(p, "version"), v / 10000, v % 10000);
		} else {
			printf("%s: failed to get version: %s\n", m->name,
			       r->err[0] ? r->err : "no status document");
		}
		cJSON_Delete(doc);
		free(r);
	}
	return 0;
}
