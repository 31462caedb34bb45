/* l2: AF_PACKET socket with auxdata for checksum status. */
#include "chaff/l2.h"

#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#ifndef PACKET_IGNORE_OUTGOING
#define PACKET_IGNORE_OUTGOING 23
#endif

static int
setopt(int fd, int level, int name, const void *v, socklen_t len)
{
	return setsockopt(fd, level, name, v, len) < 0 ? -errno : 0;
}

static unsigned
if_mtu(int fd, const char *ifname)
{
	struct ifreq ifr;

	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
	if (ioctl(fd, SIOCGIFMTU, &ifr) < 0 || ifr.ifr_mtu <= 0)
		return 1500;
	return (unsigned)ifr.ifr_mtu;
}

int
l2_open(const char *ifname, struct l2 *ret)
{
	struct sockaddr_ll sll;
	struct packet_mreq mr;
	int fd, one = 1, buf = 4 << 20, r;
	unsigned idx;

	idx = if_nametoindex(ifname);
	if (idx == 0)
		return -ENODEV;
	fd = socket(AF_PACKET, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, htons(ETH_P_ALL));
	if (fd < 0)
		return -errno;
	memset(&sll, 0, sizeof(sll));
	sll.sll_family = AF_PACKET;
	sll.sll_protocol = htons(ETH_P_ALL);
	sll.sll_ifindex = (int)idx;
	if (bind(fd, (struct sockaddr *)&sll, sizeof(sll)) < 0) {
		r = -errno;
		goto fail;
	}
	memset(&mr, 0, sizeof(mr));
	mr.mr_ifindex = (int)idx;
	mr.mr_type = PACKET_MR_PROMISC;
	if ((r = setopt(fd, SOL_PACKET, PACKET_ADD_MEMBERSHIP, &mr, sizeof(mr))) < 0 ||
	    (r = setopt(fd, SOL_PACKET, PACKET_AUXDATA, &one, sizeof(one))) < 0)
		goto fail;
	/* Best effort: older kernels lack it, and we filter PACKET_OUTGOING anyway. */
	(void)setopt(fd, SOL_PACKET, PACKET_IGNORE_OUTGOING, &one, sizeof(one));
	(void)setopt(fd, SOL_SOCKET, SO_RCVBUF, &buf, sizeof(buf));
	(void)setopt(fd, SOL_SOCKET, SO_SNDBUF, &buf, sizeof(buf));
	memset(ret, 0, sizeof(*ret));
	ret->fd = fd;
	ret->ifindex = (int)idx;
	ret->mtu = if_mtu(fd, ifname);
	return 0;
fail:
	close(fd);
	return r;
}

void
l2_close(struct l2 *l)
{
	if (l && l->fd >= 0) {
		close(l->fd);
		l->fd = -1;
	}
}

int
l2_check(const char *ifname)
{
	return if_nametoindex(ifname) == 0 ? -ENODEV : 0;
}

int
l2_error(struct l2 *l)
{
	int e = 0;
	socklen_t len = sizeof(e);

	if (getsockopt(l->fd, SOL_SOCKET, SO_ERROR, &e, &len) < 0)
		return -errno;
	return -e;
}

int
l2_recv(struct l2 *l, uint8_t *buf, size_t cap, size_t *ret_len, bool *ret_csum_unverified,
	uint16_t *ret_vlan)
{
	union {
		struct cmsghdr h;
		uint8_t b[CMSG_SPACE(sizeof(struct tpacket_auxdata))];
	} ctl;
	struct sockaddr_ll from;
	struct iovec iov = { .iov_base = buf, .iov_len = cap };
	struct msghdr m = {
		.msg_name = &from, .msg_namelen = sizeof(from),
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = &ctl, .msg_controllen = sizeof(ctl),
	};
	bool unverified = false;
	uint16_t vlan = 0;
	ssize_t n;

	for (;;) {
		m.msg_controllen = sizeof(ctl);
		m.msg_namelen = sizeof(from);
		n = recvmsg(l->fd, &m, MSG_TRUNC);
		if (n < 0)
			return errno == EWOULDBLOCK ? -EAGAIN : -errno;
		if (from.sll_pkttype == PACKET_OUTGOING || (size_t)n > cap)
			continue;	/* our own frames, or a frame past any MTU */
		break;
	}
	for (struct cmsghdr *c = CMSG_FIRSTHDR(&m); c; c = CMSG_NXTHDR(&m, c)) {
		struct tpacket_auxdata aux;

		if (c->cmsg_level != SOL_PACKET || c->cmsg_type != PACKET_AUXDATA ||
		    c->cmsg_len < CMSG_LEN(sizeof(aux)))
			continue;
		memcpy(&aux, CMSG_DATA(c), sizeof(aux));
		unverified = (aux.tp_status & TP_STATUS_CSUMNOTREADY) != 0;
		if (aux.tp_status & TP_STATUS_VLAN_VALID)
			vlan = aux.tp_vlan_tci & 0x0fff;
	}
	l->rx++;
	*ret_len = (size_t)n;
	*ret_csum_unverified = unverified;
	*ret_vlan = vlan;
	return 0;
}

int
l2_send(struct l2 *l, const uint8_t *frame, size_t len)
{
	ssize_t n = send(l->fd, frame, len, 0);

	if (n < 0) {
		l->tx_errors++;
		return errno == EWOULDBLOCK ? -EAGAIN : -errno;
	}
	l->tx++;
	return 0;
}

uint64_t
l2_drops(struct l2 *l)
{
	struct tpacket_stats st;
	socklen_t len = sizeof(st);

	if (getsockopt(l->fd, SOL_PACKET, PACKET_STATISTICS, &st, &len) < 0)
		return 0;
	return st.tp_drops;
}
