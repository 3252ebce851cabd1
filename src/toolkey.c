/* SPDX-License-Identifier: ISC */
/* The tool's key pair; see pns_toolkey.h. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/pem.h>
#include <openssl/sha.h>

#include "pns_fs.h"
#include "pns_store.h"
#include "pns_toolkey.h"
#include "banned.h"

#define PEM_MAX	(16 * 1024)

static int
key_dir(const struct pns_config *cfg, char *dir, char *path,
    struct pns_err *err)
{
	if (pns_store_path(cfg, dir, PNS_FS_PATH_MAX, PNS_DIR_KEYS, NULL,
	    err) == -1)
		return -1;
	return pns_path_join(path, PNS_FS_PATH_MAX, dir, PNS_TOOLKEY_FILE, err);
}

int
pns_toolkey_create(const struct pns_config *cfg, struct pns_err *err)
{
	char		 dir[PNS_FS_PATH_MAX], path[PNS_FS_PATH_MAX];
	EVP_PKEY	*pkey = NULL;
	BIO		*bio = NULL;
	char		*pem;
	long		 len;
	int		 rc = -1;

	if (key_dir(cfg, dir, path, err) == -1)
		return -1;
	if (access(path, F_OK) == 0)
		return 1;
	if ((pkey = EVP_RSA_gen(2048)) == NULL ||
	    (bio = BIO_new(BIO_s_mem())) == NULL ||
	    PEM_write_bio_PrivateKey(bio, pkey, NULL, NULL, 0, NULL, NULL) != 1 ||
	    (len = BIO_get_mem_data(bio, &pem)) <= 0) {
		pns_err_set(err, PNS_ECRYPTO, "cannot generate the RSA key");
		goto out;
	}
	/* Exclusive create: two concurrent inits keep one key. */
	rc = pns_create_exclusive(dir, PNS_TOOLKEY_FILE, pem, (size_t)len, 0,
	    err);
out:
	BIO_free(bio);
	EVP_PKEY_free(pkey);
	return rc;
}

/* base64url of a big number's unsigned big-endian bytes into out. */
static int
bn_b64(EVP_PKEY *pkey, const char *name, char *out, size_t size)
{
	BIGNUM		*bn = NULL;
	unsigned char	 buf[1024];
	int		 n;

	if (EVP_PKEY_get_bn_param(pkey, name, &bn) != 1)
		return -1;
	n = BN_num_bytes(bn);
	if (n <= 0 || (size_t)n > sizeof(buf) ||
	    pns_b64url_enclen((size_t)n) + 1 > size) {
		BN_free(bn);
		return -1;
	}
	(void)BN_bn2bin(bn, buf);
	BN_free(bn);
	(void)pns_b64url_encode(buf, (size_t)n, out);
	return 0;
}

int
pns_toolkey_load(const struct pns_config *cfg, struct pns_toolkey *k,
    struct pns_err *err)
{
	char		dir[PNS_FS_PATH_MAX], path[PNS_FS_PATH_MAX];
	char		n[1400], e[16], canon[1500];
	unsigned char	md[SHA256_DIGEST_LENGTH];
	struct pns_buf	b;
	BIO		*bio = NULL;
	int		rc = -1, len;

	k->pkey = NULL;
	k->kid[0] = '\0';
	pns_buf_init(&b, PEM_MAX);
	if (key_dir(cfg, dir, path, err) == -1 ||
	    pns_read_file(path, &b, err) == -1)
		goto out;
	if ((bio = BIO_new_mem_buf(b.data, (int)b.len)) == NULL ||
	    (k->pkey = PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL)) == NULL ||
	    EVP_PKEY_get_base_id(k->pkey) != EVP_PKEY_RSA ||
	    bn_b64(k->pkey, OSSL_PKEY_PARAM_RSA_N, n, sizeof(n)) == -1 ||
	    bn_b64(k->pkey, OSSL_PKEY_PARAM_RSA_E, e, sizeof(e)) == -1) {
		pns_err_set(err, PNS_ECRYPTO, "%s: not an RSA private key", path);
		goto out;
	}
	/* RFC 7638: the members in lexical order, no whitespace. */
	len = snprintf(canon, sizeof(canon),
	    "{\"e\":\"%s\",\"kty\":\"RSA\",\"n\":\"%s\"}", e, n);
	if (len < 0 || (size_t)len >= sizeof(canon)) {
		pns_err_set(err, PNS_ELIMIT, "key too large");
		goto out;
	}
	SHA256((unsigned char *)canon, (size_t)len, md);
	(void)pns_b64url_encode(md, sizeof(md), k->kid);
	rc = 0;
out:
	if (rc == -1) {
		EVP_PKEY_free(k->pkey);
		k->pkey = NULL;
	}
	BIO_free(bio);
	/* The buffer held the private key: wipe it before freeing. */
	if (b.data != NULL)
		OPENSSL_cleanse(b.data, b.cap);
	pns_buf_release(&b);
	return rc;
}

int
pns_toolkey_pem(const struct pns_config *cfg, struct pns_buf *pem,
    struct pns_err *err)
{
	char	dir[PNS_FS_PATH_MAX], path[PNS_FS_PATH_MAX];

	if (key_dir(cfg, dir, path, err) == -1)
		return -1;
	return pns_read_file(path, pem, err);
}

void
pns_toolkey_release(struct pns_toolkey *k)
{
	EVP_PKEY_free(k->pkey);
	k->pkey = NULL;
}

int
pns_toolkey_jwks(const struct pns_toolkey *k, struct pns_buf *out,
    struct pns_err *err)
{
	char	n[1400], e[16];

	if (bn_b64(k->pkey, OSSL_PKEY_PARAM_RSA_N, n, sizeof(n)) == -1 ||
	    bn_b64(k->pkey, OSSL_PKEY_PARAM_RSA_E, e, sizeof(e)) == -1)
		return pns_err_set(err, PNS_ECRYPTO, "cannot export the key");
	return pns_buf_printf(out, err, "{\"keys\":[{\"kty\":\"RSA\","
	    "\"alg\":\"RS256\",\"use\":\"sig\",\"kid\":\"%s\",\"n\":\"%s\","
	    "\"e\":\"%s\"}]}\n", k->kid, n, e);
}
