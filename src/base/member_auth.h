/*
 * member_auth.h - how one member (or gsctl) authenticates to another member's REST API: the
 * settings the configuration resolves (cfg_member_auth(), Patroni's rule) and the member client
 * uses (rest_client.h). A plain value on the ground floor because both sides need it and neither
 * may see the other.
 */
#ifndef GSHA_MEMBER_AUTH_H
#define GSHA_MEMBER_AUTH_H

#include <stdbool.h>

/* User names and passwords of the Basic credentials, and a key's password. */
#define MEMBER_AUTH_SECRET_MAX 256
/* Paths of the CA, certificate and key files. */
#define MEMBER_AUTH_PATH_MAX 1024

/* Zeroed memory is valid: no credentials, system CAs, no client certificate, peer certificates
 * verified. */
struct member_auth {
	char username[MEMBER_AUTH_SECRET_MAX]; /* Basic authentication; "" sends none */
	char password[MEMBER_AUTH_SECRET_MAX];
	char cafile[MEMBER_AUTH_PATH_MAX];   /* trust for the members' certificates; "" = system */
	char certfile[MEMBER_AUTH_PATH_MAX]; /* client certificate (verify_client); "" = none */
	char keyfile[MEMBER_AUTH_PATH_MAX];  /* its key; "" = inside certfile */
	char keyfile_password[MEMBER_AUTH_SECRET_MAX];
	bool insecure; /* do not verify the members' certificates (ctl.insecure) */
};

#endif
