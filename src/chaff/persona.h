/*
 * persona: a decoy's operating-system personality, as concrete values.
 *
 * A personality is built from one nmap-os-db fingerprint (osdb.h): for every
 * probe class nmap tells apart — the six SEQ SYNs, the ECN SYN, T2..T7, the
 * U1 UDP probe and the IE echoes — the fields of the answer (whether there is
 * one, DF, TTL, window, sequence and acknowledgement rules, flags, TCP option
 * string, quirks), plus the ISN generator (rate, spread, GCD), the IP ID
 * behaviour per traffic class, and the timestamp clock rate. The responder
 * applies the same values to ordinary traffic, not only to nmap's probes.
 *
 * Presets are a static table: a short name ("linux-5.4"), the fingerprint
 * name in nmap-os-db, the vendor OUI for the decoys' MACs (from
 * nmap-mac-prefixes) and service banners that fit the system.
 */
#ifndef MOAT_CHAFF_PERSONA_H
#define MOAT_CHAFF_PERSONA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "chaff/osdb.h"

struct vendor_profile;

enum persona_ipid {
	PERSONA_IPID_ZERO,	/* Z */
	PERSONA_IPID_INC,	/* I: +1 per packet */
	PERSONA_IPID_BI,	/* BI: +256 per packet (byte-swapped counter) */
	PERSONA_IPID_RI,	/* RI: random positive increments */
	PERSONA_IPID_RD,	/* RD: random */
	PERSONA_IPID_CONST,	/* a fixed hex value */
};

enum persona_seq { PERSONA_SEQ_ZERO, PERSONA_SEQ_ACK, PERSONA_SEQ_ACK1, PERSONA_SEQ_OTHER };
enum persona_ack { PERSONA_ACK_ZERO, PERSONA_ACK_SEQ, PERSONA_ACK_SEQ1, PERSONA_ACK_OTHER };

/* Index of the TCP answers in struct persona. */
enum persona_probe {
	PERSONA_SEQ1, PERSONA_SEQ2, PERSONA_SEQ3, PERSONA_SEQ4, PERSONA_SEQ5, PERSONA_SEQ6,
	PERSONA_ECN,
	PERSONA_T2, PERSONA_T3, PERSONA_T4, PERSONA_T5, PERSONA_T6, PERSONA_T7,
	PERSONA_NPROBES
};

struct persona_tcp {
	bool respond;
	bool df;
	uint8_t ttl;
	uint8_t flags;		/* FRAME_TCP_* */
	uint8_t seq;		/* enum persona_seq */
	uint8_t ack;		/* enum persona_ack */
	bool quirk_reserved;	/* Q=R: a reserved bit set */
	bool quirk_urgent;	/* Q=U: urgent pointer without URG */
	uint16_t win;
	char opts[40];		/* nmap option string, e.g. "M5B4ST11NW7" */
};

struct persona_u1 {
	bool respond, df;
	uint8_t ttl;
	uint16_t ipl;		/* total length of our ICMP error */
	uint32_t un;		/* the ICMP "unused" word */
	int32_t ripl;		/* -1: quote the length as sent */
	int32_t rid;		/* -1: quote the IP ID as sent */
	char ripck;		/* 'G' good, 'Z' zero, 'I' invalid */
	int32_t ruck;		/* -1: quote the UDP checksum as sent */
	char rud;		/* 'G' data as sent, 'I' altered */
};

struct persona_ie {
	bool respond;
	char dfi;		/* 'N' never DF, 'S' as sent, 'Y' always, 'O' inverted */
	uint8_t ttl;
	char cd;		/* 'Z' code 0, 'S' code as sent, 'V' the fixed value cd_val */
	uint8_t cd_val;
};

struct persona_services {
	const char *http_server;	/* Server: header */
	const char *ssh_banner;		/* SSH identification string */
	const char *ftp_banner;
	const char *telnet_banner;
	const char *smtp_banner;
};

struct persona {
	char name[32];			/* preset name */
	char os[OSDB_NAME_MAX];		/* nmap's fingerprint name = "OS details" */
	uint8_t oui[3];
	struct persona_services svc;
	/* What kind of device (vendor.h, set by vendor_persona() after
	 * persona_from_fp()): inferred from the fingerprint's Class line (a
	 * `fingerprint:` decoy also takes its OUI, banners and default ports
	 * from it) or named by a group's `vendor:`; family (enum
	 * vendor_family) decides the background traffic (bg.h). */
	const struct vendor_profile *vendor;
	uint8_t family;

	/* ISN: rate per second plus noise (spread x rate = the rate's std dev), in steps of gcd;
	 * random_isn when the rate is high enough that the stack is random. */
	double isn_rate;
	double isn_spread;
	uint32_t isn_gcd;
	bool random_isn;
	/* ISR and SP (nmap's units: 8 log2) the rate and spread come from, and
	 * how far one decoy may move each from it: a quarter of the
	 * fingerprint's range either way, so decoys of one personality differ
	 * while nmap still measures inside the range. */
	double isr, sp;
	uint8_t isr_var, sp_var;
	enum persona_ipid ti, ci, ii;	/* SYN/ACKs, RSTs, ICMP */
	bool ipid_per_conn;		/* established segments: a counter per connection
					 * from a random start (Linux's inet_id) */
	uint16_t ti_val, ci_val, ii_val;
	bool ss_shared;			/* one IP ID counter for TCP and ICMP */
	int32_t ts_hz;			/* TCP timestamp clock; 0 = always 0; -1 = no timestamps */
#define PERSONA_TS_RANDOM	(-2)	/* random offset per connection: seen as 2^ts_fast_log2 Hz */
	uint8_t ts_fast_log2;

	/* The OS family's TCP timers (persona.c os_timers(): Linux, Windows,
	 * the BSDs, others): the retransmission timeout of a SYN/ACK, the
	 * lower bound of a measured one, how often a SYN/ACK and data are
	 * retransmitted (doubling the timeout each time) before the
	 * connection is dropped; and whether the OS answers ICMP timestamp
	 * requests by default. */
	uint16_t rto_init_ms, rto_min_ms;
	uint8_t synack_retries, data_retries;
	bool icmp_tstamp;

	struct persona_tcp tcp[PERSONA_NPROBES];
	uint8_t ecn_cc;			/* 'Y','N','S','O' */
	struct persona_u1 u1;
	struct persona_ie ie;
};

struct persona_preset {
	const char *name;
	const char *fingerprint;	/* "Fingerprint" name in nmap-os-db */
	unsigned nth;			/* which of several fingerprints with that name */
	uint8_t oui[3];
	struct persona_services svc;
};

/* The preset table. */
size_t persona_preset_count(void);
const struct persona_preset *persona_preset_at(size_t i);
const struct persona_preset *persona_preset_find(const char *name);

/*
 * Build *ret from a fingerprint: preset gives the name, OUI and banners,
 * fp the network behaviour. -EINVAL with a message in err when the
 * fingerprint lacks what a responder needs or has a value it cannot send.
 */
int persona_from_fp(const struct persona_preset *preset, const struct osdb_fp *fp,
		    struct persona *ret, char *err, size_t errlen);

#endif
