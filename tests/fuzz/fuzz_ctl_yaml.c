/*
 * fuzz_ctl_yaml.c - gsctl's hostile-input paths: a YAML document (an edited configuration, an
 * --apply file) to JSON, back to YAML and to JSON again, which must give the same JSON (what
 * show-config prints reads back as what is stored), merged onto itself as --apply does; and the
 * same bytes as a history key.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "../../ctl/ctl.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct buf json, yaml, again, out;
	char err[256];
	char *text = malloc(size + 1);

	if (text == NULL)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	buf_init(&json, CTL_DOC_MAX);
	buf_init(&yaml, CTL_DOC_MAX);
	buf_init(&again, CTL_DOC_MAX);
	buf_init(&out, CTL_DOC_MAX);
	if (ctl_yaml_to_json(text, strlen(text), &json, err, sizeof(err)) == 0 &&
	    ctl_json_to_yaml(json.data, &yaml) == 0) {
		if (ctl_yaml_to_json(yaml.data, yaml.len, &again, err, sizeof(err)) != 0)
			abort(); /* show-config printed something that does not read back */
		cJSON *a = cJSON_Parse(json.data), *b = cJSON_Parse(again.data);

		if (a == NULL || b == NULL || !cJSON_Compare(a, b, true))
			abort(); /* a value changed meaning on the way (key order may differ) */
		cJSON_Delete(a);
		cJSON_Delete(b);
		(void)ctl_diff(yaml.data, text, "", "", &out);
		/* --apply of the document onto itself (json_merge.h): an object merges, and the
		 * result is the object again */
		buf_reset(&out);
		if (json.data[0] == '{' &&
		    ctl_config_merge(json.data, json.data, &out, err, sizeof(err)) == 0) {
			cJSON *m = cJSON_Parse(out.data), *j = cJSON_Parse(json.data);

			if (m == NULL || j == NULL)
				abort();
			cJSON_Delete(m);
			cJSON_Delete(j);
		}
		buf_reset(&out);
	}
	buf_reset(&out);
	(void)ctl_render_history(text, CTL_FORMAT_PRETTY, &out);
	buf_reset(&out);
	(void)ctl_render_history(text, CTL_FORMAT_JSON, &out);
	buf_done(&json);
	buf_done(&yaml);
	buf_done(&again);
	buf_done(&out);
	free(text);
	return 0;
}
