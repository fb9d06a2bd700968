/*
 * tlslib.c - dlopen of the TLS builds of libcurl, libmicrohttpd and libpq (tlslib.h).
 *
 * The shared objects are linked -Bsymbolic by scripts/build-minimal-deps, so their calls to
 * their own functions bind to themselves; the executable's plain copies of the same names are
 * not exported (no -rdynamic), so RTLD_LOCAL keeps the two builds apart in both directions.
 */
#include "tlslib.h"

#include <dlfcn.h>
#include <errno.h>
#include <stdio.h>

bool tlslib_split(void)
{
#ifdef GSHA_TLS_LIBDIR
	return true;
#else
	return false;
#endif
}

int tlslib_load(const char *name, const char *const *names, void (**fns)(void), size_t count,
		char *err, size_t err_cap)
{
#ifdef GSHA_TLS_LIBDIR
	char path[512];
	void *h;
	size_t i;

	if (snprintf(path, sizeof(path), "%s/%s", GSHA_TLS_LIBDIR, name) >= (int)sizeof(path)) {
		snprintf(err, err_cap, "library path too long: \"%s/%s\"", GSHA_TLS_LIBDIR, name);
		return -ENOENT;
	}
	h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
	if (h == NULL) {
		snprintf(err, err_cap, "could not load \"%s\": %s (scripts/build-minimal-deps)",
			 path, dlerror());
		return -ENOENT;
	}
	for (i = 0; i < count; i++) {
		void *sym = dlsym(h, names[i]);

		if (sym == NULL) {
			snprintf(err, err_cap, "\"%s\" has no function \"%s\"", path, names[i]);
			dlclose(h);
			return -ENOENT;
		}
		/* POSIX's blessed way from a data pointer to a function pointer */
		*(void **)&fns[i] = sym;
	}
	return 0; /* kept loaded for the process's life */
#else
	(void)name;
	(void)names;
	(void)fns;
	(void)count;
	snprintf(err, err_cap, "this build links its TLS libraries: nothing to load");
	return -ENOENT;
#endif
}
