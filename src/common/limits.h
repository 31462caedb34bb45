/*
 * limits: every cap on a resource an attacker or a misconfiguration can
 * grow, in one place, each with the reason for its value. Parts add their
 * own section; keep one line of why per cap.
 */
#ifndef MOAT_LIMITS_H
#define MOAT_LIMITS_H

/* --- configuration --- */
/* A config file is hand-written YAML; 16 MiB is far past any real one. */
#define LIMIT_CONFIG_BYTES		(16u << 20)
/* Nesting deeper than this is a mistake or an attack on the parser's stack. */
#define LIMIT_CONFIG_DEPTH		32u

/* --- engine: protected objects and the REST API --- */
/* A PO name is an identifier in URLs and logs. */
#define LIMIT_PO_NAME			64u
/* Prefixes per PO; large estates use several POs. */
#define LIMIT_PO_PREFIXES		4096u
/* Ports listed per PO. */
#define LIMIT_PO_PORTS			64u
/* POs in total; the LPM is sized for millions of prefixes, POs are fewer. */
#define LIMIT_POS			100000u
/* REST request body: a PO with 4096 prefixes is ~200 KiB of JSON. */
#define LIMIT_API_BODY			(1u << 20)
/* REST restore body: a whole backup file. */
#define LIMIT_API_RESTORE_BODY		(256u << 20)
/* The dashboard's static files in memory together (the app and its libraries are ~150 KiB). */
#define LIMIT_WWW_BYTES			(8u << 20)
/* Dashboard traffic history: points per PO (5 min at one reading a second). */
#define LIMIT_HISTORY_POINTS		300u
/* ... and POs with a history (the lowest ids): 64 x 300 points is ~1.3 MiB. */
#define LIMIT_HISTORY_POS		64u
/* Concurrent REST connections; the API is for operators and the CLI. */
#define LIMIT_API_CONNS			256u
/* Flight-record entries returned by one query. */
#define LIMIT_FLIGHT_QUERY		10000u

/* --- collect: flow export, sFlow and packet decoding (src/collect) --- */
/* Distinct exporters (address x source id/domain x protocol); each holds a
   template cache, so spoofed sources must not grow memory without bound. */
#define LIMIT_COLLECT_EXPORTERS		1024u
/* Templates (data + options) cached per exporter; real routers use < 50. */
#define LIMIT_COLLECT_TEMPLATES		256u
/* Fields per template; the largest real templates have ~60 fields. */
#define LIMIT_COLLECT_TEMPLATE_FIELDS	128u
/* A fixed-length field longer than this is not a number we read; refuse the
   template rather than trust a declared width (IPFIX: 65535 = variable). */
#define LIMIT_COLLECT_FIELD_LEN		1024u
/* sFlow interfaces whose counter samples are kept per agent. */
#define LIMIT_COLLECT_SFLOW_IFACES	256u
/* IPv6 extension headers walked before giving up on finding L4. */
#define LIMIT_COLLECT_IPV6_EXTHDRS	8u
/* VLAN tags stripped (802.1Q, QinQ and one more for 802.1ad stacks). */
#define LIMIT_COLLECT_VLAN_TAGS		3u
/* Destination hosts tracked per counter shard per interval; past it the
   traffic still counts for the PO, only the per-host breakdown is lost. */
#define LIMIT_COLLECT_HOSTS		65536u
/* Sampled inbound records per shard per interval for the attacks' top
   sources; a flood fills it early and the rest is skipped, never queued.
   4096 samples a second find any source above ~1 % of a PO's traffic. */
#define LIMIT_COLLECT_OBS		4096u
/* IPFIX-over-TCP connections accepted at once, and one message's size. */
#define LIMIT_COLLECT_TCP_CONNS		64u
/* IPFIX-over-TCP connections from one address: a real exporter needs one
   (two while it reconnects), so one sender cannot hold every slot. */
#define LIMIT_COLLECT_TCP_PER_SOURCE	4u
/* Seconds a new IPFIX/TCP connection has to send its first complete message
   header (16 bytes), and a started message to arrive whole: an exporter
   writes whole messages, a slot holder trickles. */
#define LIMIT_COLLECT_TCP_HEADER_S	5u
#define LIMIT_COLLECT_TCP_IDLE_S	15u
/* Exporters (source ids / observation domains / sFlow sub-agents, all
   protocols) one source address may hold; a router has a handful. */
#define LIMIT_COLLECT_EXPORTERS_PER_ADDR 16u
/* Linear probes in a keyed hash table fed by the wire before the key is
   refused (counted, a health issue): a bound on the cost of a lookup. */
#define LIMIT_COLLECT_PROBES		32u
/* Probes in a host table (half full at most) before the entry is dropped:
   64 cache lines bound a record's cost whatever addresses a flood uses. */
#define LIMIT_COLLECT_HOST_PROBES	64u
/* Bits per generation of a counter shard's new-flow bitmap for packet
   inputs (two generations: 2 x 64 KiB per shard, allocated once). A flood
   of spoofed 5-tuples fills it and makes it turn over early; memory never
   grows, the estimate stays unbiased (see counters.h). 2^19 bits hold
   ~360k distinct flows per generation before a forced turn-over. */
#define LIMIT_COLLECT_FLOW_BITS		(1u << 19)
/* Allow-list prefixes per collector. */
#define LIMIT_COLLECT_ALLOW		64u
/* Capture worker threads (PACKET_FANOUT members) per interface. */
#define LIMIT_COLLECT_CAPTURE_THREADS	16u
/* UDP/TCP listeners configured. */
#define LIMIT_COLLECT_LISTENERS		16u

/* --- chaff: the decoy network --- */
/* Decoys per process: a /16 is the design point; the table is a sorted array. */
#define LIMIT_CHAFF_DECOYS		(1u << 20)
/* Decoy groups (ranges/lists) in the configuration. */
#define LIMIT_CHAFF_GROUPS		1024u
/* Exclusions per group: real hosts inside a decoy range. */
#define LIMIT_CHAFF_EXCLUDES		4096u
/* Open TCP/UDP ports per group: enough for any believable host. */
#define LIMIT_CHAFF_PORTS		64u
/* Distinct personalities loaded: presets plus a few custom ones. */
#define LIMIT_CHAFF_PERSONAS		64u
/* nmap-os-db is ~5 MiB; a larger file is not the one nmap ships. */
#define LIMIT_CHAFF_OSDB_BYTES		(32u << 20)
/* One fingerprint line (e.g. an OPS line with alternatives) is far shorter. */
#define LIMIT_CHAFF_OSDB_LINE		4096u
/* TCP connections tracked at once (handshakes and sessions); a SYN flood
 * recycles the oldest half-open entry instead of growing memory. */
#define LIMIT_CHAFF_CONNS		65536u
/* Sessions at once from one source address at one decoy: one scanner cannot take its services. */
#define LIMIT_CHAFF_SESSIONS_PER_SRC	16u
/* chaff: service sessions of one source over all decoys (1/8 of the 4,096-session pool) */
#define LIMIT_CHAFF_SESSIONS_PER_SRC_ALL	512u
/* chaff: service sessions at one decoy, whoever holds them (a host serves a few dozen) */
#define LIMIT_CHAFF_SESSIONS_PER_DECOY	64u
/* Bytes a service reads from one session before it closes it. */
#define LIMIT_CHAFF_SESSION_BYTES	(64u << 10)
/* Seconds a session may live: a decoy service never serves long. */
#define LIMIT_CHAFF_SESSION_SECONDS	60u
/* A service line (HTTP request line, FTP/Telnet command) longer than this is hostile. */
#define LIMIT_CHAFF_LINE		1024u
/* Recorded credential field (user name, password) in an alarm. */
#define LIMIT_CHAFF_CRED		128u
/* One SMB/NetBIOS message a decoy reassembles: a Windows client's NTLMv2
 * SESSION_SETUP is under 2 KiB; anything larger is not a login. */
#define LIMIT_CHAFF_SMB_MSG		4096u
/* SMB sessions (each with a LIMIT_CHAFF_SMB_MSG buffer) at once across all
 * decoys; past it, port 445 is silent like any service over its cap. */
#define LIMIT_CHAFF_SMB_CONNS		256u
/* A recorded NTLM response in hashcat form: 2 hex digits per byte of a
 * message that fits LIMIT_CHAFF_SMB_MSG, cut past this. */
#define LIMIT_CHAFF_NTLM_HASH		2048u
/* Redis command arguments kept for the record (AUTH has 3; the rest is counted, not kept). */
#define LIMIT_CHAFF_REDIS_ARGS		8u
/* Alarm aggregation entries (source, kind) live at once; past it, the oldest are flushed. */
#define LIMIT_CHAFF_ALARM_KEYS		16384u
/* Distinct decoys remembered per aggregated alarm (the count goes on past it). */
#define LIMIT_CHAFF_ALARM_DECOYS	8u
/* chaff: logins of one source and port reported one by one per window (then counted) */
#define LIMIT_CHAFF_ALARM_LOGINS	32u
/* Allow-listed source prefixes. */
#define LIMIT_CHAFF_ALLOW		1024u
/* chaff: background frames (gratuitous ARP, NetBIOS, mDNS) per second across all
 * decoys, alive.pps's ceiling: thousands of decoys never flood the segment
 * (10,000 small frames/s is about 1 % of a gigabit link). */
#define LIMIT_CHAFF_ALIVE_PPS		10000u
/* ICMP errors (port unreachable) sent per second across all decoys, and the
 * burst: Linux's own icmp_msgs_per_sec/burst, so a UDP flood is not reflected. */
#define LIMIT_CHAFF_ICMP_ERR_PPS	1000u
#define LIMIT_CHAFF_ICMP_ERR_BURST	50u
/* chaff: send buffers (unacknowledged and not yet sent bytes of one
 * connection, kept for retransmission): one per service session, and a
 * decoy service's answers (a page, an SSH key exchange) fit in one. Pages
 * are touched only when used, the most recently freed first. */
#define LIMIT_CHAFF_SNDBUFS		4096u
#define LIMIT_CHAFF_SNDBUF_BYTES	(16u << 10)
/* chaff: frames held for peers whose MAC a decoy is resolving (ARP), and
 * the neighbour entries decoys keep (learned from ARP, oldest recycled). */
#define LIMIT_CHAFF_ARP_PENDING		64u
#define LIMIT_CHAFF_NEIGH		4096u
/* chaff: IPv4 datagrams reassembled at once (all decoys, and per decoy, so
 * one fragment flood cannot take every slot), and the largest payload
 * reassembled (a jumbo ping's; a real stack takes 64 KiB). */
#define LIMIT_CHAFF_FRAGS		16u
#define LIMIT_CHAFF_FRAGS_PER_DECOY	4u
#define LIMIT_CHAFF_FRAG_BYTES		8192u
/* chaff: IPv6 extension headers walked before the upper layer (real
 * traffic carries one or two; a longer chain is an evasion attempt). */
#define LIMIT_CHAFF_IP6_EXTHDRS		8u
/* chaff: decoys answering one multicast echo (ping ff02::1): a segment's
 * worth, so one spoofed frame cannot draw 65,536 replies. */
#define LIMIT_CHAFF_MCAST_ECHO		256u
/* Alarm reports waiting to be POSTed to moatd; past it the oldest are dropped. */
#define LIMIT_CHAFF_POST_QUEUE		1024u
/* The moatd bearer token file: one short word (the token keeps 128 bytes). */
#define LIMIT_CHAFF_TOKEN_FILE		4096u

/* --- common: configuration reader (src/common/cfg.c) --- */
/* One scalar: a name, number, path or an embedded PEM block is far below 1 MiB. */
#define LIMIT_CONFIG_SCALAR		(1u << 20)
/* Values (scalars, maps, sequences, keys) per file: 16 MiB of one-prefix
 * lines is ~0.7M; at ~110 bytes each this bounds the tree to ~230 MiB. */
#define LIMIT_CONFIG_NODES		(2u << 20)

/* --- cli: the moat command line --- */
/* api.url holds one URL; a longer file is not one moatd wrote. */
#define LIMIT_CLI_URL			512u
/* api.token holds 64 hex chars; anything much longer is not a token. */
#define LIMIT_CLI_TOKEN			256u
/* A reply from moatd (JSON, or a backup): the largest is a backup, which
 * restore must accept again, so the same cap. */
#define LIMIT_CLI_REPLY			LIMIT_API_RESTORE_BODY
/* A PO file for `moat po add --file`: one REST body. */
#define LIMIT_CLI_PO_FILE		LIMIT_API_BODY

/* --- engine: detection, attacks, backtest (src/engine/detect_*, decision, sketch, backtest) --- */
/* Keys a sketch holds: top-k of targets/sources; 256 finds anything above 0.4 % of the traffic. */
#define LIMIT_SKETCH_K			256u
/* Traffic series (PO x protocol x direction x configured port) the rate detector learns, each
   with a time-of-week profile (~5.5 KiB: 360 MiB at the cap); past it new series are not learned. */
#define LIMIT_DETECT_SERIES		(1u << 16)
/* Live attacks (suspected..ending) at once; a new one past it is refused and counted. */
#define LIMIT_ATTACKS_LIVE		4096u
/* Ended attacks kept in memory for the API and reports (oldest dropped first). */
#define LIMIT_ATTACKS_HISTORY		1024u
/* Detectors that can join one attack (rate, threshold, slowconn, decoy, scan, ...). */
#define LIMIT_ATTACK_DETECTORS		8u
/* A detector/decision state blob loaded from the store; larger is corrupt. */
#define LIMIT_DETECT_BLOB		(1u << 30)
/* Backtest CSV: one line (six numbers and a PO name), and distinct POs in one file. */
#define LIMIT_BACKTEST_LINE		1024u
#define LIMIT_BACKTEST_POS		65536u

/* --- ins: moat-ins socket broker (src/ins) --- */
/* Control clients (shim connections, one per process of the protected app). */
#define LIMIT_INS_CLIENTS		4096u
/* /proc/PID/status of a control client (about 1.5 KiB), read for its capability sets. */
#define LIMIT_INS_PROC_STATUS		16384u
/* Control messages handled per client per wakeup, so one chatty client cannot starve others. */
#define LIMIT_INS_MSGS_PER_WAKEUP	32u
/* Listeners the protected application may own (one doorbell each). */
#define LIMIT_INS_LISTENERS		256u
/* Connections accepted per listener per wakeup: fairness between listeners and clients. */
#define LIMIT_INS_ACCEPT_BURST		64u
/* Connections held before handoff, all listeners together: bounds memory under a slow-DoS flood. */
#define LIMIT_INS_HELD			65536u
/* Connections accepted but not yet taken from a full doorbell, per listener (like somaxconn). */
#define LIMIT_INS_PENDING		4096u
/*
 * Smallest kernel accept queue of a listener moat-ins owns, whatever the
 * application asked (nginx: 511): moat-ins accepts for it and sheds at
 * accept, so a connection flood at catalogue rate (16,384 at 256/s and more)
 * must not overflow the queue between two wakeups. The kernel caps it at
 * net.core.somaxconn (4096 by default).
 */
#define LIMIT_INS_BACKLOG		4096u
/* Bytes peeked from a held connection: request headers larger than this are handed off as is. */
#define LIMIT_INS_PEEK			8192u
/* Distinct sources tracked for per-source caps and the deny list; beyond it, only global caps apply. */
#define LIMIT_INS_SOURCES		65536u
/* Connections observed per sock_diag dump: 20k is the goal, 4x headroom. */
#define LIMIT_INS_OBSERVED		(1u << 17)

/* --- engine: moat-ins connection table (src/engine/conntab/conntab.c) --- */
/* Connections moatd keeps from moat-ins telemetry: the 20k one moat-ins holds, 3x for closed ones
 * kept for their retention; past it the oldest closed (then oldest) entry is evicted. */
#define LIMIT_CONNTAB			65536u
/* Connection events queued from the collector thread to the engine between two ticks; a
 * burst past it is dropped and counted (telemetry is best effort, counters still count). */
#define LIMIT_CONNTAB_QUEUE		16384u
/* Connections one GET /api/v1/connections returns at most. */
#define LIMIT_CONNTAB_LIST		10000u

/* --- common: prefixes and longest-prefix match (src/common/prefix.c, lpm.c) --- */
/* Prefixes per family in one lpm: 16x the largest table benchmarked, and it
 * keeps every internal node index (< 2^31) far from overflowing. */
#define LIMIT_LPM_PREFIXES		(16u << 20)

/* --- engine: REST server, flight record (src/engine/api/server.c, flight.c) --- */
/* Request line plus headers; the API's own requests need a few hundred bytes. */
#define LIMIT_API_HEADERS		16384u
/* A REST connection idle or trickling this long is dropped (slowloris). */
#define LIMIT_API_TIMEOUT_S		30u
/* A new REST connection must have sent its complete request head by then. */
#define LIMIT_API_HEADER_DEADLINE_S	10u
/* After refusing a request whose body is still coming, keep reading (and
 * dropping) this long, or this much, so the client reads the refusal
 * instead of a reset: the lingering close of other HTTP servers. */
#define LIMIT_API_LINGER_MS		2000u
#define LIMIT_API_LINGER_BYTES		(4u << 20)
/* After accept() fails for want of descriptors, accepting pauses this long. */
#define LIMIT_API_ACCEPT_PAUSE_MS	250u
/* api.hosts: names the Host header may carry besides the listen address. */
#define LIMIT_API_HOSTS			16u
#define LIMIT_API_HOST_LEN		253u
/* Categories in one flight query: there are twelve, a longer list is abuse. */
#define LIMIT_FLIGHT_CATEGORIES		16u
/* A flight message is for people; longer text is cut. */
#define LIMIT_FLIGHT_MESSAGE		512u
/* Flight entries one (category, event, source) writes singly per window;
   past it they are counted and written as one "xN in W s" summary. */
#define LIMIT_FLIGHT_BURST		5u
/* The aggregation window, and the keys aggregated at once (a keyed table);
   sources past it share one per-category bucket. */
#define LIMIT_FLIGHT_WINDOW_S		10u
#define LIMIT_FLIGHT_KEYS		512u
/* Flight rows written per second in all (summaries apart): the store, and so
   the event loop, never spend more than a few ms a second on the record. */
#define LIMIT_FLIGHT_WRITES_PER_S	50u
/* Rows one retention step deletes (a few ms); more waits for the next tick. */
#define LIMIT_FLIGHT_PRUNE_BATCH	2000u

/* cluster/merge (an engine summing several collectors' seconds): open
 * (shard, second) buckets — a few seconds of every shard (1,024 at most);
 * readings and top-list entries waiting in them — a few seconds of ~5,000
 * POs from several collectors (~56 bytes each: 14 MiB, 3 MiB); collector
 * and shard pairs followed for liveness (16 collectors on 256 shards).
 * Past a bound the oldest second is fed at once. */
#define LIMIT_MERGE_BUCKETS		4096u
#define LIMIT_MERGE_READINGS		262144u
#define LIMIT_MERGE_TOPS		65536u
#define LIMIT_MERGE_STREAMS		4096u

#endif
