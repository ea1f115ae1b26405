/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * linkcrypto: what protecting one node-link message costs, per candidate
 * library, so the choice in docs/DESIGN.md ("Node links") rests on a figure.
 *
 *   tests/bench/linkcrypto [-n ITERATIONS] [-s SIZE]...
 *
 * Every candidate does, per message, what both ends of a link do: protect
 * it on the sender, check (and open) it on the receiver, all in memory (no
 * socket: the syscalls are the same whichever library is used).  TLS 1.3
 * with a pre-shared key (GnuTLS) runs a real session whose records travel
 * through in-memory buffers.  Prints ns per message for each size.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <gnutls/gnutls.h>
#include <openssl/evp.h>
#include <sodium.h>

#define MSG_MAX 65536
#define SIZES_MAX 8

static unsigned char key[32];
static unsigned char msg[MSG_MAX];
static unsigned char box[MSG_MAX + 64];
static unsigned char out[MSG_MAX + 64];

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void nonce_from_seq(unsigned char *nonce, size_t len, uint64_t seq)
{
	memset(nonce, 0, len);
	memcpy(nonce + len - sizeof(seq), &seq, sizeof(seq));
}

/* Each run_* seals and opens n messages of size bytes; 0, or -1 on a failed check. */

static int run_sodium_chacha(size_t size, long n)
{
	unsigned char nonce[crypto_aead_chacha20poly1305_IETF_NPUBBYTES];
	unsigned long long clen, mlen;
	long i;

	for (i = 0; i < n; i++) {
		nonce_from_seq(nonce, sizeof(nonce), (uint64_t)i);
		crypto_aead_chacha20poly1305_ietf_encrypt(box, &clen, msg, size, NULL, 0, NULL, nonce, key);
		if (crypto_aead_chacha20poly1305_ietf_decrypt(out, &mlen, NULL, box, clen, NULL, 0, nonce,
							      key))
			return -1;
	}
	return 0;
}

static int run_sodium_aesgcm(size_t size, long n)
{
	unsigned char nonce[crypto_aead_aes256gcm_NPUBBYTES];
	unsigned long long clen, mlen;
	long i;

	for (i = 0; i < n; i++) {
		nonce_from_seq(nonce, sizeof(nonce), (uint64_t)i);
		crypto_aead_aes256gcm_encrypt(box, &clen, msg, size, NULL, 0, NULL, nonce, key);
		if (crypto_aead_aes256gcm_decrypt(out, &mlen, NULL, box, clen, NULL, 0, nonce, key))
			return -1;
	}
	return 0;
}

/* Integrity only (no secrecy): HMAC-SHA-512-256 over seq + message. */
static int run_sodium_hmac(size_t size, long n)
{
	unsigned char tag[crypto_auth_BYTES];
	crypto_auth_hmacsha512256_state st;
	uint64_t seq;
	long i;

	for (i = 0; i < n; i++) {
		seq = (uint64_t)i;
		crypto_auth_hmacsha512256_init(&st, key, sizeof(key));
		crypto_auth_hmacsha512256_update(&st, (unsigned char *)&seq, sizeof(seq));
		crypto_auth_hmacsha512256_update(&st, msg, size);
		crypto_auth_hmacsha512256_final(&st, tag);
		crypto_auth_hmacsha512256_init(&st, key, sizeof(key));
		crypto_auth_hmacsha512256_update(&st, (unsigned char *)&seq, sizeof(seq));
		crypto_auth_hmacsha512256_update(&st, msg, size);
		crypto_auth_hmacsha512256_final(&st, out);
		if (sodium_memcmp(tag, out, sizeof(tag)))
			return -1;
	}
	return 0;
}

static int run_sodium_secretstream(size_t size, long n)
{
	crypto_secretstream_xchacha20poly1305_state tx, rx;
	unsigned char hdr[crypto_secretstream_xchacha20poly1305_HEADERBYTES];
	unsigned long long clen, mlen;
	unsigned char tag;
	long i;

	crypto_secretstream_xchacha20poly1305_init_push(&tx, hdr, key);
	if (crypto_secretstream_xchacha20poly1305_init_pull(&rx, hdr, key))
		return -1;
	for (i = 0; i < n; i++) {
		crypto_secretstream_xchacha20poly1305_push(&tx, box, &clen, msg, size, NULL, 0, 0);
		if (crypto_secretstream_xchacha20poly1305_pull(&rx, out, &mlen, &tag, box, clen, NULL, 0))
			return -1;
	}
	return 0;
}

static int run_openssl(const EVP_CIPHER *cipher, size_t size, long n)
{
	EVP_CIPHER_CTX *enc = EVP_CIPHER_CTX_new(), *dec = EVP_CIPHER_CTX_new();
	unsigned char nonce[12], tag[16];
	int len, r = -1;
	long i;

	if (!enc || !dec)
		goto out;
	if (!EVP_EncryptInit_ex(enc, cipher, NULL, key, NULL) ||
	    !EVP_DecryptInit_ex(dec, cipher, NULL, key, NULL))
		goto out;
	for (i = 0; i < n; i++) {
		nonce_from_seq(nonce, sizeof(nonce), (uint64_t)i);
		if (!EVP_EncryptInit_ex(enc, NULL, NULL, NULL, nonce) ||
		    !EVP_EncryptUpdate(enc, box, &len, msg, (int)size) ||
		    !EVP_EncryptFinal_ex(enc, box + len, &len) ||
		    !EVP_CIPHER_CTX_ctrl(enc, EVP_CTRL_AEAD_GET_TAG, 16, tag))
			goto out;
		if (!EVP_DecryptInit_ex(dec, NULL, NULL, NULL, nonce) ||
		    !EVP_DecryptUpdate(dec, out, &len, box, (int)size) ||
		    !EVP_CIPHER_CTX_ctrl(dec, EVP_CTRL_AEAD_SET_TAG, 16, tag) ||
		    EVP_DecryptFinal_ex(dec, out + len, &len) <= 0)
			goto out;
	}
	r = 0;
out:
	EVP_CIPHER_CTX_free(enc);
	EVP_CIPHER_CTX_free(dec);
	return r;
}

static int run_openssl_chacha(size_t size, long n)
{
	return run_openssl(EVP_chacha20_poly1305(), size, n);
}

static int run_openssl_aesgcm(size_t size, long n)
{
	return run_openssl(EVP_aes_128_gcm(), size, n);
}

/* ---- GnuTLS TLS 1.3 PSK over two in-memory pipes ---- */

struct pipe {
	unsigned char buf[4 * MSG_MAX];
	size_t head, tail;
};

struct tls_end {
	struct pipe *in, *out;
};

static ssize_t tls_push(gnutls_transport_ptr_t p, const void *data, size_t len)
{
	struct tls_end *e = p;
	struct pipe *q = e->out;

	if (q->head == q->tail)
		q->head = q->tail = 0;
	if (len > sizeof(q->buf) - q->tail) {
		errno = EAGAIN;
		return -1;
	}
	memcpy(q->buf + q->tail, data, len);
	q->tail += len;
	return (ssize_t)len;
}

static ssize_t tls_pull(gnutls_transport_ptr_t p, void *data, size_t len)
{
	struct tls_end *e = p;
	struct pipe *q = e->in;
	size_t n = q->tail - q->head;

	if (!n) {
		errno = EAGAIN;
		return -1;
	}
	if (n > len)
		n = len;
	memcpy(data, q->buf + q->head, n);
	q->head += n;
	return (ssize_t)n;
}

static void tls_setup(gnutls_session_t s, struct tls_end *e)
{
	gnutls_priority_set_direct(s, "NORMAL:-VERS-ALL:+VERS-TLS1.3:+PSK:+ECDHE-PSK", NULL);
	gnutls_transport_set_ptr(s, e);
	gnutls_transport_set_push_function(s, tls_push);
	gnutls_transport_set_pull_function(s, tls_pull);
}

static int psk_lookup(gnutls_session_t s, const char *user, gnutls_datum_t *ret_key)
{
	ret_key->data = gnutls_malloc(sizeof(key));
	if (!ret_key->data)
		return -1;
	memcpy(ret_key->data, key, sizeof(key));
	ret_key->size = sizeof(key);
	return 0;
}

static struct pipe c2s, s2c;

static int run_gnutls_psk(size_t size, long n)
{
	gnutls_psk_client_credentials_t ccred = NULL;
	gnutls_psk_server_credentials_t scred = NULL;
	gnutls_session_t cs = NULL, ss = NULL;
	struct tls_end ce = { &s2c, &c2s }, se = { &c2s, &s2c };
	gnutls_datum_t k = { key, sizeof(key) };
	int rc = 1, rs = 1, r = -1, steps;
	long i;

	memset(&c2s, 0, sizeof(c2s));
	memset(&s2c, 0, sizeof(s2c));
	if (gnutls_psk_allocate_client_credentials(&ccred) ||
	    gnutls_psk_set_client_credentials(ccred, "node1", &k, GNUTLS_PSK_KEY_RAW) ||
	    gnutls_psk_allocate_server_credentials(&scred))
		goto out;
	/* The server's lookup: every client shares the one cluster key here. */
	gnutls_psk_set_server_credentials_function(scred, psk_lookup);
	if (gnutls_init(&cs, GNUTLS_CLIENT | GNUTLS_NONBLOCK) ||
	    gnutls_init(&ss, GNUTLS_SERVER | GNUTLS_NONBLOCK))
		goto out;
	tls_setup(cs, &ce);
	tls_setup(ss, &se);
	gnutls_credentials_set(cs, GNUTLS_CRD_PSK, ccred);
	gnutls_credentials_set(ss, GNUTLS_CRD_PSK, scred);
	for (steps = 0; (rc || rs) && steps < 100; steps++) {
		if (rc)
			rc = gnutls_handshake(cs);
		if (rs)
			rs = gnutls_handshake(ss);
		if ((rc && gnutls_error_is_fatal(rc)) || (rs && gnutls_error_is_fatal(rs))) {
			fprintf(stderr, "gnutls handshake: %s / %s\n", gnutls_strerror(rc),
				gnutls_strerror(rs));
			goto out;
		}
	}
	if (rc || rs)
		goto out;
	for (i = 0; i < n; i++) {
		if (gnutls_record_send(cs, msg, size) != (ssize_t)size)
			goto out;
		if (gnutls_record_recv(ss, out, sizeof(out)) != (ssize_t)size)
			goto out;
	}
	r = 0;
out:
	if (cs)
		gnutls_deinit(cs);
	if (ss)
		gnutls_deinit(ss);
	if (ccred)
		gnutls_psk_free_client_credentials(ccred);
	if (scred)
		gnutls_psk_free_server_credentials(scred);
	return r;
}

static int run_gnutls(size_t size, long n)
{
	return run_gnutls_psk(size, n);
}

static const struct candidate {
	const char *name;
	int (*run)(size_t size, long n);
} candidates[] = {
	{ "libsodium chacha20poly1305-ietf (AEAD)", run_sodium_chacha },
	{ "libsodium aes256gcm (AEAD, AES-NI)", run_sodium_aesgcm },
	{ "libsodium secretstream xchacha20poly1305", run_sodium_secretstream },
	{ "libsodium HMAC-SHA-512-256 (MAC only)", run_sodium_hmac },
	{ "OpenSSL chacha20-poly1305 (EVP)", run_openssl_chacha },
	{ "OpenSSL aes-128-gcm (EVP)", run_openssl_aesgcm },
	{ "GnuTLS TLS 1.3 PSK records (in memory)", run_gnutls },
};

int main(int argc, char **argv)
{
	size_t sizes[SIZES_MAX] = { 64, 1024 }, n_sizes = 0, c, s;
	long n = 200000;
	int opt;

	while ((opt = getopt(argc, argv, "n:s:")) != -1) {
		switch (opt) {
		case 'n':
			n = atol(optarg);
			break;
		case 's':
			if (n_sizes < SIZES_MAX)
				sizes[n_sizes++] = (size_t)atol(optarg);
			break;
		default:
			fprintf(stderr, "usage: %s [-n ITERATIONS] [-s SIZE]...\n", argv[0]);
			return 2;
		}
	}
	if (!n_sizes)
		n_sizes = 2;
	for (s = 0; s < n_sizes; s++) {
		if (sizes[s] == 0 || sizes[s] > MSG_MAX || n <= 0) {
			fprintf(stderr, "linkcrypto: size must be 1..%d, iterations > 0\n", MSG_MAX);
			return 2;
		}
	}
	if (sodium_init() < 0 || gnutls_global_init() < 0) {
		fprintf(stderr, "linkcrypto: library initialisation failed\n");
		return 1;
	}
	randombytes_buf(key, sizeof(key));
	randombytes_buf(msg, sizeof(msg));
	printf("%-44s", "ns per message (seal + open)");
	for (s = 0; s < n_sizes; s++)
		printf(" %7zu B", sizes[s]);
	printf("\n");
	for (c = 0; c < sizeof(candidates) / sizeof(candidates[0]); c++) {
		printf("%-44s", candidates[c].name);
		for (s = 0; s < n_sizes; s++) {
			uint64_t t0;
			int r;

			if (candidates[c].run == run_sodium_aesgcm && !crypto_aead_aes256gcm_is_available()) {
				printf(" %9s", "n/a");
				continue;
			}
			candidates[c].run(sizes[s], n / 10 + 1); /* warm up */
			t0 = now_ns();
			r = candidates[c].run(sizes[s], n);
			if (r) {
				printf(" %9s", "FAILED");
				continue;
			}
			printf(" %9.0f", (double)(now_ns() - t0) / (double)n);
		}
		printf("\n");
	}
	gnutls_global_deinit();
	return 0;
}
