/* svcver: MySQL and Redis versions per distribution release. */
#include "chaff/svcver.h"

#include <string.h>

static const struct {
	const char *keys[4];	/* any in the preset name, banners or OS name */
	struct svcver v;
} releases[] = {
	{ { "linux-5.4", "ubuntu0.20.04", "OpenSSH_8.2p1 Ubuntu", "20.04" },
	  { "8.0.35-0ubuntu0.20.04.1", "5.0.7", "Linux 5.4.0-150-generic x86_64", "9.3.0",
	    "3.4.13" } },
	{ { "linux-4.15", "18.04", "OpenSSH_7.6p1 Ubuntu", "1.14.0 (Ubuntu)" },
	  { "5.7.42-0ubuntu0.18.04.1", "4.0.9", "Linux 4.15.0-213-generic x86_64", "7.4.0",
	    "3.3.0" } },
	{ { "linux-3", "deb9", "Debian GNU/Linux 9", "Exim 4.89" },
	  { "5.5.5-10.1.48-MariaDB-0+deb9u2", "3.2.6", "Linux 4.9.0-19-amd64 x86_64", "6.3.0",
	    "3.1.15" } },
	{ { "linux-2.6", "CentOS", "el6", NULL },
	  { "5.1.73", "3.2.12", "Linux 2.6.32-754.el6.x86_64 x86_64", "4.4.7", "2.6.6" } },
	{ { "freebsd", "FreeBSD", NULL, NULL },
	  { "8.0.35", "7.0.15", "FreeBSD 12.1-RELEASE amd64", "4.2.1", "3.4.9" } },
	{ { "openbsd", "OpenBSD", NULL, NULL },
	  { "5.5.5-10.0.34-MariaDB", "4.0.8", "OpenBSD 6.3 amd64", "4.2.1", "3.2.5" } },
	{ { "macos", "macOS", "Darwin", NULL },
	  { "8.0.33", "7.0.11", "Darwin 18.6.0 x86_64", "4.2.1", "3.2.2" } },
	{ { "windows", "Windows", NULL, NULL },
	  { "8.0.34", "3.0.504", "Windows", "0.0.0", "3.7.10" } },
};

static const struct svcver upstream = {
	"8.0.36", "7.2.4", "Linux 6.1.0-18-amd64 x86_64", "12.2.0", "3.7.10",
};

static bool
has(const char *s, const char *key)
{
	return s && key && strstr(s, key);
}

void
svcver_for(const struct persona *p, struct svcver *ret)
{
	const char *where[] = { p->name, p->svc.ssh_banner, p->svc.http_server,
				p->svc.telnet_banner, p->svc.smtp_banner, p->os };

	for (size_t i = 0; i < sizeof(releases) / sizeof(releases[0]); i++)
		for (size_t w = 0; w < sizeof(where) / sizeof(where[0]); w++)
			for (size_t k = 0; k < 4; k++)
				if (has(where[w], releases[i].keys[k])) {
					*ret = releases[i].v;
					return;
				}
	*ret = upstream;
}
