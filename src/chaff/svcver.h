/*
 * svcver: which version of MySQL and Redis a decoy's system would run, so
 * that a version string matches the rest of the host (an Ubuntu 20.04 decoy
 * runs Ubuntu's MySQL 8.0 and Redis 5.0.7, a Debian 9 one MariaDB 10.1, a
 * CentOS 6 one MySQL 5.1), taken from the distribution packages of that
 * release.
 *
 * The release is recognised from the personality's preset name, or for
 * fingerprint decoys from its banners and OS name (SSH "Ubuntu-4ubuntu0",
 * "Debian-10+deb9u7", a CentOS telnet banner...); anything unrecognised
 * gets current upstream versions.
 */
#ifndef MOAT_CHAFF_SVCVER_H
#define MOAT_CHAFF_SVCVER_H

#include "chaff/persona.h"

struct svcver {
	const char *mysql;	/* server version as the handshake carries it */
	const char *redis;	/* redis_version */
	const char *redis_os;	/* INFO's os: line */
	const char *redis_gcc;	/* INFO's gcc_version: line */
	const char *postfix;	/* Postfix release (its EHLO keywords change with it) */
};

void svcver_for(const struct persona *p, struct svcver *ret);

#endif
