/*
 * kvtext.h - "Label:   value" lines, as pg_controldata (PostgreSQL's and openGauss's) prints them.
 */
#ifndef GSHA_KVTEXT_H
#define GSHA_KVTEXT_H

#include <stdbool.h>
#include <stddef.h>

/* Finds the line of text that starts with "label:" and copies its value, with spaces, tabs and
 * a carriage return trimmed around it, into out (cap bytes). False when there is no such line,
 * its value is empty, or it does not fit (out is then left as it was). */
bool kvtext_value(const char *text, const char *label, char *out, size_t cap);

#endif
