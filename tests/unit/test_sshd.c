/* Unit tests for src/chaff/sshd.c: slots, the bridge, the banner, the credential queue. */
#include <errno.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include <libssh/libssh.h>

#include "chaff/sshd.h"

static void
test_slots_and_banner(void **state)
{
	static struct sshd s;
	struct sshd_key k = { 1, 2, 3, 22 };
	struct sshd_cred cr;
	struct pollfd pfd;
	char buf[256] = "";
	int slots[SSHD_SESSIONS], fd;
	ssize_t n;

	static const uint8_t secret[32] = { 1, 2, 3 };

	assert_int_equal(sshd_init(&s, secret), 0);
	for (int i = 0; i < SSHD_SESSIONS; i++) {
		slots[i] = sshd_open(&s, &k, "OpenSSH_8.2p1 Ubuntu-4ubuntu0.5");
		assert_true(slots[i] >= 0);
	}
	assert_int_equal(sshd_open(&s, &k, "x"), -EBUSY);
	/* A worker serves slot 0: its first bytes are the impersonated identification. */
	fd = sshd_fd(&s, slots[0]);
	assert_true(fd >= 0);
	pfd = (struct pollfd){ .fd = fd, .events = POLLIN };
	assert_int_equal(poll(&pfd, 1, 5000), 1);
	n = read(fd, buf, sizeof(buf) - 1);
	assert_true(n > 0);
	assert_memory_equal(buf, "SSH-2.0-OpenSSH_8.2p1 Ubuntu-4ubuntu0.5\r\n", 41);
	for (int i = 0; i < SSHD_SESSIONS; i++)
		sshd_close(&s, slots[i]);
	assert_int_equal(sshd_fd(&s, slots[0]), -1);
	assert_false(sshd_pop_cred(&s, &cr));
	sshd_free(&s);
}

/* Each decoy has its own host key, the same for the same secret (across restarts). */
static void
test_host_keys_per_decoy(void **state)
{
	static const uint8_t secret[32] = { 1, 2, 3 }, other[32] = { 9 };
	void *a, *a2, *b, *c;
	char *pa, *pa2, *pb, *pc;

	assert_int_equal(sshd_host_key(secret, 0xc6336411u, &a), 0);
	assert_int_equal(sshd_host_key(secret, 0xc6336411u, &a2), 0);
	assert_int_equal(sshd_host_key(secret, 0xc6336412u, &b), 0);
	assert_int_equal(sshd_host_key(other, 0xc6336411u, &c), 0);
	assert_int_equal(ssh_key_type(a), SSH_KEYTYPE_ED25519);
	assert_int_equal(ssh_pki_export_pubkey_base64(a, &pa), SSH_OK);
	assert_int_equal(ssh_pki_export_pubkey_base64(a2, &pa2), SSH_OK);
	assert_int_equal(ssh_pki_export_pubkey_base64(b, &pb), SSH_OK);
	assert_int_equal(ssh_pki_export_pubkey_base64(c, &pc), SSH_OK);
	assert_string_equal(pa, pa2);
	assert_string_not_equal(pa, pb);
	assert_string_not_equal(pa, pc);
	ssh_string_free_char(pa);
	ssh_string_free_char(pa2);
	ssh_string_free_char(pb);
	ssh_string_free_char(pc);
	ssh_key_free(a);
	ssh_key_free(a2);
	ssh_key_free(b);
	ssh_key_free(c);
}

/* The offered algorithms follow the banner's OpenSSH release. */
static void
test_algorithms_by_version(void **state)
{
	const struct sshd_algos *a;

	a = sshd_algos_for("OpenSSH_5.3");
	assert_null(strstr(a->kex, "curve25519"));
	assert_null(strstr(a->kex, "ecdh"));
	assert_null(strstr(a->ciphers, "chacha20"));
	assert_null(strstr(a->macs, "sha2"));
	a = sshd_algos_for("OpenSSH_5.9p1 Debian-5ubuntu1");
	assert_non_null(strstr(a->kex, "ecdh-sha2-nistp256"));
	assert_null(strstr(a->kex, "curve25519"));
	a = sshd_algos_for("OpenSSH_6.6.1p1 Ubuntu-2ubuntu2");
	assert_true(strncmp(a->kex, "curve25519-sha256@libssh.org,", 29) == 0);
	assert_non_null(strstr(a->ciphers, "chacha20-poly1305@openssh.com"));
	a = sshd_algos_for("OpenSSH_8.2p1 Ubuntu-4ubuntu0.5");
	assert_true(strncmp(a->kex, "curve25519-sha256,", 18) == 0);
	assert_non_null(strstr(a->kex, "diffie-hellman-group16-sha512"));
	assert_ptr_equal(sshd_algos_for("OpenSSH_for_Windows_7.7"), a);
	assert_ptr_equal(sshd_algos_for("Cisco-1.25"), sshd_algos_for("OpenSSH_5.3"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_slots_and_banner),
		cmocka_unit_test(test_host_keys_per_decoy),
		cmocka_unit_test(test_algorithms_by_version),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
