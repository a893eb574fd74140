/* osm-openssl-harness: the `openssl` argv subset the suite uses, run in-process through
 * libcrypto's CMS API with the calls and flags of OpenSSL's apps/cms.c (see README.md).
 *
 * One process serves many requests (osm-harness/1, ../common/osm_harness.h): no process
 * start-up, configuration load or provider initialisation per call.  Every request starts
 * with an empty error queue; exit codes and stderr lines follow the CLI.
 *
 * What is kept between calls, and why it cannot change an answer:
 * - certificates (-recip, -signer), private keys (-inkey), -certfile chains and the
 *   certificates and CRLs of -CAfile, parsed, in a cache keyed by the file's exact bytes
 *   (../common/osm_cache.h): every call still reads each file, so a file rewritten between
 *   calls (a new trust list, a new CRL) has other bytes and is parsed again, as the CLI
 *   would parse it.  Objects are handed out up-referenced and are not modified by the
 *   calls that use them (the X509_STORE of a -verify is built fresh each call from the
 *   cached certificates and CRLs, in the file's order, with that call's parameters).  Only
 *   a parse that succeeded and left the error queue as the file loader would leave it is
 *   cached; a file that cannot be read or parsed goes to the file loader, for the CLI's
 *   messages;
 * - ciphers and digests fetched by name (immutable methods of an unchanging library
 *   context).
 * Parsing a PEM private key costs more than an RSA signature on OpenSSL 3 (its decoders):
 * these caches take a call to about the cost of its cryptography (README.md, Speed). */
#define _GNU_SOURCE
#include "../common/osm_cache.h"
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

/* What the content-keyed cache (../common/osm_cache.h) holds. */
enum kind { K_CERT = 1, K_KEY, K_CERTS, K_CAFILE };
/* The tag of a certificate or key the DER fallback parsed: the PEM attempt before it had
 * cleared the error queue, which a cache hit repeats. */
#define PARSED_AS_DER 1

static void free_cert(void *obj)
{
    X509_free(obj);
}

static void free_key(void *obj)
{
    EVP_PKEY_free(obj);
}

static void free_certs(void *obj)
{
    sk_X509_pop_free(obj, X509_free);
}

static void free_infos(void *obj)
{
    sk_X509_INFO_pop_free(obj, X509_INFO_free);
}

/* PEM first, then DER, as the CLI's loaders accept either; *der tells which parsed it.
 * The parsers return void * to be the cache's `parser` (an X509 or an EVP_PKEY). */
static void *parse_cert(BIO *bio, int *der)
{
    *der = 0;
    X509 *cert = PEM_read_bio_X509(bio, NULL, NULL, NULL);
    if (cert == NULL) {
        ERR_clear_error();
        (void)BIO_reset(bio);
        cert = d2i_X509_bio(bio, NULL);
        *der = 1;
    }
    return cert;
}

static void *parse_key(BIO *bio, int *der)
{
    *der = 0;
    EVP_PKEY *key = PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL);
    if (key == NULL) {
        ERR_clear_error();
        (void)BIO_reset(bio);
        key = d2i_PrivateKey_bio(bio, NULL);
        *der = 1;
    }
    return key;
}

typedef void *(*parser)(BIO *bio, int *der);

/* A certificate or key from the cache by the file's bytes (up-referenced by `up_ref`), or
 * parsed from those bytes and cached.  Only a parse that leaves the error queue as it
 * found it (empty) is cached, so a hit leaves the queue as the parse would have.  NULL
 * when the file cannot be read or parsed: the caller then runs the file loader itself, for
 * the CLI's own messages. */
static void *cached_object(const char *file, enum kind kind, parser parse,
                           int (*up_ref)(void *), osm_cache_free release)
{
    size_t len;
    int tag;
    unsigned char *bytes = osm_read_whole(file, &len);
    if (bytes == NULL)
        return NULL;
    void *obj = osm_cache_get(kind, bytes, len, &tag);
    if (obj != NULL) {
        up_ref(obj);
        if (tag == PARSED_AS_DER)
            ERR_clear_error();
    } else if (ERR_peek_error() == 0) {
        BIO *mem = BIO_new_mem_buf(bytes, (int)len);
        int der = 0;
        obj = mem != NULL ? parse(mem, &der) : NULL;
        BIO_free(mem);
        if (obj != NULL && ERR_peek_error() == 0) {
            osm_cache_put(kind, bytes, len, obj, der ? PARSED_AS_DER : 0, release);
            up_ref(obj);
        } else {
            if (obj != NULL)
                release(obj);
            obj = NULL;
            ERR_clear_error(); /* it was empty: the file loader starts from the same */
        }
    }
    free(bytes);
    return obj;
}

static int up_cert(void *obj)
{
    return X509_up_ref(obj);
}

static int up_key(void *obj)
{
    return EVP_PKEY_up_ref(obj);
}

static X509 *load_cert(const char *file, const char *desc, osm_buf *err)
{
    X509 *cert = cached_object(file, K_CERT, parse_cert, up_cert, free_cert);
    if (cert != NULL)
        return cert;
    BIO *bio = BIO_new_file(file, "rb");
    if (bio != NULL) {
        int der;
        cert = parse_cert(bio, &der);
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
    EVP_PKEY *key = cached_object(file, K_KEY, parse_key, up_key, free_key);
    if (key != NULL)
        return key;
    BIO *bio = BIO_new_file(file, "rb");
    if (bio != NULL) {
        int der;
        key = parse_key(bio, &der);
        BIO_free(bio);
    }
    if (key == NULL) {
        osm_buf_printf(err, "Could not read %s from %s\n", desc, file);
        print_errors(err);
    }
    return key;
}

/* Every PEM certificate of bio, in order; ends with an empty error queue. */
static STACK_OF(X509) *parse_certs(BIO *bio)
{
    STACK_OF(X509) *certs = sk_X509_new_null();
    X509 *cert;
    while ((cert = PEM_read_bio_X509(bio, NULL, NULL, NULL)) != NULL)
        sk_X509_push(certs, cert);
    ERR_clear_error(); /* the end of the file */
    return certs;
}

static STACK_OF(X509) *load_certs(const char *file, osm_buf *err)
{
    size_t len;
    int tag;
    unsigned char *bytes = osm_read_whole(file, &len);
    if (bytes != NULL) {
        STACK_OF(X509) *certs = osm_cache_get(K_CERTS, bytes, len, &tag);
        if (certs == NULL) {
            BIO *mem = BIO_new_mem_buf(bytes, (int)len);
            certs = parse_certs(mem);
            BIO_free(mem);
            if (sk_X509_num(certs) > 0) {
                osm_cache_put(K_CERTS, bytes, len, certs, 0, free_certs);
            } else {
                sk_X509_free(certs);
                certs = NULL;
            }
        }
        free(bytes);
        if (certs != NULL) {
            ERR_clear_error(); /* as the file loader ends */
            return X509_chain_up_ref(certs);
        }
    }
    BIO *bio = BIO_new_file(file, "rb");
    STACK_OF(X509) *certs = NULL;
    if (bio != NULL) {
        certs = parse_certs(bio);
        BIO_free(bio);
    }
    if (certs == NULL || sk_X509_num(certs) == 0) {
        osm_buf_printf(err, "Could not read certificates from %s\n", file);
        print_errors(err);
        sk_X509_pop_free(certs, X509_free);
        return NULL;
    }
    return certs;
}

/* X509_LOOKUP_load_file_ex(PEM) into `lookup`'s store: its certificates and CRLs, in the
 * file's order, added to the store as that loader adds them.  The parsed list is cached by
 * the file's bytes; a file the cache cannot take goes to the loader itself. */
static int load_cafile(X509_STORE *store, X509_LOOKUP *lookup, const char *file)
{
    size_t len;
    int tag;
    unsigned char *bytes = osm_read_whole(file, &len);
    STACK_OF(X509_INFO) *infos = NULL;
    if (bytes != NULL && (infos = osm_cache_get(K_CAFILE, bytes, len, &tag)) != NULL) {
        free(bytes);
        int count = 0;
        for (int i = 0; i < sk_X509_INFO_num(infos); i++) {
            X509_INFO *info = sk_X509_INFO_value(infos, i);
            if (info->x509 != NULL) {
                if (!X509_STORE_add_cert(store, info->x509))
                    return 0;
                count++;
            }
            if (info->crl != NULL) {
                if (!X509_STORE_add_crl(store, info->crl))
                    return 0;
                count++;
            }
        }
        return count;
    }
    int loaded = X509_LOOKUP_load_file_ex(lookup, file, X509_FILETYPE_PEM, NULL, NULL);
    if (loaded > 0 && bytes != NULL) {
        /* Parsed again from the bytes read above (not the file, which may have changed
         * since), as the loader parses; only a list it would load (a certificate or CRL)
         * is kept.  The error queue is left as the loader left it. */
        ERR_set_mark();
        BIO *mem = BIO_new_mem_buf(bytes, (int)len);
        infos = mem != NULL ? PEM_X509_INFO_read_bio_ex(mem, NULL, NULL, "", NULL, NULL) : NULL;
        BIO_free(mem);
        ERR_pop_to_mark();
        int useful = 0;
        for (int i = 0; i < sk_X509_INFO_num(infos); i++) {
            X509_INFO *info = sk_X509_INFO_value(infos, i);
            useful |= info->x509 != NULL || info->crl != NULL;
        }
        if (useful)
            osm_cache_put(K_CAFILE, bytes, len, infos, 0, free_infos);
        else
            free_infos(infos);
    }
    free(bytes);
    return loaded;
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

/* Ciphers and digests found by name, kept for the process: a fetched method is immutable
 * and the library context (default, configuration loaded once at start) does not change,
 * so a name finds the same method at every call.  Only names that were found are kept
 * (a miss leaves the library's errors on the queue, which the caller may print). */
#define MAX_METHODS 32
static struct {
    int digest;
    char *name;
    void *method;
} methods[MAX_METHODS];
static int nmethods;

static void *known_method(int digest, const char *name)
{
    for (int i = 0; i < nmethods; i++)
        if (methods[i].digest == digest && strcmp(methods[i].name, name) == 0)
            return methods[i].method;
    return NULL;
}

static void keep_method(int digest, const char *name, void *method)
{
    if (nmethods == MAX_METHODS)
        return;
    char *copy = strdup(name);
    if (copy == NULL)
        abort();
    methods[nmethods].digest = digest;
    methods[nmethods].name = copy;
    methods[nmethods].method = method;
    nmethods++;
    if (digest)
        EVP_MD_up_ref(method);
    else
        EVP_CIPHER_up_ref(method);
}

/* apps' opt_cipher_silent: fetched from the default library context, or the legacy table
 * (so -rc2-40 is accepted here and fails later, in CMS_final, as with the CLI). */
static EVP_CIPHER *find_cipher(const char *name)
{
    EVP_CIPHER *c = known_method(0, name);
    if (c != NULL) {
        EVP_CIPHER_up_ref(c);
        return c;
    }
    ERR_set_mark();
    if ((c = EVP_CIPHER_fetch(NULL, name, NULL)) != NULL
        || (c = (EVP_CIPHER *)EVP_get_cipherbyname(name)) != NULL) {
        ERR_pop_to_mark();
        keep_method(0, name, c);
        return c;
    }
    ERR_clear_last_mark();
    return NULL;
}

static EVP_MD *find_md(const char *name)
{
    EVP_MD *md = known_method(1, name);
    if (md != NULL) {
        EVP_MD_up_ref(md);
        return md;
    }
    ERR_set_mark();
    if ((md = EVP_MD_fetch(NULL, name, NULL)) != NULL
        || (md = (EVP_MD *)EVP_get_digestbyname(name)) != NULL) {
        ERR_pop_to_mark();
        keep_method(1, name, md);
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
        if (load_cafile(store, lookup, r->cafile) <= 0) {
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
