/* credentials.c: the upload credentials, loaded once, wiped after use. */
#include "config.h"

#include "credentials.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "util.h"

static const char *const secret_vars[] = { "SIPROF_UPLOAD_TENANT", "SIPROF_UPLOAD_USER",
					   "SIPROF_UPLOAD_PASSWORD", "SIPROF_UPLOAD_TOKEN",
					   "SIPROF_UPLOAD_AUTH_FILE" };
/* What credentials_hide took out of the environment. */
static struct credentials hidden;
static bool have_hidden;

static void
wipe(char *s)
{
	if (s != NULL) {
		explicit_bzero(s, strlen(s));
		free(s);
	}
}

static void
set_secret(char **slot, const char *value)
{
	wipe(*slot);
	*slot = value != NULL && *value != '\0' ? xstrdup(value) : NULL;
}

bool
credentials_load(struct credentials *a, const char *file, char **cause)
{
	struct stat st;
	char line[4096], fbuf[BUFSIZ];
	bool ok = false;
	FILE *f;
	int n = 0;

	memset(a, 0, sizeof *a);
	if (have_hidden) {
		*a = hidden;
		memset(&hidden, 0, sizeof hidden);
		have_hidden = false;
	} else {
		set_secret(&a->tenant, getenv("SIPROF_UPLOAD_TENANT"));
		set_secret(&a->user, getenv("SIPROF_UPLOAD_USER"));
		set_secret(&a->password, getenv("SIPROF_UPLOAD_PASSWORD"));
		set_secret(&a->token, getenv("SIPROF_UPLOAD_TOKEN"));
	}
	if (file == NULL)
		return true;
	f = fopen(file, "r");
	if (f == NULL) {
		set_cause(cause, "cannot read the credentials file '%s': %s", file, strerror(errno));
		return false;
	}
	/* stdio's buffer is ours, to be wiped too. */
	setvbuf(f, fbuf, _IOFBF, sizeof fbuf);
	if (fstat(fileno(f), &st) == 0 && (st.st_mode & 077) != 0) {
		fclose(f);
		set_cause(cause, "the credentials file '%s' can be read by others: chmod 600 it", file);
		return false;
	}
	while (fgets(line, sizeof line, f) != NULL) {
		char *eq = strchr(line, '='), *v, *end;

		n++;
		if (strchr(line, '\n') == NULL && !feof(f)) {
			/* Cut by the buffer: its rest would be read as a line of its
			 * own, and its words (a secret's) shown in a message. */
			set_cause(cause, "%s:%d: the line is longer than %zu bytes", file, n,
				  sizeof line - 2);
			goto out;
		}
		line[strcspn(line, "\r\n")] = '\0';
		if (line[0] == '\0' || line[0] == '#')
			continue;
		if (eq == NULL) {
			set_cause(cause, "%s:%d: expected KEY=VALUE (tenant, user, password, token)", file, n);
			goto out;
		}
		*eq = '\0';
		v = eq + 1;
		for (end = eq; end > line && isspace((unsigned char)end[-1]); end--)
			end[-1] = '\0';
		if (strcmp(line, "tenant") == 0)
			set_secret(&a->tenant, v);
		else if (strcmp(line, "user") == 0)
			set_secret(&a->user, v);
		else if (strcmp(line, "password") == 0)
			set_secret(&a->password, v);
		else if (strcmp(line, "token") == 0)
			set_secret(&a->token, v);
		else {
			/* Not echoed: a line mistyped may be a secret. */
			set_cause(cause, "%s:%d: unknown key (tenant, user, password, token)", file, n);
			goto out;
		}
	}
	ok = true;
out:
	/* What was read holds secrets: no copy of it stays behind. */
	explicit_bzero(line, sizeof line);
	fclose(f);
	explicit_bzero(fbuf, sizeof fbuf);
	return ok;
}

void
credentials_release(struct credentials *a)
{
	wipe(a->tenant);
	wipe(a->user);
	wipe(a->password);
	wipe(a->token);
	memset(a, 0, sizeof *a);
}

bool
credentials_hide(const char *file, char **cause)
{
	struct credentials a;

	if (!credentials_load(&a, file, cause)) {
		credentials_release(&a);
		return false;
	}
	for (size_t i = 0; i < ARRAY_SIZE(secret_vars); i++) {
		char *v = getenv(secret_vars[i]);

		/* The initial environment is also what /proc/PID/environ
		 * shows, to anyone who may read siprof's memory: wipe it. */
		if (v != NULL)
			explicit_bzero(v, strlen(v));
		unsetenv(secret_vars[i]);
	}
	credentials_release(&hidden);
	hidden = a;
	have_hidden = true;
	return true;
}
