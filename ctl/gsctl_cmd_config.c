/*
 * gsctl_cmd_config.c - the dynamic configuration: show-config, and edit-config with $EDITOR,
 * --set/--pg, --apply or --replace, a diff, a confirmation and a compare-and-swap write.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/wait.h>

#include <cjson/cJSON.h>

#include "buf.h"
#include "clock.h"
#include "gsctl.h"

int ctl_cmd_show_config(struct ctl *x)
{
	struct buf out;
	int rc = ctl_read_cluster(x);

	if (rc != 0)
		return rc;
	if (!x->cluster->has_config || x->cluster->config_oversized) {
		ctl_say_error("cluster \"%s\" has no%s configuration key", x->scope,
			      x->cluster->has_config ? " readable" : "");
		return CTL_EXIT_FAILED;
	}
	buf_init(&out, CTL_DOC_MAX);
	rc = ctl_json_to_yaml(x->cluster->config, &out);
	if (rc == 0)
		fputs(out.data != NULL ? out.data : "", stdout);
	else
		ctl_say_error("the configuration key is not valid JSON");
	buf_done(&out);
	return rc == 0 ? 0 : CTL_EXIT_FAILED;
}

/* Reads a whole file ("-" = stdin) into out. */
static int read_file(const char *path, struct buf *out)
{
	FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "r");
	char chunk[8192];
	size_t n;
	int rc = 0;

	if (f == NULL) {
		ctl_say_error("could not open \"%s\": %s", path, strerror(errno));
		return -errno;
	}
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		if (buf_append(out, chunk, n) != 0) {
			ctl_say_error("\"%s\" is larger than %d bytes", path, CTL_DOC_MAX);
			rc = -EFBIG;
			break;
		}
	if (f != stdin)
		fclose(f);
	if (rc == 0 && out->data == NULL)
		rc = buf_puts(out, "");
	return rc;
}

/* Lets the operator edit yaml in $EDITOR; writes the edited text into out. */
static int run_editor(const char *yaml, struct buf *out)
{
	char path[] = "/tmp/gsctl-config-XXXXXX.yaml";
	const char *editor = getenv("EDITOR");
	char cmd[EDITOR_CMD_MAX];
	int fd, status, rc;
	size_t len = strlen(yaml);

	if (editor == NULL || editor[0] == '\0')
		editor = getenv("VISUAL");
	if (editor == NULL || editor[0] == '\0')
		editor = "vi";
	fd = mkstemps(path, 5);
	if (fd < 0) {
		ctl_say_error("could not create a temporary file: %s", strerror(errno));
		return -errno;
	}
	if (write(fd, yaml, len) != (ssize_t)len) {
		ctl_say_error("could not write %s: %s", path, strerror(errno));
		close(fd);
		unlink(path);
		return -EIO;
	}
	close(fd);
	if (buf_format(cmd, sizeof(cmd), "%s \"$1\"", editor) != 0) {
		unlink(path);
		ctl_say_error("$EDITOR is too long");
		return -E2BIG;
	}
	pid_t pid = fork();

	if (pid == 0) {
		execl("/bin/sh", "sh", "-c", cmd, "sh", path, (char *)NULL);
		_exit(127);
	}
	if (pid < 0 || waitpid(pid, &status, 0) < 0) {
		unlink(path);
		ctl_say_error("could not run the editor: %s", strerror(errno));
		return -EIO;
	}
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		unlink(path);
		ctl_say_error("the editor (%s) failed (status %d): nothing changed", editor,
			      WIFEXITED(status) ? WEXITSTATUS(status) : -1);
		return -EIO;
	}
	rc = read_file(path, out);
	unlink(path);
	return rc;
}

int ctl_cmd_edit_config(struct ctl *x)
{
	struct buf next, tmp, old_yaml, new_yaml, diff;
	char err[512], msg[DCS_MSG_MAX];
	const char *old_json;
	struct cfg_dynamic dyn;
	int rc = ctl_read_cluster(x), result = CTL_EXIT_FAILED;
	int64_t rev;

	if (rc != 0)
		return rc;
	if (x->cluster->has_config && (x->cluster->config_oversized || !x->cluster->config_valid)) {
		ctl_say_error("the configuration key of \"%s\" is not a readable JSON object",
			      x->scope);
		return CTL_EXIT_FAILED;
	}
	old_json = x->cluster->has_config ? x->cluster->config : "{}";
	rev = x->cluster->has_config ? x->cluster->config_mod_revision : DCS_CAS_ABSENT;
	buf_init(&next, CTL_DOC_MAX);
	buf_init(&tmp, CTL_DOC_MAX);
	buf_init(&old_yaml, CTL_DOC_MAX);
	buf_init(&new_yaml, CTL_DOC_MAX);
	buf_init(&diff, CTL_DOC_MAX);
	if (ctl_json_to_yaml(old_json, &old_yaml) != 0) {
		ctl_say_error("the configuration key is not valid JSON");
		goto out;
	}
	if (x->args.replace_file[0] != '\0' || x->args.apply_file[0] != '\0') {
		const char *file =
			x->args.replace_file[0] ? x->args.replace_file : x->args.apply_file;

		if (read_file(file, &tmp) != 0)
			goto out;
		if (ctl_yaml_to_json(tmp.data, tmp.len, &next, err, sizeof(err)) != 0) {
			ctl_say_error("%s: %s", file, err);
			goto out;
		}
		if (next.data[0] != '{') {
			ctl_say_error("%s: the document is not a mapping of keys to values", file);
			goto out;
		}
		if (x->args.apply_file[0] != '\0') {
			buf_reset(&tmp);
			if (ctl_config_merge(old_json, next.data, &tmp, err, sizeof(err)) != 0) {
				ctl_say_error("%s", err);
				goto out;
			}
			buf_reset(&next);
			buf_puts(&next, tmp.data);
		}
	} else if (x->args.set_count == 0) {
		const char *ed = getenv("EDITOR") != NULL ? getenv("EDITOR") : getenv("VISUAL");

		if ((ed == NULL || ed[0] == '\0') && !isatty(STDIN_FILENO)) {
			ctl_say_error(
				"edit-config without --set, --pg, --apply or --replace opens an "
				"editor, but stdin is not a terminal and $EDITOR is not set");
			result = CTL_EXIT_NO_TERMINAL;
			goto out;
		}
		if (run_editor(old_yaml.data, &tmp) != 0)
			goto out;
		if (ctl_yaml_to_json(tmp.data, tmp.len, &next, err, sizeof(err)) != 0) {
			ctl_say_error("the edited configuration is not valid YAML: %s", err);
			goto out;
		}
		if (next.data[0] != '{') {
			ctl_say_error(
				"the edited configuration is not a mapping of keys to values");
			goto out;
		}
	} else {
		buf_puts(&next, old_json);
	}
	if (x->args.set_count > 0) {
		buf_reset(&tmp);
		if (ctl_config_set(next.data, (const char(*)[CTL_SET_MAX])x->args.sets,
				   x->args.set_count, &tmp, err, sizeof(err)) != 0) {
			ctl_say_error("%s", err);
			goto out;
		}
		buf_reset(&next);
		buf_puts(&next, tmp.data);
	}
	if (next.overflow) {
		ctl_say_error("the new configuration is larger than %d bytes", CTL_DOC_MAX);
		goto out;
	}
	if (cfg_dynamic_parse(next.data, next.len, &dyn, err, sizeof(err)) != 0) {
		ctl_say_error("the new configuration is not valid, nothing was written: %s", err);
		goto out;
	}
	if (ctl_json_to_yaml(next.data, &new_yaml) != 0 ||
	    ctl_diff(old_yaml.data, new_yaml.data, "", "", &diff) != 0) {
		ctl_say_error("could not compare the configurations");
		goto out;
	}
	if (diff.len == 0) {
		printf("Not changed\n");
		result = 0;
		goto out;
	}
	if (!x->args.quiet)
		fputs(diff.data, stdout);
	fflush(stdout);
	rc = ctl_confirm(x, "Apply these changes?");
	if (rc != 0) {
		result = rc;
		goto out;
	}
	rc = dcs_cas_config(x->dcs, next.data, rev, NULL, msg, sizeof(msg));
	if (rc == DCS_ERR_CONFLICT) {
		ctl_say_error("the configuration changed in etcd after gsctl read it (a concurrent "
			      "edit): nothing was written, run edit-config again");
		result = CTL_EXIT_FAILED;
	} else if (rc != 0) {
		ctl_say_error("could not write the configuration to etcd: %s: %s", dcs_strerror(rc),
			      msg);
		result = CTL_EXIT_DCS;
	} else {
		printf("Configuration changed\n");
		result = 0;
	}
out:
	buf_done(&next);
	buf_done(&tmp);
	buf_done(&old_yaml);
	buf_done(&new_yaml);
	buf_done(&diff);
	return result;
}
