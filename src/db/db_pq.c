/*
 * db_pq.c - the libpq table (db_pq.h).
 */
#include "db_pq.h"

#include "db.h"

#define DB_PQ_COUNT(f) +1

static const struct db_pq_api linked = { DB_PQ_FUNCS(TLSLIB_LINKED) };
static struct db_pq_api loaded;
const struct db_pq_api *db_pq = &linked;

int db_pq_use_ssl(char *err, size_t err_cap)
{
	static const char *const names[] = { DB_PQ_FUNCS(TLSLIB_NAME) };
	void (*fns[0 DB_PQ_FUNCS(DB_PQ_COUNT)])(void);
	size_t i = 0;
	int rc;

	if (!tlslib_split() || db_pq == &loaded)
		return 0;
	rc = tlslib_load("libpq.so.5", names, fns, sizeof(names) / sizeof(names[0]), err, err_cap);
	if (rc != 0)
		return rc;
#define DB_PQ_FILL(f) loaded.f = (__typeof__(loaded.f))fns[i++];
	DB_PQ_FUNCS(DB_PQ_FILL)
#undef DB_PQ_FILL
	db_pq = &loaded;
	return 0;
}

bool db_pq_has_ssl(void)
{
	return !tlslib_split() || db_pq == &loaded;
}
