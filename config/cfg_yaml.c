/*
 * cfg_yaml.c - YAML text to a position-carrying tree (libyaml), and the tree's helpers.
 *
 * Only what a configuration file needs: mappings, sequences and scalars. Anchors and aliases
 * are refused (they buy nothing here and open the door to exponential documents).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <yaml.h>

#include "buf.h"
#include "cfg_internal.h"
#include "num.h"

void cfg_node_free(struct cfg_node *n)
{
	while (n != NULL) {
		struct cfg_node *next = n->next;

		cfg_node_free(n->child);
		free(n->text);
		free(n->key);
		free(n);
		n = next;
	}
}

enum cfg_node_type cfg_plain_scalar_type(const char *text, enum cfg_value_kind *kind)
{
	static const char *const nulls[] = { "", "~", "null", "Null", "NULL" };
	static const char *const bools[] = { "true", "false", "yes", "no", "on", "off", "y", "n" };
	double d;
	bool b;

	for (size_t i = 0; i < sizeof(nulls) / sizeof(nulls[0]); i++) {
		if (strcmp(text, nulls[i]) == 0) {
			*kind = CFG_VALUE_NONE;
			return CFG_NODE_NULL;
		}
	}
	for (size_t i = 0; i < sizeof(bools) / sizeof(bools[0]); i++) {
		if (strcasecmp(text, bools[i]) == 0 && num_parse_bool(text, &b) == 0) {
			*kind = CFG_VALUE_BOOL;
			return CFG_NODE_SCALAR;
		}
	}
	if (num_parse_double(text, -1e300, 1e300, &d) == 0)
		*kind = CFG_VALUE_NUMBER;
	else
		*kind = CFG_VALUE_STRING;
	return CFG_NODE_SCALAR;
}

struct yaml_ctx {
	yaml_parser_t parser;
	struct cfg_diag *diag;
	int nodes;
};

static int yaml_fail(struct yaml_ctx *y, const yaml_mark_t *mark, const char *msg)
{
	y->diag->line = (int)mark->line + 1;
	y->diag->column = (int)mark->column + 1;
	if (buf_copy(y->diag->message, sizeof(y->diag->message), msg) != 0)
		y->diag->message[0] = '\0';
	return -EINVAL;
}

static int next_event(struct yaml_ctx *y, yaml_event_t *ev)
{
	if (!yaml_parser_parse(&y->parser, ev)) {
		char msg[CFG_DIAG_TEXT_MAX];
		const char *problem = y->parser.problem ? y->parser.problem : "unknown problem";

		if (y->parser.error == YAML_MEMORY_ERROR)
			return -ENOMEM;
		if (y->parser.context != NULL)
			snprintf(msg, sizeof(msg), "invalid YAML: %s %s", problem,
				 y->parser.context);
		else
			snprintf(msg, sizeof(msg), "invalid YAML: %s", problem);
		return yaml_fail(y, &y->parser.problem_mark, msg);
	}
	return 0;
}

static int parse_node(struct yaml_ctx *y, yaml_event_t *ev, int depth, struct cfg_node **out);

/* Reads children until the closing event of a mapping or sequence. */
static int parse_children(struct yaml_ctx *y, struct cfg_node *parent, int depth)
{
	struct cfg_node **tail = &parent->child;
	yaml_event_type_t end =
		parent->type == CFG_NODE_MAP ? YAML_MAPPING_END_EVENT : YAML_SEQUENCE_END_EVENT;

	for (;;) {
		yaml_event_t ev;
		char *key = NULL;
		int key_line = 0, key_column = 0;
		int r = next_event(y, &ev);

		if (r != 0)
			return r;
		if (ev.type == end) {
			yaml_event_delete(&ev);
			return 0;
		}
		if (parent->type == CFG_NODE_MAP) {
			if (ev.type != YAML_SCALAR_EVENT) {
				r = yaml_fail(y, &ev.start_mark,
					      "a mapping key must be a plain word, not a mapping "
					      "or list");
				yaml_event_delete(&ev);
				return r;
			}
			if (ev.data.scalar.length > CFG_SCALAR_MAX) {
				r = yaml_fail(y, &ev.start_mark, "key is too long");
				yaml_event_delete(&ev);
				return r;
			}
			key = strdup((const char *)ev.data.scalar.value);
			key_line = (int)ev.start_mark.line + 1;
			key_column = (int)ev.start_mark.column + 1;
			yaml_event_delete(&ev);
			if (key == NULL)
				return -ENOMEM;
			r = next_event(y, &ev);
			if (r != 0) {
				free(key);
				return r;
			}
		}
		struct cfg_node *child = NULL;

		r = parse_node(y, &ev, depth + 1, &child);
		yaml_event_delete(&ev);
		if (r != 0) {
			free(key);
			return r;
		}
		child->key = key;
		child->key_line = key_line;
		child->key_column = key_column;
		*tail = child;
		tail = &child->next;
	}
}

static int parse_node(struct yaml_ctx *y, yaml_event_t *ev, int depth, struct cfg_node **out)
{
	struct cfg_node *n;
	int r;

	if (depth > CFG_TREE_DEPTH_MAX)
		return yaml_fail(y, &ev->start_mark, "the document is nested too deeply");
	if (++y->nodes > CFG_TREE_NODES_MAX)
		return yaml_fail(y, &ev->start_mark, "the document has too many entries");
	if (ev->type == YAML_ALIAS_EVENT)
		return yaml_fail(y, &ev->start_mark,
				 "YAML aliases are not supported: write the value out");
	if (ev->type != YAML_SCALAR_EVENT && ev->type != YAML_MAPPING_START_EVENT &&
	    ev->type != YAML_SEQUENCE_START_EVENT)
		return yaml_fail(y, &ev->start_mark, "unexpected YAML event");

	n = calloc(1, sizeof(*n));
	if (n == NULL)
		return -ENOMEM;
	n->line = (int)ev->start_mark.line + 1;
	n->column = (int)ev->start_mark.column + 1;
	if (ev->type == YAML_SCALAR_EVENT) {
		const char *text = (const char *)ev->data.scalar.value;

		if (ev->data.scalar.length > CFG_SCALAR_MAX) {
			free(n);
			return yaml_fail(y, &ev->start_mark, "value is too long");
		}
		if (strlen(text) != ev->data.scalar.length) {
			free(n);
			return yaml_fail(y, &ev->start_mark, "value contains a NUL byte");
		}
		if (ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE &&
		    ev->data.scalar.tag == NULL) {
			n->type = cfg_plain_scalar_type(text, &n->kind);
		} else {
			n->type = CFG_NODE_SCALAR;
			n->kind = CFG_VALUE_STRING;
		}
		n->text = strdup(text);
		if (n->text == NULL) {
			free(n);
			return -ENOMEM;
		}
		*out = n;
		return 0;
	}
	n->type = ev->type == YAML_MAPPING_START_EVENT ? CFG_NODE_MAP : CFG_NODE_SEQ;
	r = parse_children(y, n, depth);
	if (r != 0) {
		cfg_node_free(n);
		return r;
	}
	*out = n;
	return 0;
}

int cfg_yaml_parse(const char *text, size_t len, struct cfg_node **out, struct cfg_diag *diag)
{
	struct yaml_ctx y = { .diag = diag };
	struct cfg_node *root = NULL;
	yaml_event_t ev;
	int r;

	if (!yaml_parser_initialize(&y.parser))
		return -ENOMEM;
	yaml_parser_set_input_string(&y.parser, (const unsigned char *)text, len);
	/* STREAM-START, then DOCUMENT-START or STREAM-END for an empty file. */
	r = next_event(&y, &ev);
	if (r != 0)
		goto out_parser;
	yaml_event_delete(&ev);
	r = next_event(&y, &ev);
	if (r != 0)
		goto out_parser;
	if (ev.type == YAML_STREAM_END_EVENT) {
		yaml_event_delete(&ev);
		root = calloc(1, sizeof(*root));
		if (root == NULL) {
			r = -ENOMEM;
			goto out_parser;
		}
		root->type = CFG_NODE_MAP;
		root->line = 1;
		root->column = 1;
		*out = root;
		goto out_parser;
	}
	yaml_event_delete(&ev);
	r = next_event(&y, &ev);
	if (r != 0)
		goto out_parser;
	r = parse_node(&y, &ev, 0, &root);
	yaml_event_delete(&ev);
	if (r != 0)
		goto out_parser;
	/* DOCUMENT-END, then STREAM-END: a second document is an error. */
	r = next_event(&y, &ev);
	if (r != 0)
		goto out_root;
	yaml_event_delete(&ev);
	r = next_event(&y, &ev);
	if (r != 0)
		goto out_root;
	if (ev.type != YAML_STREAM_END_EVENT) {
		r = yaml_fail(&y, &ev.start_mark, "the file holds more than one YAML document");
		yaml_event_delete(&ev);
		goto out_root;
	}
	yaml_event_delete(&ev);
	*out = root;
	r = 0;
	goto out_parser;
out_root:
	cfg_node_free(root);
out_parser:
	yaml_parser_delete(&y.parser);
	return r;
}

int cfg_edit_distance(const char *a, const char *b)
{
	enum {
		MAXLEN = 255
	};
	int prev[MAXLEN + 1], cur[MAXLEN + 1];
	size_t la = strnlen(a, MAXLEN), lb = strnlen(b, MAXLEN);

	for (size_t j = 0; j <= lb; j++)
		prev[j] = (int)j;
	for (size_t i = 1; i <= la; i++) {
		cur[0] = (int)i;
		for (size_t j = 1; j <= lb; j++) {
			int cost = a[i - 1] == b[j - 1] ? 0 : 1;
			int best = prev[j - 1] + cost;

			if (prev[j] + 1 < best)
				best = prev[j] + 1;
			if (cur[j - 1] + 1 < best)
				best = cur[j - 1] + 1;
			cur[j] = best;
		}
		memcpy(prev, cur, sizeof(int) * (lb + 1));
	}
	return prev[lb];
}
