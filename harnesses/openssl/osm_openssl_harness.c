/* osm-openssl-harness: the `openssl` argv subset the suite uses, run in-process through
 * libcrypto's CMS API with the calls and flags of OpenSSL's apps/cms.c (see README.md).
 *
 * One process serves many requests (osm-harness/1, ../common/osm_harness.h): no process
 * start-up, configuration load or provider initialisation per call.  Every request starts
 * with an empty error queue; exit codes and stderr lines follow the CLI. */
#define _GNU_SOURCE
#include "../common/osm_harness.h"

#include <openssl/bio.h>
#include <openssl/cms.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/opensslv.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

enum op { OP_NONE, OP_SIGN, OP_ENCRYPT, OP_DECRYPT, OP_VERIFY };

#define MAX_KEYOPTS 8
#define MAX_RECIPS 16

typedef struct {
    const char *opts[MAX_KEYOPTS];
    int n;
} keyopts;

/* What the parser collected: the subset of apps/cms.c's variables the suite reaches. */
typedef struct {
    enum op op;
    int flags;
    const char *infile, *outfile, *signerfile, *keyfile, *recipfile, *certfile, *cafile;
    const char *digest, *cipher, *purpose;
    int no_capath, no_castore, crl_check, vpm_touched;
    const char *recips[MAX_RECIPS];
    keyopts recip_opts[MAX_RECIPS];
    int nrecips;
    keyopts signer_opts;
    int signers;
} request;

static int unsupported(osm_buf *err, const char *what, const char *arg)
{
    osm_buf_printf(err, OSM_UNSUPPORTED_MARKER "%s%s%s\n", what, arg ? " " : "", arg ? arg : "");
    return OSM_UNSUPPORTED_EXIT;
}

/* The error queue as ERR_print_errors prints it (the CLI prints it when it fails). */
static void print_errors(osm_buf *err)
{
    BIO *mem = BIO_new(BIO_s_mem());
    ERR_print_errors(mem);
    char *data;
    long n = BIO_get_mem_data(mem, &data);
    osm_buf_append(err, data, (size_t)n);
    BIO_free(mem);
}

static void drain(BIO *mem, osm_buf *into)
{
    char *data;
    long n = BIO_get_mem_data(mem, &data);
    osm_buf_append(into, data, (size_t)n);
}

/* The CLI's input and output: the named file, or the request's stdin / the reply's stdout. */
static BIO *open_in(const char *file, const unsigned char *in, size_t inlen, osm_buf *err)
{
    if (file == NULL)
        return BIO_new_mem_buf(in, (int)inlen);
    BIO *bio = BIO_new_file(file, "rb");
    if (bio == NULL) {
        osm_buf_printf(err, "Can't open \"%s\" for reading, %s\n", file, strerror(errno));
        print_errors(err);
    }
    return bio;
}

static BIO *open_out(const char *file, osm_buf *err)
{
    if (file == NULL)
        return BIO_new(BIO_s_mem());
    BIO *bio = BIO_new_file(file, "wb");
    if (bio == NULL) {
        osm_buf_printf(err, "Can't open \"%s\" for writing, %s\n", file, strerror(errno));
        print_errors(err);
    }
    return bio;
}

/* PEM first, then DER, as the CLI's loaders accept either. */
static X509 *load_cert(const char *file, const char *desc, osm_buf *err)
{
    X509 *cert = NULL;
    BIO *bio = BIO_new_file(file, "rb");
    if (bio != NULL) {
        cert = PEM_read_bio_X509(bio, NULL, NULL, NULL);
        if (cert == NULL) {
            ERR_clear_error();
            (void)BIO_reset(bio);
            cert = d2i_X509_bio(bio, NULL);
        }
        BIO_free(bio);
    }
    if (cert == NULL) {
        osm_buf_printf(err, "Could not read %s from %s\nUnable to load %s\n", desc, file, desc);
        print_errors(err);
    }
    return cert;
}

static EVP_PKEY *load_key(const char *file, const char *desc, osm_buf *err)
{
    EVP_PKEY *key = NULL;
    BIO *bio = BIO_new_file(file, "rb");
    if (bio != NULL) {
        key = PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL);
        if (key == NULL) {
            ERR_clear_error();
            (void)BIO_reset(bio);
            key = d2i_PrivateKey_bio(bio, NULL);
        }
        BIO_free(bio);
    }
    if (key == NULL) {
        osm_buf_printf(err, "Could not read %s from %s\n", desc, file);
        print_errors(err);
    }
    return key;
}

static STACK_OF(X509) *load_certs(const char *file, osm_buf *err)
{
    STACK_OF(X509) *certs = sk_X509_new_null();
    BIO *bio = BIO_new_file(file, "rb");
    X509 *cert;
    if (bio != NULL) {
        while ((cert = PEM_read_bio_X509(bio, NULL, NULL, NULL)) != NULL)
            sk_X509_push(certs, cert);
        ERR_clear_error(); /* the end of the file */
        BIO_free(bio);
    }
    if (bio == NULL || sk_X509_num(certs) == 0) {
        osm_buf_printf(err, "Could not read certificates from %s\n", file);
        print_errors(err);
        sk_X509_pop_free(certs, X509_free);
        return NULL;
    }
    return certs;
}

/* apps' pkey_ctrl_string / cms_set_pkey_param: "name:value" onto the key context. */
static int set_keyopts(EVP_PKEY_CTX *pctx, const keyopts *k, osm_buf *err)
{
    for (int i = 0; i < k->n; i++) {
        char *name = strdup(k->opts[i]);
        char *value = strchr(name, ':');
        int rv = 0;
        if (value != NULL) {
            *value++ = 0;
            rv = EVP_PKEY_CTX_ctrl_str(pctx, name, value);
        }
        free(name);
        if (rv <= 0) {
            osm_buf_printf(err, "parameter error \"%s\"\n", k->opts[i]);
            print_errors(err);
            return 0;
        }
    }
    return 1;
}

/* apps' opt_cipher_silent: fetched from the default library context, or the legacy table
 * (so -rc2-40 is accepted here and fails later, in CMS_final, as with the CLI). */
static EVP_CIPHER *find_cipher(const char *name)
{
    EVP_CIPHER *c;
    ERR_set_mark();
    if ((c = EVP_CIPHER_fetch(NULL, name, NULL)) != NULL
        || (c = (EVP_CIPHER *)EVP_get_cipherbyname(name)) != NULL) {
        ERR_pop_to_mark();
        return c;
    }
    ERR_clear_last_mark();
    return NULL;
}

static EVP_MD *find_md(const char *name)
{
    EVP_MD *md;
    ERR_set_mark();
    if ((md = EVP_MD_fetch(NULL, name, NULL)) != NULL
        || (md = (EVP_MD *)EVP_get_digestbyname(name)) != NULL) {
        ERR_pop_to_mark();
        return md;
    }
    ERR_clear_last_mark();
    return NULL;
}

static int save_certs(const char *file, STACK_OF(X509) *certs)
{
    BIO *bio = BIO_new_file(file, "w");
    if (bio == NULL)
        return 0;
    for (int i = 0; i < sk_X509_num(certs); i++)
        PEM_write_bio_X509(bio, sk_X509_value(certs, i));
    BIO_free(bio);
    return 1;
}

static int is_format_smime(const char *v)
{
    return strcasecmp(v, "SMIME") == 0;
}

#define NEXT_ARG()                                                    \
    do {                                                              \
        if (++i >= argc) {                                            \
            osm_buf_printf(err, "cms: Option %s needs a value\n", a); \
            return 1;                                                 \
        }                                                             \
    } while (0)

/* Parses the cms options the suite uses; 0 parsed, else the exit code to return. */
static int parse(int argc, char **argv, request *r, osm_buf *err)
{
    int keyopt_seen_before_key = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "-sign") == 0) {
            r->op = OP_SIGN;
        } else if (strcmp(a, "-encrypt") == 0) {
            r->op = OP_ENCRYPT;
        } else if (strcmp(a, "-decrypt") == 0) {
            r->op = OP_DECRYPT;
        } else if (strcmp(a, "-verify") == 0) {
            r->op = OP_VERIFY;
        } else if (strcmp(a, "-in") == 0) {
            NEXT_ARG();
            r->infile = argv[i];
        } else if (strcmp(a, "-out") == 0) {
            NEXT_ARG();
            r->outfile = argv[i];
        } else if (strcmp(a, "-inform") == 0 || strcmp(a, "-outform") == 0) {
            NEXT_ARG();
            if (!is_format_smime(argv[i]))
                return unsupported(err, a, argv[i]);
        } else if (strcmp(a, "-signer") == 0) {
            NEXT_ARG();
            if (r->signerfile != NULL)
                return unsupported(err, "more than one -signer", NULL);
            r->signerfile = argv[i];
        } else if (strcmp(a, "-inkey") == 0) {
            NEXT_ARG();
            if (r->keyfile != NULL)
                return unsupported(err, "more than one -inkey", NULL);
            r->keyfile = argv[i];
        } else if (strcmp(a, "-recip") == 0) {
            NEXT_ARG();
            if (r->op == OP_ENCRYPT) {
                if (r->nrecips == MAX_RECIPS)
                    return unsupported(err, "more recipients than", "16");
                r->recips[r->nrecips++] = argv[i];
            } else {
                r->recipfile = argv[i];
            }
        } else if (strcmp(a, "-keyopt") == 0) {
            NEXT_ARG();
            keyopts *k;
            if (r->op == OP_ENCRYPT)
                k = r->nrecips > 0 ? &r->recip_opts[r->nrecips - 1] : NULL;
            else
                k = (r->signerfile || r->keyfile) ? &r->signer_opts : NULL;
            if (k == NULL) {
                keyopt_seen_before_key = 1;
            } else {
                if (k->n == MAX_KEYOPTS)
                    return unsupported(err, "more -keyopt than", "8");
                k->opts[k->n++] = argv[i];
            }
        } else if (strcmp(a, "-md") == 0) {
            NEXT_ARG();
            r->digest = argv[i];
        } else if (strcmp(a, "-certfile") == 0) {
            NEXT_ARG();
            r->certfile = argv[i];
        } else if (strcmp(a, "-CAfile") == 0) {
            NEXT_ARG();
            r->cafile = argv[i];
        } else if (strcmp(a, "-purpose") == 0) {
            NEXT_ARG();
            r->purpose = argv[i];
            r->vpm_touched = 1;
        } else if (strcmp(a, "-crl_check") == 0) {
            r->crl_check = 1;
            r->vpm_touched = 1;
        } else if (strcmp(a, "-no-CApath") == 0) {
            r->no_capath = 1;
        } else if (strcmp(a, "-no-CAstore") == 0) {
            r->no_castore = 1;
        } else if (strcmp(a, "-nodetach") == 0) {
            r->flags &= ~CMS_DETACHED;
        } else if (strcmp(a, "-nocerts") == 0) {
            r->flags |= CMS_NOCERTS;
        } else if (strcmp(a, "-noattr") == 0) {
            r->flags |= CMS_NOATTR;
        } else if (strcmp(a, "-nosmimecap") == 0) {
            r->flags |= CMS_NOSMIMECAP;
        } else if (strcmp(a, "-keyid") == 0) {
            r->flags |= CMS_USE_KEYID;
        } else if (strcmp(a, "-crlfeol") == 0) {
            r->flags |= CMS_CRLFEOL;
        } else if (strcmp(a, "-binary") == 0) {
            r->flags |= CMS_BINARY;
        } else if (strcmp(a, "-noverify") == 0) {
            r->flags |= CMS_NO_SIGNER_CERT_VERIFY;
        } else if (a[0] == '-' && a[1] != 0 && r->cipher == NULL) {
            /* apps/cms.c takes any other option as a cipher name; the harness only those
             * libcrypto knows, leaving the CLI's own message about others to the CLI. */
            EVP_CIPHER *c = find_cipher(a + 1);
            if (c == NULL)
                return unsupported(err, "option", a);
            EVP_CIPHER_free(c);
            r->cipher = a + 1;
        } else {
            return unsupported(err, "argument", a);
        }
    }
    if (keyopt_seen_before_key)
        return unsupported(err, "-keyopt before its key", NULL);
    if (r->op == OP_NONE)
        return unsupported(err, "cms without -sign, -encrypt, -decrypt or -verify", NULL);
    if (r->op == OP_SIGN && r->signerfile == NULL)
        return unsupported(err, "-sign without -signer", NULL);
    if (r->op == OP_ENCRYPT && r->nrecips == 0)
        return unsupported(err, "-encrypt without -recip", NULL);
    if (r->op == OP_DECRYPT && r->recipfile == NULL && r->keyfile == NULL)
        return unsupported(err, "-decrypt without -recip or -inkey", NULL);
    if (r->op != OP_SIGN && r->signer_opts.n > 0)
        return unsupported(err, "-keyopt for this operation", NULL);
    return 0;
}

/* apps/cms.c's setup_verify for the options the suite passes (-CAfile with -no-CApath
 * -no-CAstore).  Under -noverify the store is never consulted (CMS_verify skips the
 * chain), so the harness does not load the default CA locations the CLI would load. */
static X509_STORE *setup_verify(const request *r, osm_buf *err)
{
    X509_STORE *store = X509_STORE_new();
    if (r->flags & CMS_NO_SIGNER_CERT_VERIFY)
        return store;
    if (r->cafile != NULL) {
        X509_LOOKUP *lookup = X509_STORE_add_lookup(store, X509_LOOKUP_file());
        if (X509_LOOKUP_load_file_ex(lookup, r->cafile, X509_FILETYPE_PEM, NULL, NULL) <= 0) {
            osm_buf_printf(err, "Error loading file %s\n", r->cafile);
            print_errors(err);
            X509_STORE_free(store);
            return NULL;
        }
    } else {
        X509_LOOKUP *lookup = X509_STORE_add_lookup(store, X509_LOOKUP_file());
        X509_LOOKUP_load_file_ex(lookup, NULL, X509_FILETYPE_DEFAULT, NULL, NULL);
    }
    if (!r->no_capath) {
        X509_LOOKUP *lookup = X509_STORE_add_lookup(store, X509_LOOKUP_hash_dir());
        X509_LOOKUP_add_dir(lookup, NULL, X509_FILETYPE_DEFAULT);
    }
    if (!r->no_castore) {
        X509_LOOKUP *lookup = X509_STORE_add_lookup(store, X509_LOOKUP_store());
        X509_LOOKUP_add_store_ex(lookup, NULL, NULL, NULL);
    }
    ERR_clear_error();
    return store;
}

static int cms_command(int argc, char **argv, const unsigned char *in_data, size_t inlen,
                       osm_buf *outbuf, osm_buf *err)
{
    request r;
    memset(&r, 0, sizeof r);
    r.flags = CMS_DETACHED;
    int ret = parse(argc, argv, &r, err);
    if (ret != 0)
        return ret;

    ret = 1;
    EVP_CIPHER *cipher = NULL;
    EVP_MD *md = NULL;
    STACK_OF(X509) *encerts = sk_X509_new_null(), *other = NULL;
    X509 *recip = NULL, *signer = NULL;
    EVP_PKEY *key = NULL;
    BIO *in = NULL, *out = NULL, *indata = NULL;
    CMS_ContentInfo *cms = NULL;
    X509_STORE *store = NULL;
    X509_VERIFY_PARAM *vpm = X509_VERIFY_PARAM_new();

    if (r.digest != NULL && (md = find_md(r.digest)) == NULL) {
        osm_buf_printf(err, "cms: Unknown option or message digest: %s\n", r.digest);
        goto end;
    }
    if (r.cipher != NULL)
        cipher = find_cipher(r.cipher);
    if (r.purpose != NULL) {
        int idx = X509_PURPOSE_get_by_sname(r.purpose);
        if (idx < 0) {
            osm_buf_printf(err, "cms: Invalid purpose %s\n", r.purpose);
            goto end;
        }
        X509_VERIFY_PARAM_set_purpose(vpm, X509_PURPOSE_get_id(X509_PURPOSE_get0(idx)));
    }
    if (r.crl_check)
        X509_VERIFY_PARAM_set_flags(vpm, X509_V_FLAG_CRL_CHECK);

    ret = 2;
    if (r.op != OP_SIGN)
        r.flags &= ~CMS_DETACHED;

    if (r.op == OP_ENCRYPT) {
        if (cipher == NULL)
            cipher = EVP_CIPHER_fetch(NULL, "AES-256-CBC", NULL);
        for (int i = 0; i < r.nrecips; i++) {
            X509 *cert = load_cert(r.recips[i], "recipient certificate file", err);
            if (cert == NULL)
                goto end;
            sk_X509_push(encerts, cert);
        }
    }
    if (r.certfile != NULL && (other = load_certs(r.certfile, err)) == NULL)
        goto end;
    if (r.recipfile != NULL && r.op == OP_DECRYPT
        && (recip = load_cert(r.recipfile, "recipient certificate file", err)) == NULL)
        goto end;

    const char *keyfile = NULL;
    if (r.op == OP_DECRYPT)
        keyfile = r.keyfile ? r.keyfile : r.recipfile;
    if (keyfile != NULL && (key = load_key(keyfile, "private key", err)) == NULL)
        goto end;

    if ((in = open_in(r.infile, in_data, inlen, err)) == NULL)
        goto end;
    if (r.op == OP_DECRYPT || r.op == OP_VERIFY) {
        cms = CMS_ContentInfo_new_ex(NULL, NULL);
        if (SMIME_read_CMS_ex(in, r.flags, &indata, &cms) == NULL) {
            osm_buf_printf(err, "Error reading SMIME Content Info\n");
            CMS_ContentInfo_free(cms);
            cms = NULL;
            goto end;
        }
    }
    if ((out = open_out(r.outfile, err)) == NULL)
        goto end;
    if (r.op == OP_VERIFY) {
        if ((store = setup_verify(&r, err)) == NULL)
            goto end;
        if (r.vpm_touched)
            X509_STORE_set1_param(store, vpm);
    }

    ret = 3;
    if (r.op == OP_ENCRYPT) {
        r.flags |= CMS_PARTIAL;
        cms = CMS_encrypt_ex(NULL, in, cipher, r.flags, NULL, NULL);
        if (cms == NULL)
            goto end;
        for (int i = 0; i < sk_X509_num(encerts); i++) {
            CMS_RecipientInfo *ri =
                CMS_add1_recipient(cms, sk_X509_value(encerts, i), NULL, NULL,
                                   r.flags | CMS_KEY_PARAM);
            if (ri == NULL)
                goto end;
            EVP_PKEY_CTX *pctx = CMS_RecipientInfo_get0_pkey_ctx(ri);
            if (!set_keyopts(pctx, &r.recip_opts[i], err))
                goto end;
            int res = EVP_PKEY_CTX_ctrl(pctx, -1, -1, EVP_PKEY_CTRL_CIPHER,
                                        EVP_CIPHER_get_nid(cipher), NULL);
            if (res <= 0 && res != -2)
                goto end;
        }
        if (!CMS_final(cms, in, NULL, r.flags))
            goto end;
    } else if (r.op == OP_SIGN) {
        r.flags |= (r.flags & CMS_DETACHED) ? CMS_STREAM : 0;
        r.flags |= CMS_PARTIAL;
        cms = CMS_sign_ex(NULL, NULL, other, in, r.flags, NULL, NULL);
        if (cms == NULL)
            goto end;
        const char *skey = r.keyfile ? r.keyfile : r.signerfile;
        if ((signer = load_cert(r.signerfile, "signer certificate", err)) == NULL
            || (key = load_key(skey, "signing key", err)) == NULL) {
            ret = 2;
            goto end;
        }
        int tflags = r.flags | (r.signer_opts.n > 0 ? CMS_KEY_PARAM : 0);
        CMS_SignerInfo *si = CMS_add1_signer(cms, signer, key, md, tflags);
        if (si == NULL)
            goto end;
        if (r.signer_opts.n > 0
            && !set_keyopts(CMS_SignerInfo_get0_pkey_ctx(si), &r.signer_opts, err))
            goto end;
        if (!(r.flags & CMS_STREAM) && !CMS_final(cms, in, NULL, r.flags))
            goto end;
    }
    if (cms == NULL) {
        osm_buf_printf(err, "Error creating CMS structure\n");
        goto end;
    }

    ret = 4;
    if (r.op == OP_DECRYPT) {
        if (key != NULL && !CMS_decrypt_set1_pkey_and_peer(cms, key, recip, NULL)) {
            osm_buf_printf(err, "Error decrypting CMS using private key\n");
            goto end;
        }
        if (!CMS_decrypt(cms, NULL, NULL, indata, out, r.flags)) {
            osm_buf_printf(err, "Error decrypting CMS structure\n");
            goto end;
        }
    } else if (r.op == OP_VERIFY) {
        if (CMS_verify(cms, other, store, indata, out, r.flags) > 0) {
            osm_buf_printf(err, "CMS Verification successful\n");
        } else {
            osm_buf_printf(err, "CMS Verification failure\n");
            goto end;
        }
        if (r.signerfile != NULL) {
            STACK_OF(X509) *signers = CMS_get0_signers(cms);
            if (!save_certs(r.signerfile, signers)) {
                osm_buf_printf(err, "Error writing signers to %s\n", r.signerfile);
                sk_X509_free(signers);
                ret = 5;
                goto end;
            }
            sk_X509_free(signers);
        }
    } else {
        if (SMIME_write_CMS(out, cms, in, r.flags) <= 0) {
            ret = 6;
            goto end;
        }
    }
    ret = 0;

end:
    if (ret)
        print_errors(err);
    if (out != NULL && r.outfile == NULL)
        drain(out, outbuf);
    X509_VERIFY_PARAM_free(vpm);
    X509_STORE_free(store);
    CMS_ContentInfo_free(cms);
    BIO_free(indata);
    BIO_free(in);
    BIO_free_all(out);
    EVP_PKEY_free(key);
    X509_free(signer);
    X509_free(recip);
    sk_X509_pop_free(encerts, X509_free);
    sk_X509_pop_free(other, X509_free);
    EVP_CIPHER_free(cipher);
    EVP_MD_free(md);
    return ret;
}

static int handle(int argc, char **argv, const unsigned char *in, size_t inlen, osm_buf *out,
                  osm_buf *err)
{
    ERR_clear_error();
    if (argc == 1 && strcmp(argv[0], "version") == 0) {
        osm_buf_printf(out, "%s (Library: %s)\n", OPENSSL_VERSION_TEXT,
                       OpenSSL_version(OPENSSL_VERSION));
        return 0;
    }
    if (argc >= 1 && strcmp(argv[0], "cms") == 0) {
        int code = cms_command(argc, argv, in, inlen, out, err);
        ERR_clear_error();
        return code;
    }
    return unsupported(err, "command", argc ? argv[0] : "(none)");
}

static char *b64_encode(const unsigned char *data, size_t len)
{
    char *text = malloc(4 * ((len + 2) / 3) + 1);
    if (text == NULL)
        abort();
    EVP_EncodeBlock((unsigned char *)text, data, (int)len);
    return text;
}

static unsigned char *b64_decode(const char *text, size_t *len)
{
    size_t n = strlen(text);
    if (n % 4 != 0)
        return NULL;
    unsigned char *data = malloc(n / 4 * 3 + 1);
    if (data == NULL)
        abort();
    int got = n ? EVP_DecodeBlock(data, (const unsigned char *)text, (int)n) : 0;
    if (got < 0) {
        free(data);
        return NULL;
    }
    /* EVP_DecodeBlock counts the padding as zero bytes. */
    while (n > 0 && text[n - 1] == '=') {
        got--;
        n--;
    }
    *len = (size_t)got;
    return data;
}

int main(void)
{
    OPENSSL_init_crypto(OPENSSL_INIT_LOAD_CONFIG | OPENSSL_INIT_ADD_ALL_CIPHERS
                            | OPENSSL_INIT_ADD_ALL_DIGESTS,
                        NULL);
    return osm_serve("openssl-libcrypto-cms", OpenSSL_version(OPENSSL_VERSION), handle,
                     b64_encode, b64_decode);
}
