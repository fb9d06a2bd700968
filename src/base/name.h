/*
 * name.h - the one limit on member names, enforced wherever a name enters gsha: the
 * configuration, etcd documents and REST bodies. A member's name becomes its application_name
 * and (lower-cased) its replication slot's name, and PostgreSQL keeps only NAMEDATALEN - 1 = 63
 * bytes of either, so a longer name would silently stop matching its own slot and sync entry.
 */
#ifndef GSHA_NAME_H
#define GSHA_NAME_H

#include <stdbool.h>
#include <stddef.h>

/* Bytes a member name may have, and the size of every buffer that holds one. */
#define MEMBER_NAME_LEN 63
#define MEMBER_NAME_MAX (MEMBER_NAME_LEN + 1)

/* True when s is a usable member name: 1 to MEMBER_NAME_LEN bytes, no control characters. */
bool member_name_valid(const char *s);

/* Copies a valid name into out (MEMBER_NAME_MAX bytes). Returns 0, or -EINVAL (empty, control
 * characters) / -ENAMETOOLONG (over MEMBER_NAME_LEN bytes) with nothing written. */
int member_name_copy(char out[static MEMBER_NAME_MAX], const char *s)
	__attribute__((warn_unused_result));

#endif
