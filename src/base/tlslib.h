/*
 * tlslib.h - the TLS builds of the fixed libraries, loaded with dlopen only when the
 * configuration asks for TLS (docs/architecture.md, "Footprint").
 *
 * A build that links the minimal libraries (meson -Dminimal_deps) links plain builds of libcurl,
 * libmicrohttpd and libpq (no TLS library at all) and finds their TLS builds, made by
 * scripts/build-minimal-deps, in GSHA_TLS_LIBDIR. Each library's calls go through one table of
 * functions (curl_api.h, rest/rest_mhd.h, src/db/db_pq.h), which points at the linked plain
 * build until the TLS one is chosen, once, at start-up. A build on Debian's shared libraries has
 * TLS linked in already: there every table points straight at the linked functions.
 */
#ifndef GSHA_TLSLIB_H
#define GSHA_TLSLIB_H

#include <stdbool.h>
#include <stddef.h>

/* True when the TLS builds are separate shared objects loaded on demand (minimal build). */
bool tlslib_split(void);

/* Loads GSHA_TLS_LIBDIR/name (RTLD_NOW | RTLD_LOCAL) and resolves each of the count names
 * into fns[i]. Returns 0, or -ENOENT with what failed in err (the library's path and dlerror's
 * reason); on failure nothing is kept loaded. Only for tlslib_split() builds. */
int tlslib_load(const char *name, const char *const *names, void (**fns)(void), size_t count,
		char *err, size_t err_cap) __attribute__((warn_unused_result));

/* For the tables: each lists its functions once, as X(name), and these expand the list into
 * the table's members (typed by the library's own declarations), the linked table and the names
 * to resolve. */
#define TLSLIB_MEMBER(f) __typeof__(f) *f;
#define TLSLIB_LINKED(f) .f = f,
#define TLSLIB_NAME(f) #f,

#endif
