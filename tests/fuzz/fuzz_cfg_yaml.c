/*
 * Fuzz target: any bytes as a configuration file must give a configuration or diagnostics,
 * never a crash, a leak or a hang.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "cfg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cfg *c = malloc(sizeof(*c));
	struct cfg_diags *d = malloc(sizeof(*d));
	char *const envp[] = { "PATRONI_NAME=fuzz", NULL };

	if (c != NULL && d != NULL) {
		cfg_diags_init(d);
		(void)cfg_load_text("fuzz.yml", (const char *)data, size, envp, c, d);
		for (int i = 0; i < d->count; i++) {
			char line[2048];

			(void)cfg_diag_format(&d->items[i], true, line, sizeof(line));
		}
	}
	free(c);
	free(d);
	return 0;
}
