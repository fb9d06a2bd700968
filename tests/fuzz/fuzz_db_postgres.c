/*
 * fuzz_db_postgres.c - libFuzzer target for everything the db module parses from outside:
 * postmaster.pid, pg_controldata output, LSN text, status and standby rows as the server sends
 * them, and our own postgresql.conf read back from disk. The first byte picks the parser.
 */
#include "db_postgres.h"
#include "lsn.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Splits text on tabs into at most n fields; "\\N" stands for SQL NULL. */
static void split(char *text, const char **v, int n)
{
	for (int i = 0; i < n; i++)
		v[i] = NULL;
	char *p = text;
	for (int i = 0; i < n && p; i++) {
		char *tab = strchr(p, '\t');
		if (tab)
			*tab = '\0';
		v[i] = strcmp(p, "\\N") == 0 ? NULL : p;
		p = tab ? tab + 1 : NULL;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	char *text = malloc(size);
	memcpy(text, data + 1, size - 1);
	text[size - 1] = '\0';
	switch (data[0] % 6) {
	case 0: {
		struct db_pidfile pf;
		if (db_pidfile_parse(text, &pf) == 0 && pf.pid <= 0)
			abort();
		break;
	}
	case 1: {
		struct db_control c;
		if (db_pg_parse_controldata(text, &c) == 0 &&
		    !memchr(c.cluster_state, '\0', sizeof(c.cluster_state)))
			abort();
		break;
	}
	case 2: {
		uint64_t lsn;
		(void)lsn_parse(text, &lsn);
		break;
	}
	case 3: {
		const char *v[DB_PG_STATUS_COLS];
		split(text, v, DB_PG_STATUS_COLS);
		struct db_status st;
		memset(&st, 0, sizeof(st));
		if (db_pg_parse_status_row(v, &st) == 0 && st.role != DB_ROLE_PRIMARY &&
		    st.role != DB_ROLE_REPLICA)
			abort();
		break;
	}
	case 4: {
		const char *v[DB_PG_STANDBY_COLS];
		split(text, v, DB_PG_STANDBY_COLS);
		struct db_standby sb;
		(void)db_pg_parse_standby_row(v, &sb);
		break;
	}
	default: {
		char out[512];
		(void)db_pg_recovery_lines(text, out, sizeof(out));
		char conf[256] = "";
		(void)db_conf_add(conf, sizeof(conf), "p", text);
		char ci[256] = "";
		(void)db_conninfo_add(ci, sizeof(ci), "k", text);
		char q[128];
		(void)db_quote_ident(text, q, sizeof(q));
		struct db_sync sync;
		if (db_parse_sync_names(text, &sync) == 0) {
			char again[DB_PARAM_VALUE_MAX];
			(void)db_render_sync_names(&sync, again, sizeof(again));
		}
		break;
	}
	}
	free(text);
	return 0;
}
