/*
 * cfg_load.c - loading the configuration as the agent starts: the file (or the YAML in
 * PATRONI_CONFIGURATION), read through the key table over the defaults, then the environment on
 * top, then validation. The result is written only when no error was found.
 */
#include "cfg.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "cfg_internal.h"

/* Loads into a new struct handed over in *out (free it). A new struct is calloc'ed and filled
 * in place: neither cleared nor copied whole, it costs the pages its values use. */
static int load(const char *source, const char *text, size_t len, char *const *envp,
		struct cfg **out, struct cfg_diags *diags)
{
	struct cfg_reader *r;
	struct cfg *c;
	struct cfg_node *root = NULL;
	int errors_before = diags->errors;
	int rc = 0;

	if (text != NULL && len > CFG_FILE_MAX_BYTES) {
		cfg_diag_add(diags, CFG_SEVERITY_ERROR, source, 0, 0, "",
			     "is larger than %d bytes: this is not a configuration file",
			     CFG_FILE_MAX_BYTES);
		return -EFBIG;
	}
	c = calloc(1, sizeof(*c));
	r = calloc(1, sizeof(*r));
	if (c == NULL || r == NULL) {
		rc = -ENOMEM;
		goto out_free;
	}
	cfg_defaults_zeroed(c);
	r->diags = diags;
	r->source = source;
	r->cfg = c;
	if (buf_copy(c->source, sizeof(c->source), source) != 0)
		c->source[0] = '\0';

	if (text != NULL) {
		struct cfg_diag d;

		memset(&d, 0, sizeof(d));
		rc = cfg_yaml_parse(text, len, &root, &d);
		if (rc == -ENOMEM)
			goto out_free;
		if (rc != 0) {
			cfg_diag_add(diags, CFG_SEVERITY_ERROR, source, d.line, d.column, "", "%s",
				     d.message);
			rc = -EINVAL;
			goto out_free;
		}
		if (root->type == CFG_NODE_MAP) {
			cfg_read_map(r, root, cfg_keys, "", "", c);
		} else if (root->type != CFG_NODE_NULL) {
			cfg_diag_add(
				diags, CFG_SEVERITY_ERROR, source, root->line, root->column, "",
				"the file must be a mapping of keys (scope:, name:, ...), not %s",
				cfg_type_noun(root));
		}
	}
	cfg_env_apply(r, envp, c);
	cfg_validate(r, c, text != NULL);

	if (diags->errors > errors_before) {
		rc = -EINVAL;
		goto out_free;
	}
	*out = c;
	c = NULL;
	rc = 0;
out_free:
	cfg_node_free(root);
	free(r);
	free(c);
	return rc;
}

/* Copies a loaded configuration into the caller's struct (cfg_load's and cfg_load_text's
 * contract) and frees it. */
static int load_copy(int rc, struct cfg *loaded, struct cfg *out)
{
	if (rc != 0)
		return rc;
	if (loaded == NULL)
		return -ENOMEM;
	memcpy(out, loaded, sizeof(*loaded));
	free(loaded);
	return 0;
}

int cfg_load_text(const char *source, const char *text, size_t len, char *const *envp,
		  struct cfg *out, struct cfg_diags *diags)
{
	struct cfg *c = NULL;
	int rc = load(source, text, len, envp, &c, diags);

	return load_copy(rc, c, out);
}

int cfg_load(const char *path, char *const *envp, struct cfg *out, struct cfg_diags *diags)
{
	struct cfg *c = NULL;
	int rc = cfg_load_new(path, envp, &c, diags);

	return load_copy(rc, c, out);
}

int cfg_load_new(const char *path, char *const *envp, struct cfg **out, struct cfg_diags *diags)
{
	struct buf text;
	char chunk[4096]; /* small: the loop's thread runs here at a reload, and a stack page once
			   * touched stays resident (issue 15) */
	FILE *f;
	int rc;

	if (path == NULL) {
		static const char *const names[] = { "GSHA_CONFIGURATION",
						     "PATRONI_CONFIGURATION" };

		for (size_t i = 0; i < 2; i++) {
			const char *v = cfg_env_get(envp, names[i]);
			char source[64];

			if (v == NULL || v[0] == '\0')
				continue;
			if (buf_format(source, sizeof(source), "environment variable %s",
				       names[i]) != 0)
				return -ENAMETOOLONG;
			return load(source, v, strlen(v), envp, out, diags);
		}
		return load("environment", NULL, 0, envp, out, diags);
	}
	f = fopen(path, "re");
	if (f == NULL) {
		rc = -errno;
		cfg_diag_add(diags, CFG_SEVERITY_ERROR, path, 0, 0, "", "could not open file: %s",
			     strerror(-rc));
		return rc;
	}
	buf_init(&text, CFG_FILE_MAX_BYTES);
	for (;;) {
		size_t n = fread(chunk, 1, sizeof(chunk), f);

		if (n > 0 && (rc = buf_append(&text, chunk, n)) != 0) {
			if (rc == -ENOBUFS) {
				cfg_diag_add(diags, CFG_SEVERITY_ERROR, path, 0, 0, "",
					     "is larger than %d bytes: this is not a configuration "
					     "file",
					     CFG_FILE_MAX_BYTES);
				rc = -EFBIG;
			}
			goto out_close;
		}
		if (n < sizeof(chunk)) {
			if (ferror(f)) {
				rc = -EIO;
				cfg_diag_add(diags, CFG_SEVERITY_ERROR, path, 0, 0, "",
					     "could not read file");
				goto out_close;
			}
			break;
		}
	}
	rc = load(path, text.data ? text.data : "", text.len, envp, out, diags);
out_close:
	buf_done(&text);
	fclose(f);
	return rc;
}

int cfg_log_setup(const struct cfg *c)
{
	const char *attrs[LOG_FIELDS_MAX], *keys[LOG_FIELDS_MAX];
	const char *names[LOG_STATIC_MAX], *values[LOG_STATIC_MAX];
	int nf = c->log.fields.count, ns = c->log.static_fields.count;

	log_setup(c->log.level, c->log.format, c->name);
	if (c->log.dir[0] != '\0') {
		char err[256 + CFG_PATH_MAX];
		int rc = log_set_file(c->log.dir, (long long)c->log.file_size_bytes,
				      c->log.file_num, err, sizeof(err));

		if (rc != 0) {
			log_error("%s: logging to stderr", err);
			return rc;
		}
	}
	if (nf > LOG_FIELDS_MAX || ns > LOG_STATIC_MAX)
		return -EINVAL;
	for (int i = 0; i < nf; i++) {
		attrs[i] = c->log.fields.items[i].name;
		keys[i] = c->log.fields.items[i].value;
	}
	for (int i = 0; i < ns; i++) {
		names[i] = c->log.static_fields.items[i].name;
		values[i] = c->log.static_fields.items[i].value;
	}
	return log_set_json_layout(attrs, keys, nf, names, values, ns);
}
