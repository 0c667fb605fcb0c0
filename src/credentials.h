/* credentials.h: the upload credentials, from the environment or a file.
 *
 * They never appear in output or on a command line: the caller passes
 * them to the server and nowhere else, and releases them wiped. */
#ifndef SIPROF_CREDENTIALS_H
#define SIPROF_CREDENTIALS_H

#include <stdbool.h>

struct credentials {
	char *tenant;   /* X-Scope-OrgID */
	char *user;     /* HTTP Basic, with password */
	char *password;
	char *token;    /* Authorization: Bearer */
};

/* Credentials from the environment (SIPROF_UPLOAD_TENANT, _USER,
 * _PASSWORD, _TOKEN) and then from file (lines KEY=VALUE with keys
 * tenant, user, password, token), which must not be readable by others.
 * Returns false with *cause set when the file is unusable; c is then to be
 * released all the same. */
bool credentials_load(struct credentials *c, const char *file, char **cause);
/* Wipe and free them. */
void credentials_release(struct credentials *c);
/* Before siprof starts a command: load the credentials now, as
 * credentials_load does, and remove SIPROF_UPLOAD_TENANT, _USER, _PASSWORD,
 * _TOKEN and _AUTH_FILE from the environment (their values wiped, also
 * from /proc/PID/environ), so that the command never sees them; the next
 * credentials_load gets them from memory. */
bool credentials_hide(const char *file, char **cause);

#endif
