/*
 * Fuzz target: the DCS "config" key and PATCH /config bodies are hostile. The input is split at
 * its first NUL into a stored document and a patch; both go through parse, render and merge.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "buf.h"
#include "cfg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *doc = (const char *)data;
	const char *nul = memchr(data, '\0', size);
	size_t doc_len = nul ? (size_t)(nul - doc) : size;
	const char *patch = nul ? nul + 1 : "{\"pause\":true}";
	size_t patch_len = nul ? size - doc_len - 1 : strlen(patch);
	struct cfg_dynamic d;
	struct buf out;
	char err[256];

	buf_init(&out, 1 << 20);
	if (cfg_dynamic_parse(doc, doc_len, &d, err, sizeof(err)) == 0)
		(void)cfg_dynamic_render(&d, &out);
	buf_reset(&out);
	(void)cfg_dynamic_merge_patch(doc, doc_len, patch, patch_len, &out, &d, err, sizeof(err));
	buf_done(&out);
	return 0;
}
