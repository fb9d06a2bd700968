/*
 * Fuzz target for the openGauss codec: everything it parses comes from gs_ctl or the server
 * (opengauss.md §2.7), so arbitrary bytes must give an error, never a crash or a hang.
 */
#include "db_opengauss_codec.h"
#include "lsn.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Inputs longer than the query limit are cut: the parser refuses them anyway. */
#define FUZZ_TEXT_MAX (DB_OG_QUERY_TEXT_MAX + 16)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct db_og_query q;
	static char text[FUZZ_TEXT_MAX + 1];
	char err[128];
	size_t n = size < FUZZ_TEXT_MAX ? size : FUZZ_TEXT_MAX;

	(void)db_og_parse_query((const char *)data, size, &q, err, sizeof(err));
	memcpy(text, data, n);
	text[n] = '\0';
	uint64_t lsn;
	struct db_og_term_lsn tl;
	struct db_og_ha_state ha;
	(void)lsn_parse(text, &lsn);
	(void)db_og_parse_term_lsn_record(text, &tl, err, sizeof(err));
	/* Split the text at its first two '|' into column values, like a SQL row. */
	char *a = text, *b = strchr(a, '|'), *c = NULL;
	if (b) {
		*b++ = '\0';
		c = strchr(b, '|');
		if (c)
			*c++ = '\0';
	}
	(void)db_og_ha_state_from_row(a, b, c, a, &ha, err, sizeof(err));
	if (db_og_ha_state_from_row(a, b, "Normal", c, &ha, err, sizeof(err)) == 0)
		(void)db_og_build_advice(&ha);
	(void)db_og_setting_differs(a, b ? b : "", c ? c : "");
	/* gs_initdb's input rules (opengauss.md 2.1) on arbitrary names and passwords. */
	(void)db_og_check_node_name(a, err, sizeof(err));
	(void)db_og_check_password(b ? b : "", a, err, sizeof(err));
	struct db_og_control ctl;
	(void)db_og_parse_controldata((const char *)text, &ctl, err, sizeof(err));
	return 0;
}
