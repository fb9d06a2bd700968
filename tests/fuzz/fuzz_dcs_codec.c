/*
 * libFuzzer target for the dcs codec: every parser of etcd replies gets arbitrary bytes, and so
 * every etcd document gsha reads (through the range and txn replies of the cluster read, the
 * member document parser, the history reader and the checks before a write).
 * The first byte picks the parser; the rest is the reply. Run: tests/fuzz/run (see meson).
 *
 * The documents, each reached directly by a first byte of 10 x k + 9 (k: the index in keys[]
 * below; tests/fuzz/corpus/dcs_codec/doc_* hold one seed each), which feeds the value to
 * dcs_docs_store_kv() as the cluster read does: config, sync, failover, status, history,
 * failsafe, leader, term, initialize, members/<name>, optime/leader. The config key is also
 * read by config/ (fuzz.cfg_dynamic) and gsctl (fuzz.ctl_yaml).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base64.h"
#include "dcs.h"
#include "dcs_codec.h"

#define PREFIX "/service/batman/"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct dcs_cluster cluster;
	struct dcs_watch_result w;
	struct dcs_status st;
	struct dcs_member m;
	char msg[DCS_MSG_MAX], text[DCS_SECRET_MAX];
	const char *body;
	uint64_t id;
	int64_t a, b;
	bool ok;
	char *copy;
	size_t n;

	if (size < 1)
		return 0;
	n = size - 1;
	/* A NUL-terminated copy, so parsers that see text past len would be caught by ASan. */
	copy = malloc(n + 1);
	if (copy == NULL)
		return 0;
	memcpy(copy, data + 1, n);
	copy[n] = '\0';
	body = copy;
	switch (data[0] % 10) {
	case 0:
		(void)dcs_codec_parse_cluster(body, n, PREFIX, &cluster, msg, sizeof(msg));
		break;
	case 1:
		(void)dcs_codec_parse_watch(body, n, PREFIX, &w, msg, sizeof(msg));
		break;
	case 2:
		(void)dcs_codec_parse_txn(body, n, &ok, &a, msg, sizeof(msg));
		break;
	case 3:
		(void)dcs_codec_parse_keepalive(body, n, &id, &a, msg, sizeof(msg));
		(void)dcs_codec_parse_lease_grant(body, n, &id, &a, msg, sizeof(msg));
		break;
	case 4:
		dcs_codec_status(400 + (long)(n % 200), body, n, &st);
		break;
	case 5:
		(void)dcs_codec_parse_auth(body, n, text, sizeof(text), msg, sizeof(msg));
		(void)dcs_codec_parse_version(body, n, text, sizeof(text), msg, sizeof(msg));
		break;
	case 6:
		memset(&m, 0, sizeof(m));
		dcs_codec_parse_member_doc(body, n, &m);
		break;
	case 7: {
		static char keys[4][DCS_KEY_MAX];
		int count;

		(void)dcs_codec_parse_range_latest(body, n, &a, &b, msg, sizeof(msg));
		(void)dcs_codec_parse_header(body, n, &a, msg, sizeof(msg));
		/* the member keys listed one by one when members/ holds more than one reply */
		(void)dcs_codec_parse_keys(body, n, PREFIX, keys, 4, &count, msg, sizeof(msg));
		break;
	}
	case 8: {
		char out[DCS_VALUE_MAX / 64];
		(void)base64_decode(body, n, out, sizeof(out), &n);
		break;
	}
	default: {
		/* A value checked before a write, or a history list appended to. */
		static const char *const keys[] = { "config",	  "sync",	  "failover",
						    "status",	  "history",	  "failsafe",
						    "leader",	  "term",	  "initialize",
						    "members/n1", "optime/leader" };
		static const struct dcs_history_row row = { 2, 100, "r", "2026-11-21T05:34:50Z",
							    "n1" };
		char *out = malloc(DCS_HISTORY_MAX + 1);
		struct dcs_history_row rows[8];
		int count, total;

		(void)dcs_docs_check(keys[(data[0] / 10) % 11], body, msg, sizeof(msg));
		/* the history as gsctl history and GET /history read it */
		(void)dcs_history_parse(body, rows, 1 + data[0] % 8, &count, &total, msg,
					sizeof(msg));
		if (out != NULL)
			(void)dcs_doc_history_append(body, &row, data[0] % 4, out,
						     DCS_HISTORY_MAX + 1, msg, sizeof(msg));
		free(out);
		break;
	}
	}
	free(copy);
	return 0;
}
