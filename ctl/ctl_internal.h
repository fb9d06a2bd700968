/*
 * ctl_internal.h - helpers shared by the files of ctl/ (not a public interface): a text table
 * in prettytable's layout and cJSON emitters in PyYAML's and Python json's layouts.
 */
#ifndef GSHA_CTL_INTERNAL_H
#define GSHA_CTL_INTERNAL_H

#include <stdbool.h>

#include <cjson/cJSON.h>

#include "buf.h"

#define CTL_TABLE_COLS_MAX 12	/* list has at most 9 columns */
#define CTL_TABLE_ROWS_MAX 1024 /* members (32) or history entries */

/* A table of text cells (multi-line allowed); cells are owned by the table. */
struct ctl_table {
	int cols, rows;
	const char *headers[CTL_TABLE_COLS_MAX]; /* static strings */
	bool right[CTL_TABLE_COLS_MAX];		 /* right-aligned (numbers) */
	char *cells[CTL_TABLE_ROWS_MAX][CTL_TABLE_COLS_MAX];
};

void ctl_table_init(struct ctl_table *t);
void ctl_table_done(struct ctl_table *t);
/* Adds a column; returns 0 or -ENOBUFS. */
int ctl_table_col(struct ctl_table *t, const char *header, bool right);
/* Sets a cell (copied); returns 0, -ENOBUFS or -ENOMEM. */
int ctl_table_cell(struct ctl_table *t, int row, int col, const char *text);
/* Renders the table with +---+ rules; title (may be NULL) replaces the start of the top rule,
 * as patronictl's "+ Cluster: ..." header does. Returns 0 or -ENOBUFS. */
int ctl_table_render(const struct ctl_table *t, const char *title, struct buf *out);

/* Appends v as a YAML flow value ({a: b, c: 1}, [x, y], a scalar). Returns 0 or nonzero. */
int ctl_yaml_flow(const cJSON *v, struct buf *out);
/* Appends v as block YAML (keys sorted), ending in a newline. Returns 0 or nonzero. */
int ctl_yaml_block(const cJSON *v, struct buf *out);
/* Appends v as Python's json.dumps writes it (", " and ": " separators). Returns 0 or nonzero. */
int ctl_json_python(const cJSON *v, struct buf *out);

#endif
