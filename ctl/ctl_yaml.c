/*
 * ctl_yaml.c - the dynamic configuration as an operator sees it: JSON <-> YAML in PyYAML's
 * layout, --set edits, --apply merges (json_merge.h) and a difflib-style unified diff. Pure.
 */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <yaml.h>

#include "ctl.h"
#include "ctl_internal.h"
#include "err.h"
#include "json_merge.h"

#define YAML_DEPTH_MAX 64 /* nesting accepted in a YAML document */

/* ---- scalars ------------------------------------------------------------------------------- */

static bool word_in(const char *s, const char *const *words)
{
	for (; *words != NULL; words++)
		if (strcmp(s, *words) == 0)
			return true;
	return false;
}

static const char *const null_words[] = { "~", "null", "Null", "NULL", NULL };
static const char *const true_words[] = { "yes",  "Yes", "YES", "true", "True",
					  "TRUE", "on",	 "On",	"ON",	NULL };
static const char *const false_words[] = { "no",    "No",  "NO",  "false", "False",
					   "FALSE", "off", "Off", "OFF",   NULL };

/* A plain scalar that reads as an integer; writes it into *out. */
static bool plain_int(const char *s, int64_t *out)
{
	char *end;
	long long v;
	const char *p = s;

	if (*p == '+' || *p == '-')
		p++;
	if (*p < '0' || *p > '9')
		return false;
	if (p[0] == '0' && p[1] != '\0')
		return false; /* octal/hex/binary forms: keep them strings */
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno != 0 || *end != '\0')
		return false;
	*out = v;
	return true;
}

static bool plain_float(const char *s, double *out)
{
	char *end;
	double v;
	bool digit = false, dot = false;

	for (const char *p = s; *p != '\0'; p++) {
		if (*p >= '0' && *p <= '9')
			digit = true;
		else if (*p == '.')
			dot = true;
		else if (strchr("+-eE", *p) == NULL)
			return false;
	}
	if (!digit || !dot)
		return false;
	errno = 0;
	v = strtod(s, &end);
	if (errno != 0 || *end != '\0' || !isfinite(v))
		return false;
	*out = v;
	return true;
}

/* Would the string read back as something other than this string when written plain? */
static bool needs_quotes(const char *s)
{
	int64_t i;
	double d;
	size_t n = strlen(s);

	if (n == 0 || word_in(s, null_words) || word_in(s, true_words) || word_in(s, false_words) ||
	    plain_int(s, &i) || plain_float(s, &d))
		return true;
	if (strchr("-?:,[]{}#&*!|>'\"%@` ", s[0]) != NULL || s[n - 1] == ' ' || s[n - 1] == ':')
		return true;
	if (strstr(s, ": ") != NULL || strstr(s, " #") != NULL)
		return true;
	/* integers in YAML 1.1's other spellings: 010, 1_000, 0x1f, 0b1, 1:30 */
	if (strspn(s, "0123456789_+-") == n)
		return true;
	if ((s[0] == '0' || ((s[0] == '+' || s[0] == '-') && s[1] == '0')) &&
	    strchr("xXbBoO", s[s[0] == '0' ? 1 : 2]) != NULL)
		return true;
	if (strspn(s, "0123456789_:") == n && strchr(s, ':') != NULL)
		return true;
	return false;
}

/* Length of a character YAML would not keep as written inside a plain or single-quoted scalar
 * (a control character, C1 controls such as NEL U+0085, LS/PS U+2028/9, a BOM), else 0;
 * writes its code point into *cp. */
static size_t special_char(const unsigned char *p, unsigned *cp)
{
	if (p[0] < 0x20 || p[0] == 0x7f) {
		*cp = p[0];
		return 1;
	}
	if (p[0] == 0xc2 && p[1] >= 0x80 && p[1] <= 0x9f) {
		*cp = p[1];
		return 2;
	}
	if (p[0] == 0xe2 && p[1] == 0x80 && (p[2] == 0xa8 || p[2] == 0xa9)) {
		*cp = p[2] == 0xa8 ? 0x2028 : 0x2029;
		return 3;
	}
	if (p[0] == 0xef && p[1] == 0xbb && p[2] == 0xbf) {
		*cp = 0xfeff;
		return 3;
	}
	return 0;
}

static bool has_special(const char *s)
{
	unsigned cp;

	for (const unsigned char *p = (const unsigned char *)s; *p != '\0'; p++)
		if (special_char(p, &cp) > 0)
			return true;
	return false;
}

static int put_string(const char *s, struct buf *out)
{
	int rc = 0;

	if (!needs_quotes(s) && !has_special(s))
		return buf_puts(out, s);
	if (!has_special(s)) {
		rc |= buf_puts(out, "'");
		for (const char *p = s; *p != '\0'; p++)
			rc |= *p == '\'' ? buf_puts(out, "''") : buf_append(out, p, 1);
		rc |= buf_puts(out, "'");
		return rc;
	}
	rc |= buf_puts(out, "\"");
	for (const unsigned char *p = (const unsigned char *)s; *p != '\0';) {
		unsigned cp;
		size_t n = special_char(p, &cp);

		if (n > 0) {
			rc |= cp == '\n'   ? buf_puts(out, "\\n")
			      : cp == '\t' ? buf_puts(out, "\\t")
					   : buf_printf(out, "\\u%04x", cp);
			p += n;
			continue;
		}
		if (*p == '"' || *p == '\\')
			rc |= buf_printf(out, "\\%c", *p);
		else
			rc |= buf_append(out, p, 1);
		p++;
	}
	rc |= buf_puts(out, "\"");
	return rc;
}

static int put_number(double v, struct buf *out)
{
	char tmp[40];

	char *e;

	if (!isfinite(v))
		return buf_puts(out, "null"); /* as cJSON prints it */
	if (v == floor(v) && fabs(v) < 9.2e18)
		return buf_printf(out, "%" PRId64, (int64_t)v);
	snprintf(tmp, sizeof(tmp), "%.15g", v);
	if (strtod(tmp, NULL) != v)
		snprintf(tmp, sizeof(tmp), "%.17g", v);
	/* YAML 1.1 (PyYAML) reads a float only with a dot in the mantissa: 1.0e+84 */
	e = strpbrk(tmp, "eE");
	if (strchr(tmp, '.') == NULL && e != NULL)
		return buf_printf(out, "%.*s.0%s", (int)(e - tmp), tmp, e);
	if (strchr(tmp, '.') == NULL)
		return buf_printf(out, "%s.0", tmp);
	return buf_puts(out, tmp);
}

static int put_scalar(const cJSON *v, struct buf *out)
{
	if (cJSON_IsNull(v))
		return buf_puts(out, "null");
	if (cJSON_IsTrue(v))
		return buf_puts(out, "true");
	if (cJSON_IsFalse(v))
		return buf_puts(out, "false");
	if (cJSON_IsNumber(v))
		return put_number(v->valuedouble, out);
	if (cJSON_IsString(v))
		return put_string(v->valuestring, out);
	return buf_puts(out, "null");
}

/* ---- emitters ------------------------------------------------------------------------------ */

static int key_cmp(const void *a, const void *b)
{
	const cJSON *x = *(const cJSON *const *)a, *y = *(const cJSON *const *)b;

	return strcmp(x->string, y->string);
}

/* The children of an object, sorted by key. Caller frees. */
static const cJSON **sorted_children(const cJSON *o, int *n)
{
	const cJSON **v;
	const cJSON *c;
	int count = cJSON_GetArraySize(o), i = 0;

	v = calloc((size_t)(count > 0 ? count : 1), sizeof(*v));
	if (v == NULL)
		return NULL;
	cJSON_ArrayForEach(c, o) v[i++] = c;
	qsort(v, (size_t)i, sizeof(*v), key_cmp);
	*n = i;
	return v;
}

int ctl_yaml_flow(const cJSON *v, struct buf *out)
{
	int rc = 0;
	const cJSON *c;
	bool first = true;

	if (cJSON_IsObject(v)) {
		int n = 0;
		const cJSON **kids = sorted_children(v, &n);

		if (kids == NULL)
			return -ENOMEM;
		rc |= buf_puts(out, "{");
		for (int i = 0; i < n; i++) {
			rc |= buf_puts(out, i ? ", " : "");
			rc |= put_string(kids[i]->string, out);
			rc |= buf_puts(out, ": ");
			rc |= ctl_yaml_flow(kids[i], out);
		}
		rc |= buf_puts(out, "}");
		free(kids);
		return rc;
	}
	if (cJSON_IsArray(v)) {
		rc |= buf_puts(out, "[");
		cJSON_ArrayForEach(c, v)
		{
			rc |= buf_puts(out, first ? "" : ", ");
			rc |= ctl_yaml_flow(c, out);
			first = false;
		}
		return rc | buf_puts(out, "]");
	}
	return put_scalar(v, out);
}

static int indent(struct buf *out, int n)
{
	int rc = 0;

	for (int i = 0; i < n; i++)
		rc |= buf_puts(out, " ");
	return rc;
}

static bool is_block(const cJSON *v)
{
	return (cJSON_IsObject(v) || cJSON_IsArray(v)) && v->child != NULL;
}

static int emit_seq(const cJSON *arr, int ind, bool inline_first, struct buf *out, int depth);

/* An object at indentation ind; the first key follows a "- " already written when
 * inline_first. */
static int emit_map(const cJSON *o, int ind, bool inline_first, struct buf *out, int depth)
{
	int n = 0, rc = 0;
	const cJSON **kids;

	if (depth > YAML_DEPTH_MAX)
		return -E2BIG;
	kids = sorted_children(o, &n);
	if (kids == NULL)
		return -ENOMEM;
	for (int i = 0; i < n && rc == 0; i++) {
		const cJSON *k = kids[i];

		if (!(i == 0 && inline_first))
			rc |= indent(out, ind);
		rc |= put_string(k->string, out);
		rc |= buf_puts(out, ":");
		if (cJSON_IsObject(k) && k->child != NULL) {
			rc |= buf_puts(out, "\n");
			rc |= emit_map(k, ind + 2, false, out, depth + 1);
		} else if (cJSON_IsArray(k) && k->child != NULL) {
			rc |= buf_puts(out, "\n");
			rc |= emit_seq(k, ind, false, out, depth + 1);
		} else {
			rc |= buf_puts(out, " ");
			rc |= cJSON_IsObject(k)	 ? buf_puts(out, "{}")
			      : cJSON_IsArray(k) ? buf_puts(out, "[]")
						 : put_scalar(k, out);
			rc |= buf_puts(out, "\n");
		}
	}
	free(kids);
	return rc;
}

static int emit_seq(const cJSON *arr, int ind, bool inline_first, struct buf *out, int depth)
{
	const cJSON *c;
	int rc = 0;
	bool first = true;

	if (depth > YAML_DEPTH_MAX)
		return -E2BIG;
	cJSON_ArrayForEach(c, arr)
	{
		if (!(first && inline_first))
			rc |= indent(out, ind);
		first = false;
		rc |= buf_puts(out, "- ");
		if (cJSON_IsObject(c) && c->child != NULL)
			rc |= emit_map(c, ind + 2, true, out, depth + 1);
		else if (cJSON_IsArray(c) && c->child != NULL)
			rc |= emit_seq(c, ind + 2, true, out, depth + 1);
		else {
			rc |= cJSON_IsObject(c)	 ? buf_puts(out, "{}")
			      : cJSON_IsArray(c) ? buf_puts(out, "[]")
						 : put_scalar(c, out);
			rc |= buf_puts(out, "\n");
		}
		if (rc != 0)
			break;
	}
	return rc;
}

int ctl_yaml_block(const cJSON *v, struct buf *out)
{
	if (cJSON_IsObject(v) && is_block(v))
		return emit_map(v, 0, false, out, 0);
	if (cJSON_IsArray(v) && is_block(v))
		return emit_seq(v, 0, false, out, 0);
	if (ctl_yaml_flow(v, out) != 0)
		return -ENOBUFS;
	return buf_puts(out, "\n");
}

static int json_string(const char *s, struct buf *out)
{
	int rc = buf_puts(out, "\"");

	for (const unsigned char *p = (const unsigned char *)s; *p != '\0'; p++) {
		if (*p == '"' || *p == '\\')
			rc |= buf_printf(out, "\\%c", *p);
		else if (*p == '\n')
			rc |= buf_puts(out, "\\n");
		else if (*p == '\t')
			rc |= buf_puts(out, "\\t");
		else if (*p < 0x20)
			rc |= buf_printf(out, "\\u%04x", *p);
		else
			rc |= buf_append(out, p, 1);
	}
	return rc | buf_puts(out, "\"");
}

int ctl_json_python(const cJSON *v, struct buf *out)
{
	const cJSON *c;
	int rc = 0;
	bool first = true;

	if (cJSON_IsObject(v)) {
		rc |= buf_puts(out, "{");
		cJSON_ArrayForEach(c, v)
		{
			rc |= buf_puts(out, first ? "" : ", ");
			rc |= json_string(c->string, out);
			rc |= buf_puts(out, ": ");
			rc |= ctl_json_python(c, out);
			first = false;
		}
		return rc | buf_puts(out, "}");
	}
	if (cJSON_IsArray(v)) {
		rc |= buf_puts(out, "[");
		cJSON_ArrayForEach(c, v)
		{
			rc |= buf_puts(out, first ? "" : ", ");
			rc |= ctl_json_python(c, out);
			first = false;
		}
		return rc | buf_puts(out, "]");
	}
	if (cJSON_IsString(v))
		return json_string(v->valuestring, out);
	if (cJSON_IsNumber(v))
		return put_number(v->valuedouble, out);
	if (cJSON_IsTrue(v))
		return buf_puts(out, "true");
	if (cJSON_IsFalse(v))
		return buf_puts(out, "false");
	return buf_puts(out, "null");
}

int ctl_json_to_yaml(const char *json, struct buf *out)
{
	cJSON *doc = cJSON_Parse(json);
	int rc;

	if (doc == NULL)
		return -EINVAL;
	rc = ctl_yaml_block(doc, out);
	cJSON_Delete(doc);
	return rc != 0 ? -ENOBUFS : 0;
}

/* ---- YAML to JSON -------------------------------------------------------------------------- */

static cJSON *scalar_to_json(const char *s, bool plain)
{
	int64_t i;
	double d;

	if (!plain)
		return cJSON_CreateString(s);
	if (s[0] == '\0' || word_in(s, null_words))
		return cJSON_CreateNull();
	if (word_in(s, true_words))
		return cJSON_CreateTrue();
	if (word_in(s, false_words))
		return cJSON_CreateFalse();
	if (plain_int(s, &i))
		return cJSON_CreateNumber((double)i);
	if (plain_float(s, &d))
		return cJSON_CreateNumber(d);
	return cJSON_CreateString(s);
}

static cJSON *node_to_json(yaml_document_t *doc, yaml_node_t *node, int depth, char *err,
			   size_t errlen)
{
	cJSON *out = NULL;

	if (node == NULL) {
		err_set(err, errlen, "broken YAML node");
		return NULL;
	}
	if (depth > YAML_DEPTH_MAX) {
		err_set(err, errlen, "YAML nested deeper than %d levels", YAML_DEPTH_MAX);
		return NULL;
	}
	switch (node->type) {
	case YAML_SCALAR_NODE:
		out = scalar_to_json((const char *)node->data.scalar.value,
				     node->data.scalar.style == YAML_PLAIN_SCALAR_STYLE);
		break;
	case YAML_SEQUENCE_NODE:
		out = cJSON_CreateArray();
		for (yaml_node_item_t *it = node->data.sequence.items.start;
		     out != NULL && it < node->data.sequence.items.top; it++) {
			cJSON *c = node_to_json(doc, yaml_document_get_node(doc, *it), depth + 1,
						err, errlen);

			if (c == NULL) {
				cJSON_Delete(out);
				return NULL;
			}
			if (!cJSON_AddItemToArray(out, c)) {
				cJSON_Delete(c);
				cJSON_Delete(out);
				out = NULL;
			}
		}
		break;
	case YAML_MAPPING_NODE:
		out = cJSON_CreateObject();
		for (yaml_node_pair_t *p = node->data.mapping.pairs.start;
		     out != NULL && p < node->data.mapping.pairs.top; p++) {
			yaml_node_t *k = yaml_document_get_node(doc, p->key);
			cJSON *c;

			if (k == NULL || k->type != YAML_SCALAR_NODE) {
				err_set(err, errlen, "a mapping key is not a plain value");
				cJSON_Delete(out);
				return NULL;
			}
			c = node_to_json(doc, yaml_document_get_node(doc, p->value), depth + 1, err,
					 errlen);
			if (c == NULL) {
				cJSON_Delete(out);
				return NULL;
			}
			cJSON_DeleteItemFromObjectCaseSensitive(out,
								(const char *)k->data.scalar.value);
			if (!cJSON_AddItemToObject(out, (const char *)k->data.scalar.value, c)) {
				cJSON_Delete(c);
				cJSON_Delete(out);
				out = NULL;
			}
		}
		break;
	default:
		break;
	}
	if (out == NULL && err[0] == '\0')
		err_set(err, errlen, "out of memory");
	return out;
}

int ctl_yaml_to_json(const char *yaml, size_t len, struct buf *out, char *err, size_t errlen)
{
	yaml_parser_t parser;
	yaml_document_t doc;
	yaml_node_t *root;
	cJSON *json;
	char *text;
	int rc = 0;

	err[0] = '\0';
	if (len > CTL_DOC_MAX) {
		err_set(err, errlen, "the document is larger than %d bytes", CTL_DOC_MAX);
		return -EINVAL;
	}
	if (!yaml_parser_initialize(&parser)) {
		err_set(err, errlen, "out of memory");
		return -ENOMEM;
	}
	yaml_parser_set_input_string(&parser, (const unsigned char *)yaml, len);
	if (!yaml_parser_load(&parser, &doc)) {
		err_set(err, errlen, "line %zu, column %zu: %s", parser.problem_mark.line + 1,
			parser.problem_mark.column + 1,
			parser.problem != NULL ? parser.problem : "invalid YAML");
		yaml_parser_delete(&parser);
		return -EINVAL;
	}
	root = yaml_document_get_root_node(&doc);
	json = root == NULL ? cJSON_CreateNull() : node_to_json(&doc, root, 0, err, errlen);
	yaml_document_delete(&doc);
	yaml_parser_delete(&parser);
	if (json == NULL)
		return -EINVAL;
	text = cJSON_PrintUnformatted(json);
	cJSON_Delete(json);
	if (text == NULL) {
		err_set(err, errlen, "out of memory");
		return -ENOMEM;
	}
	if (buf_puts(out, text) != 0) {
		err_set(err, errlen, "the document is too large");
		rc = -EINVAL;
	}
	cJSON_free(text);
	return rc;
}

/* ---- edits ------------------------------------------------------------------------------- */

static int print_into(cJSON *doc, struct buf *out, char *err, size_t errlen)
{
	char *text = cJSON_PrintUnformatted(doc);
	int rc = 0;

	if (text == NULL) {
		err_set(err, errlen, "out of memory");
		return -ENOMEM;
	}
	if (buf_puts(out, text) != 0) {
		err_set(err, errlen, "the configuration is too large");
		rc = -EINVAL;
	}
	cJSON_free(text);
	return rc;
}

/* Replaces obj's member key by value where it stands (key order is kept). Not
 * cJSON_ReplaceItemInObject: cJSON 1.7.15 does not check the copy of the key it makes there. */
static bool replace_in_place(cJSON *obj, const char *key, cJSON *value)
{
	size_t n = strlen(key) + 1;
	char *copy = cJSON_malloc(n);

	if (copy == NULL)
		return false;
	memcpy(copy, key, n);
	cJSON_free(value->string);
	value->string = copy;
	return cJSON_ReplaceItemViaPointer(obj, cJSON_GetObjectItemCaseSensitive(obj, key), value);
}

int ctl_config_set(const char *doc, const char (*sets)[CTL_SET_MAX], int count, struct buf *out,
		   char *err, size_t errlen)
{
	cJSON *root = cJSON_Parse(doc);
	int rc = 0;

	if (root == NULL || !cJSON_IsObject(root)) {
		err_set(err, errlen, "the stored configuration is not a JSON object");
		cJSON_Delete(root);
		return -EINVAL;
	}
	for (int i = 0; i < count; i++) {
		char path[CTL_SET_MAX];
		const char *eq = strchr(sets[i], '=');
		char *seg, *dot;
		cJSON *node = root, *value;
		struct buf vj;

		if (eq == NULL || eq == sets[i]) {
			err_set(err, errlen, "\"%.200s\" is not of the form path=value", sets[i]);
			rc = -EINVAL;
			break;
		}
		memcpy(path, sets[i], (size_t)(eq - sets[i]));
		path[eq - sets[i]] = '\0';
		buf_init(&vj, CTL_DOC_MAX);
		rc = ctl_yaml_to_json(eq + 1, strlen(eq + 1), &vj, err, errlen);
		value = rc == 0 ? cJSON_Parse(vj.data != NULL ? vj.data : "null") : NULL;
		buf_done(&vj);
		if (rc != 0 || value == NULL) {
			if (rc == 0)
				err_set(err, errlen, "out of memory");
			rc = -EINVAL;
			break;
		}
		seg = path;
		while ((dot = strchr(seg, '.')) != NULL) {
			cJSON *next;

			*dot = '\0';
			if (seg[0] == '\0')
				break;
			next = cJSON_GetObjectItemCaseSensitive(node, seg);
			if (!cJSON_IsObject(next)) {
				if (cJSON_IsNull(value))
					break; /* deleting below something absent: nothing to do */
				next = cJSON_CreateObject();
				cJSON_DeleteItemFromObjectCaseSensitive(node, seg);
				if (next == NULL || !cJSON_AddItemToObject(node, seg, next)) {
					cJSON_Delete(next);
					rc = -ENOMEM;
					break;
				}
			}
			node = next;
			seg = dot + 1;
		}
		if (rc != 0) {
			err_set(err, errlen, "out of memory");
			cJSON_Delete(value);
			break;
		}
		if (seg[0] == '\0') {
			err_set(err, errlen, "\"%.200s\": empty key in the path", sets[i]);
			cJSON_Delete(value);
			rc = -EINVAL;
			break;
		}
		if (dot != NULL) { /* stopped early on a null for an absent parent */
			cJSON_Delete(value);
			continue;
		}
		if (cJSON_IsNull(value)) {
			cJSON_DeleteItemFromObjectCaseSensitive(node, seg);
			cJSON_Delete(value);
		} else if (cJSON_GetObjectItemCaseSensitive(node, seg) != NULL
				   ? !replace_in_place(node, seg, value)
				   : !cJSON_AddItemToObject(node, seg, value)) {
			cJSON_Delete(value);
			rc = err_fail(err, errlen, -ENOMEM, "out of memory");
			break;
		}
	}
	if (rc == 0)
		rc = print_into(root, out, err, errlen);
	cJSON_Delete(root);
	return rc;
}

int ctl_config_merge(const char *doc, const char *patch, struct buf *out, char *err, size_t errlen)
{
	cJSON *d = cJSON_Parse(doc), *p = cJSON_Parse(patch);
	bool changed;
	int rc = -EINVAL;

	if (!cJSON_IsObject(d))
		err_set(err, errlen, "the stored configuration is not a JSON object");
	else if (!cJSON_IsObject(p))
		err_set(err, errlen, "the changes are not a mapping of keys to values");
	else if ((rc = json_merge_patch_tree(d, p, &changed)) != 0)
		err_set(err, errlen, "out of memory merging the changes");
	else
		rc = print_into(d, out, err, errlen);
	cJSON_Delete(d);
	cJSON_Delete(p);
	return rc;
}

/* ---- diff ---------------------------------------------------------------------------------- */

struct lines {
	int n;
	const char **start;
	size_t *len;
};

static int split_lines(const char *s, struct lines *l)
{
	int n = 0;

	for (const char *p = s; *p != '\0';) {
		n++;
		p += strcspn(p, "\n");
		if (*p == '\n')
			p++;
	}
	if (n > CTL_DIFF_LINES_MAX)
		return -E2BIG;
	l->n = n;
	l->start = calloc((size_t)n + 1, sizeof(*l->start));
	l->len = calloc((size_t)n + 1, sizeof(*l->len));
	if (l->start == NULL || l->len == NULL)
		return -ENOMEM;
	n = 0;
	for (const char *p = s; *p != '\0';) {
		l->start[n] = p;
		l->len[n] = strcspn(p, "\n");
		p += l->len[n];
		if (*p == '\n')
			p++;
		n++;
	}
	return 0;
}

static bool line_eq(const struct lines *a, int i, const struct lines *b, int j)
{
	return a->len[i] == b->len[j] && memcmp(a->start[i], b->start[j], a->len[i]) == 0;
}

static void range(struct buf *out, int start, int len)
{
	/* difflib's _format_range_unified */
	if (len == 1)
		buf_printf(out, "%d", start + 1);
	else
		buf_printf(out, "%d,%d", len == 0 ? start : start + 1, len);
}

int ctl_diff(const char *a, const char *b, const char *from, const char *to, struct buf *out)
{
	struct lines la = { 0 }, lb = { 0 };
	uint16_t *lcs = NULL;
	char *ops = NULL; /* ' ', '-', '+' per step */
	int *ai = NULL, *bi = NULL, nops = 0, rc;
	const int ctx = 3;

	rc = split_lines(a, &la);
	if (rc == 0)
		rc = split_lines(b, &lb);
	if (rc != 0)
		goto out_free;
	size_t w = (size_t)lb.n + 1;

	lcs = calloc(((size_t)la.n + 1) * w, sizeof(*lcs));
	ops = calloc((size_t)(la.n + lb.n) + 1, 1);
	ai = calloc((size_t)(la.n + lb.n) + 1, sizeof(*ai));
	bi = calloc((size_t)(la.n + lb.n) + 1, sizeof(*bi));
	if (lcs == NULL || ops == NULL || ai == NULL || bi == NULL) {
		rc = -ENOMEM;
		goto out_free;
	}
	for (int i = la.n - 1; i >= 0; i--)
		for (int j = lb.n - 1; j >= 0; j--)
			lcs[(size_t)i * w + (size_t)j] =
				line_eq(&la, i, &lb, j)
					? (uint16_t)(lcs[(size_t)(i + 1) * w + (size_t)j + 1] + 1)
				: lcs[(size_t)(i + 1) * w + (size_t)j] >=
						lcs[(size_t)i * w + (size_t)j + 1]
					? lcs[(size_t)(i + 1) * w + (size_t)j]
					: lcs[(size_t)i * w + (size_t)j + 1];
	for (int i = 0, j = 0; i < la.n || j < lb.n;) {
		ai[nops] = i;
		bi[nops] = j;
		if (i < la.n && j < lb.n && line_eq(&la, i, &lb, j)) {
			ops[nops++] = ' ';
			i++;
			j++;
		} else if (j >= lb.n || (i < la.n && lcs[(size_t)(i + 1) * w + (size_t)j] >=
							     lcs[(size_t)i * w + (size_t)j + 1])) {
			ops[nops++] = '-';
			i++;
		} else {
			ops[nops++] = '+';
			j++;
		}
	}
	bool header = false;

	for (int k = 0; k < nops;) {
		int first, last, start, end, a_len = 0, b_len = 0;

		while (k < nops && ops[k] == ' ')
			k++;
		if (k >= nops)
			break;
		first = k;
		last = k;
		/* extend over changes separated by at most 2 * ctx equal lines */
		for (int m = k + 1; m < nops; m++) {
			if (ops[m] != ' ') {
				if (m - last - 1 > 2 * ctx)
					break;
				last = m;
			}
		}
		start = first - ctx < 0 ? 0 : first - ctx;
		end = last + ctx + 1 > nops ? nops : last + ctx + 1;
		for (int m = start; m < end; m++) {
			a_len += ops[m] != '+';
			b_len += ops[m] != '-';
		}
		if (!header) {
			buf_printf(out, "--- %s\n+++ %s\n", from, to);
			header = true;
		}
		buf_puts(out, "@@ -");
		range(out, ai[start], a_len);
		buf_puts(out, " +");
		range(out, bi[start], b_len);
		buf_puts(out, " @@\n");
		for (int m = start; m < end; m++) {
			if (ops[m] == '+')
				buf_printf(out, "+%.*s\n", (int)lb.len[bi[m]], lb.start[bi[m]]);
			else
				buf_printf(out, "%c%.*s\n", ops[m], (int)la.len[ai[m]],
					   la.start[ai[m]]);
		}
		k = end;
	}
	rc = out->overflow ? -ENOBUFS : 0;
out_free:
	free(lcs);
	free(ops);
	free(ai);
	free(bi);
	free(la.start);
	free(la.len);
	free(lb.start);
	free(lb.len);
	return rc;
}
