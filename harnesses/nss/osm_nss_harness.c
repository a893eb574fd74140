/* osm-nss-harness: the `cmsutil` argv subset the suite uses, run in-process through NSS's
 * CMS library (libsmime3) with the calls of NSS's cmd/smimetools/cmsutil.c (README.md).
 *
 * One process serves many requests (osm-harness/1, ../common/osm_harness.h) and keeps its
 * NSS database open between them.  The database is opened again whenever another process
 * changed it (the agent imports certificates, trust and CRLs with certutil and crlutil),
 * or when a request names another database, so every request sees what a fresh cmsutil
 * would see.
 *
 * Nothing else is kept between calls, on purpose.  Measured (perf, strace), a call's time
 * is NSS's own work, which a fresh cmsutil does as well: RSA in freebl (about 40% of it)
 * and the softoken's SQLite lookups of certificates, keys and trust (some 150 queries a
 * call, each taking and releasing its file locks: about 300 fcntl and 240 stat calls a
 * call; no fsync).  The harness's own part (reading the request's files, two stats of the
 * database) is a few microseconds.  Caching the lookups (the signer's certificate and chain,
 * the recipients') would skip that work, but their results depend on more than the
 * database files: NSS picks among certificates of one nickname by validity at the time of
 * the call, and temporary certificates of the messages being read take part, so a cache
 * could change an answer. */
#define _GNU_SOURCE
#include "../common/osm_harness.h"

#include <cert.h>
#include <certdb.h>
#include <cms.h>
#include <nss.h>
#include <nssb64.h>
#include <pk11func.h>
#include <prerror.h>
#include <prinit.h>
#include <secerr.h>
#include <sechash.h>
#include <secoid.h>
#include <smime.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#define PROG "cmsutil"
#define MAX_RECIPIENTS 64

enum mode { M_UNKNOWN, M_DECODE, M_SIGN, M_ENVELOPE };

typedef struct {
    enum mode mode;
    const char *db, *infile, *outfile, *content, *nickname, *ekp_nick, *hash;
    int detached, signing_time, smime_caps;
    char *recipients[MAX_RECIPIENTS + 1];
    int nrecipients;
} request;

/* The open database and what its files looked like when last seen. */
static char *open_db = NULL;
static struct stat seen_cert, seen_key;

static int unsupported(osm_buf *err, const char *what, const char *arg)
{
    osm_buf_printf(err, OSM_UNSUPPORTED_MARKER "%s%s%s\n", what, arg ? " " : "", arg ? arg : "");
    return OSM_UNSUPPORTED_EXIT;
}

/* NSS's SECU_PrintError: "cmsutil: <what>: <error name>: <error text>". */
static void print_error(osm_buf *err, const char *what)
{
    PRErrorCode code = PORT_GetError();
    const char *name = PR_ErrorToName(code);
    const char *text = PR_ErrorToString(code, 0);
    osm_buf_printf(err, "%s: %s", PROG, what);
    if (name != NULL)
        osm_buf_printf(err, ": %s", name);
    else
        osm_buf_printf(err, ": error %d", (int)code);
    if (text != NULL && strlen(text) > 0)
        osm_buf_printf(err, ": %s\n", text);
}

static char *db_path(const char *db, const char *file)
{
    const char *dir = strncmp(db, "sql:", 4) == 0 ? db + 4 : db;
    char *path = NULL;
    if (asprintf(&path, "%s/%s", dir, file) < 0)
        abort();
    return path;
}

static void stat_db(const char *db, struct stat *cert, struct stat *key)
{
    char *c = db_path(db, "cert9.db"), *k = db_path(db, "key4.db");
    if (stat(c, cert) != 0)
        memset(cert, 0, sizeof *cert);
    if (stat(k, key) != 0)
        memset(key, 0, sizeof *key);
    free(c);
    free(k);
}

static int same_file(const struct stat *a, const struct stat *b)
{
    return a->st_ino == b->st_ino && a->st_size == b->st_size
           && a->st_mtim.tv_sec == b->st_mtim.tv_sec && a->st_mtim.tv_nsec == b->st_mtim.tv_nsec;
}

static char *no_password(PK11SlotInfo *slot, PRBool retry, void *arg)
{
    (void)slot;
    (void)retry;
    (void)arg;
    return NULL;
}

/* The database `db` open and as current as a fresh cmsutil would find it. */
static int use_db(const char *db, osm_buf *err)
{
    struct stat cert, key;
    stat_db(db, &cert, &key);
    if (open_db != NULL && strcmp(open_db, db) == 0 && same_file(&cert, &seen_cert)
        && same_file(&key, &seen_key))
        return 1;
    if (open_db != NULL) {
        fprintf(stderr, "osm-nss-harness: %s changed since the last request: reopened\n", db);
        if (NSS_Shutdown() != SECSuccess) {
            osm_buf_printf(err, "osm-harness: NSS could not close %s to reopen it\n", open_db);
            return 0;
        }
        free(open_db);
        open_db = NULL;
    }
    if (NSS_InitReadWrite(db) != SECSuccess) {
        print_error(err, "NSS_Init failed");
        return 0;
    }
    PK11_SetPasswordFunc(no_password);
    open_db = strdup(db);
    stat_db(db, &seen_cert, &seen_key);
    return 1;
}

static int read_file(const char *path, SECItem *item)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return 0;
    osm_buf b = {0};
    char chunk[65536];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
        osm_buf_append(&b, chunk, n);
    fclose(f);
    item->type = siBuffer;
    item->data = b.data;
    item->len = (unsigned int)b.len;
    return 1;
}

/* cmsutil's -H lookup for the names the suite passes (its legacy table). */
static SECOidTag hash_tag(const char *name)
{
    static const struct {
        const char *name;
        SECOidTag tag;
    } table[] = {{"SHA1", SEC_OID_SHA1},
                 {"SHA224", SEC_OID_SHA224},
                 {"SHA256", SEC_OID_SHA256},
                 {"SHA384", SEC_OID_SHA384},
                 {"SHA512", SEC_OID_SHA512}};
    for (size_t i = 0; i < sizeof table / sizeof table[0]; i++)
        if (strcasecmp(table[i].name, name) == 0)
            return table[i].tag;
    return SEC_OID_UNKNOWN;
}

static int parse(int argc, char **argv, request *r, osm_buf *err)
{
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        const char *needs_value = "dioNYHcr";
        if (a[0] != '-' || a[1] == 0 || a[2] != 0)
            return unsupported(err, "argument", a);
        char o = a[1];
        const char *v = NULL;
        if (strchr(needs_value, o) != NULL) {
            if (i + 1 >= argc)
                return unsupported(err, "option without its value", a);
            v = argv[++i];
        }
        switch (o) {
        case 'D':
            r->mode = M_DECODE;
            break;
        case 'S':
            r->mode = M_SIGN;
            break;
        case 'E':
            r->mode = M_ENVELOPE;
            break;
        case 'd':
            r->db = v;
            break;
        case 'i':
            r->infile = v;
            break;
        case 'o':
            r->outfile = v;
            break;
        case 'c':
            r->content = v;
            break;
        case 'N':
            r->nickname = v;
            break;
        case 'Y':
            r->ekp_nick = v;
            break;
        case 'H':
            r->hash = v;
            break;
        case 'T':
            r->detached = 1;
            break;
        case 'G':
            r->signing_time = 1;
            break;
        case 'P':
            r->smime_caps = 1;
            break;
        case 'r': {
            char *list = strdup(v), *save = NULL;
            for (char *tok = strtok_r(list, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
                if (r->nrecipients == MAX_RECIPIENTS) {
                    free(list);
                    return unsupported(err, "more recipients than", "64");
                }
                r->recipients[r->nrecipients++] = strdup(tok);
            }
            free(list);
            break;
        }
        default:
            return unsupported(err, "option", a);
        }
        /* cmsutil refuses sign options before -S and decode options before -D. */
        if ((strchr("GHNPTY", o) && r->mode != M_SIGN) || (o == 'c' && r->mode != M_DECODE))
            return unsupported(err, "option before its mode", a);
    }
    if (r->mode == M_UNKNOWN)
        return unsupported(err, "no -D, -S or -E", NULL);
    if (r->db == NULL || r->infile == NULL || r->outfile == NULL)
        return unsupported(err, "stdin, stdout or the default database", NULL);
    if (r->mode == M_SIGN && (r->nickname == NULL || r->ekp_nick == NULL
                              || strcmp(r->ekp_nick, "NONE") != 0))
        return unsupported(err, "-S without -N, or with -Y other than NONE", NULL);
    if (r->hash != NULL && hash_tag(r->hash) == SEC_OID_UNKNOWN)
        return unsupported(err, "-H", r->hash);
    return 0;
}

/* cmsutil's decode(): verification statuses on stderr, the content to `out`. */
static NSSCMSMessage *decode(FILE *out, SECItem *input, SECItem *content, osm_buf *err)
{
    CERTCertDBHandle *handle = CERT_GetDefaultCertDB();
    SECCertUsage usage = certUsageEmailSigner;
    SECItem sitem = {siBuffer, NULL, 0};
    PORT_SetError(0);
    NSSCMSDecoderContext *dcx = NSS_CMSDecoder_Start(NULL, NULL, NULL, NULL, NULL, NULL, NULL);
    if (dcx == NULL) {
        osm_buf_printf(err, "%s: failed to set up message decoder.\n", PROG);
        return NULL;
    }
    if (NSS_CMSDecoder_Update(dcx, (char *)input->data, input->len) != SECSuccess) {
        osm_buf_printf(err, "%s: failed to decode message.\n", PROG);
        NSS_CMSDecoder_Cancel(dcx);
        return NULL;
    }
    NSSCMSMessage *cmsg = NSS_CMSDecoder_Finish(dcx);
    if (cmsg == NULL) {
        osm_buf_printf(err, "%s: failed to decode message.\n", PROG);
        return NULL;
    }
    int nlevels = NSS_CMSMessage_ContentLevelCount(cmsg);
    for (int i = 0; i < nlevels; i++) {
        NSSCMSContentInfo *cinfo = NSS_CMSMessage_ContentLevel(cmsg, i);
        SECOidTag type = NSS_CMSContentInfo_GetContentTypeTag(cinfo);
        if (type == SEC_OID_PKCS7_SIGNED_DATA) {
            NSSCMSSignedData *sigd = NSS_CMSContentInfo_GetContent(cinfo);
            if (sigd == NULL) {
                print_error(err, "signedData component missing");
                goto loser;
            }
            if (content->data != NULL && !NSS_CMSSignedData_HasDigests(sigd)) {
                sitem = *content;
                PLArenaPool *pool = PORT_NewArena(1024);
                SECAlgorithmID **algs = NSS_CMSSignedData_GetDigestAlgs(sigd);
                SECItem **digests = NULL;
                NSSCMSDigestContext *dc = NSS_CMSDigestContext_StartMultiple(algs);
                SECStatus rv = SECFailure;
                if (dc != NULL) {
                    NSS_CMSDigestContext_Update(dc, sitem.data, sitem.len);
                    rv = NSS_CMSDigestContext_FinishMultiple(dc, pool, &digests);
                }
                if (rv != SECSuccess) {
                    print_error(err, "problem computing message digest");
                    PORT_FreeArena(pool, PR_FALSE);
                    goto loser;
                }
                if (NSS_CMSSignedData_SetDigests(sigd, algs, digests) != SECSuccess) {
                    print_error(err, "problem setting message digests");
                    PORT_FreeArena(pool, PR_FALSE);
                    goto loser;
                }
                PORT_FreeArena(pool, PR_FALSE);
            }
            if (NSS_CMSSignedData_ImportCerts(sigd, handle, usage, PR_FALSE) != SECSuccess) {
                print_error(err, "cert import failed");
                goto loser;
            }
            int nsigners = NSS_CMSSignedData_SignerInfoCount(sigd);
            if (nsigners == 0) {
                if (NSS_CMSSignedData_VerifyCertsOnly(sigd, handle, usage) != SECSuccess) {
                    osm_buf_printf(err, "cmsutil: Verify certs-only failed!\n");
                    goto loser;
                }
                return cmsg;
            }
            if (!NSS_CMSSignedData_HasDigests(sigd)) {
                print_error(err, "no message digests");
                goto loser;
            }
            for (int j = 0; j < nsigners; j++) {
                NSSCMSSignerInfo *si = NSS_CMSSignedData_GetSignerInfo(sigd, j);
                SECStatus bad = NSS_CMSSignedData_VerifySignerInfo(sigd, j, handle, usage);
                NSSCMSVerificationStatus vs = NSS_CMSSignerInfo_GetVerificationStatus(si);
                if (bad && out) {
                    osm_buf_printf(err, "signer %d status = %s\n", j,
                                   NSS_CMSUtil_VerificationStatusToString(vs));
                    goto loser;
                }
            }
        } else if (type == SEC_OID_PKCS7_ENVELOPED_DATA) {
            if (NSS_CMSContentInfo_GetContent(cinfo) == NULL) {
                print_error(err, "envelopedData component missing");
                goto loser;
            }
        } else if (type == SEC_OID_PKCS7_ENCRYPTED_DATA) {
            if (NSS_CMSContentInfo_GetContent(cinfo) == NULL) {
                print_error(err, "encryptedData component missing");
                goto loser;
            }
        }
    }
    if (out) {
        SECItem *item = sitem.data ? &sitem : NSS_CMSMessage_GetContent(cmsg);
        if (item && item->data && item->len)
            fwrite(item->data, item->len, 1, out);
    }
    return cmsg;
loser:
    NSS_CMSMessage_Destroy(cmsg);
    return NULL;
}

/* cmsutil's signed_data() for -N nick -Y NONE. */
static NSSCMSMessage *signed_data(const request *r, osm_buf *err)
{
    CERTCertDBHandle *handle = CERT_GetDefaultCertDB();
    CERTCertificate *cert =
        CERT_FindUserCertByUsage(handle, (char *)r->nickname, certUsageEmailSigner, PR_FALSE,
                                 NULL);
    if (cert == NULL) {
        char what[512];
        snprintf(what, sizeof what, "the corresponding cert for key \"%s\" does not exist",
                 r->nickname);
        print_error(err, what);
        return NULL;
    }
    NSSCMSMessage *cmsg = NSS_CMSMessage_Create(NULL);
    NSSCMSSignerInfo *si = NULL;
    if (cmsg == NULL) {
        osm_buf_printf(err, "ERROR: cannot create CMS message.\n");
        CERT_DestroyCertificate(cert);
        return NULL;
    }
    NSSCMSSignedData *sigd = NSS_CMSSignedData_Create(cmsg);
    if (sigd == NULL) {
        osm_buf_printf(err, "ERROR: cannot create CMS signedData object.\n");
        goto loser;
    }
    NSSCMSContentInfo *cinfo = NSS_CMSMessage_GetContentInfo(cmsg);
    if (NSS_CMSContentInfo_SetContent_SignedData(cmsg, cinfo, sigd) != SECSuccess) {
        osm_buf_printf(err, "ERROR: cannot attach CMS signedData object.\n");
        goto loser;
    }
    cinfo = NSS_CMSSignedData_GetContentInfo(sigd);
    if (NSS_CMSContentInfo_SetContent_Data(cmsg, cinfo, NULL, r->detached ? PR_TRUE : PR_FALSE)
        != SECSuccess) {
        osm_buf_printf(err, "ERROR: cannot attach CMS data object.\n");
        goto loser;
    }
    si = NSS_CMSSignerInfo_Create(cmsg, cert, r->hash ? hash_tag(r->hash) : SEC_OID_SHA256);
    if (si == NULL) {
        osm_buf_printf(err, "ERROR: cannot create CMS signerInfo object.\n");
        goto loser;
    }
    if (NSS_CMSSignerInfo_IncludeCerts(si, NSSCMSCM_CertChain, certUsageEmailSigner)
        != SECSuccess) {
        osm_buf_printf(err, "ERROR: cannot find cert chain.\n");
        goto loser;
    }
    if (r->signing_time && NSS_CMSSignerInfo_AddSigningTime(si, PR_Now()) != SECSuccess) {
        osm_buf_printf(err, "ERROR: cannot add signingTime attribute.\n");
        goto loser;
    }
    if (r->smime_caps && NSS_CMSSignerInfo_AddSMIMECaps(si) != SECSuccess) {
        osm_buf_printf(err, "ERROR: cannot add SMIMECaps attribute.\n");
        goto loser;
    }
    if (NSS_CMSSignedData_AddSignerInfo(sigd, si) != SECSuccess) {
        osm_buf_printf(err, "ERROR: cannot add CMS signerInfo object.\n");
        goto loser;
    }
    CERT_DestroyCertificate(cert);
    return cmsg;
loser:
    if (si)
        NSS_CMSSignerInfo_Destroy(si);
    CERT_DestroyCertificate(cert);
    NSS_CMSMessage_Destroy(cmsg);
    return NULL;
}

/* cmsutil's enveloped_data(). */
static NSSCMSMessage *enveloped_data(const request *r, osm_buf *err)
{
    CERTCertDBHandle *handle = CERT_GetDefaultCertDB();
    CERTCertificate *certs[MAX_RECIPIENTS + 1] = {0};
    NSSCMSMessage *cmsg = NULL;
    int i;
    if (r->nrecipients == 0) {
        osm_buf_printf(err, "ERROR: please name at least one recipient.\n");
        return NULL;
    }
    for (i = 0; i < r->nrecipients; i++) {
        certs[i] = CERT_FindCertByNicknameOrEmailAddr(handle, r->recipients[i]);
        if (certs[i] == NULL) {
            char what[512];
            snprintf(what, sizeof what, "cannot find certificate for \"%s\"", r->recipients[i]);
            print_error(err, what);
            goto loser;
        }
    }
    SECOidTag bulk;
    int keysize;
    if (NSS_SMIMEUtil_FindBulkAlgForRecipients(certs, &bulk, &keysize) != SECSuccess) {
        osm_buf_printf(err, "ERROR: cannot find common bulk algorithm.\n");
        goto loser;
    }
    if ((cmsg = NSS_CMSMessage_Create(NULL)) == NULL) {
        osm_buf_printf(err, "ERROR: cannot create CMS message.\n");
        goto loser;
    }
    NSSCMSEnvelopedData *envd = NSS_CMSEnvelopedData_Create(cmsg, bulk, keysize);
    if (envd == NULL) {
        osm_buf_printf(err, "ERROR: cannot create CMS envelopedData object.\n");
        goto loser;
    }
    NSSCMSContentInfo *cinfo = NSS_CMSMessage_GetContentInfo(cmsg);
    if (NSS_CMSContentInfo_SetContent_EnvelopedData(cmsg, cinfo, envd) != SECSuccess) {
        osm_buf_printf(err, "ERROR: cannot attach CMS envelopedData object.\n");
        goto loser;
    }
    cinfo = NSS_CMSEnvelopedData_GetContentInfo(envd);
    if (NSS_CMSContentInfo_SetContent_Data(cmsg, cinfo, NULL, PR_FALSE) != SECSuccess) {
        osm_buf_printf(err, "ERROR: cannot attach CMS data object.\n");
        goto loser;
    }
    for (i = 0; certs[i] != NULL; i++) {
        NSSCMSRecipientInfo *ri = NSS_CMSRecipientInfo_Create(cmsg, certs[i]);
        if (ri == NULL) {
            osm_buf_printf(err, "ERROR: cannot create CMS recipientInfo object.\n");
            goto loser;
        }
        if (NSS_CMSEnvelopedData_AddRecipient(envd, ri) != SECSuccess) {
            osm_buf_printf(err, "ERROR: cannot add CMS recipientInfo object.\n");
            goto loser;
        }
    }
    for (i = 0; certs[i] != NULL; i++)
        CERT_DestroyCertificate(certs[i]);
    return cmsg;
loser:
    for (i = 0; i < r->nrecipients; i++)
        if (certs[i] != NULL)
            CERT_DestroyCertificate(certs[i]);
    if (cmsg)
        NSS_CMSMessage_Destroy(cmsg);
    return NULL;
}

static int cmsutil(int argc, char **argv, osm_buf *err)
{
    request r;
    memset(&r, 0, sizeof r);
    int code = parse(argc, argv, &r, err);
    if (code != 0)
        goto done;
    code = 1;
    SECItem input = {siBuffer, NULL, 0}, content = {siBuffer, NULL, 0};
    NSSCMSMessage *cmsg = NULL;
    /* cmsutil opens -i and -o, and reads -c, while it parses its options. */
    FILE *probe = fopen(r.infile, "rb");
    if (probe == NULL) {
        osm_buf_printf(err, "%s: unable to open \"%s\" for reading\n", PROG, r.infile);
        goto done;
    }
    fclose(probe);
    FILE *out = fopen(r.outfile, "wb");
    if (out == NULL) {
        osm_buf_printf(err, "%s: unable to open \"%s\" for writing\n", PROG, r.outfile);
        goto done;
    }
    if (r.content != NULL) {
        if (!read_file(r.content, &content)) {
            osm_buf_printf(err, "%s: unable to open \"%s\" for reading.\n", PROG, r.content);
            fclose(out);
            goto done;
        }
        if (content.data == NULL) /* an empty file */
            content.data = (unsigned char *)strdup("");
    }
    if (!read_file(r.infile, &input)) {
        osm_buf_printf(err, "%s: unable to read infile\n", PROG);
        fclose(out);
        goto cleanup;
    }
    if (!use_db(r.db, err)) {
        fclose(out);
        goto cleanup;
    }
    code = 0;
    if (r.mode == M_DECODE) {
        cmsg = decode(out, &input, &content, err);
        if (cmsg == NULL) {
            print_error(err, "problem decoding");
            code = 1;
        }
    } else if (r.mode == M_SIGN) {
        if ((cmsg = signed_data(&r, err)) == NULL) {
            print_error(err, "problem signing");
            code = 1;
        }
    } else {
        if ((cmsg = enveloped_data(&r, err)) == NULL) {
            print_error(err, "problem enveloping");
            code = 1;
        }
    }
    if (r.mode != M_DECODE && code == 0) {
        PLArenaPool *arena = PORT_NewArena(1024);
        SECItem output = {siBuffer, NULL, 0};
        NSSCMSEncoderContext *ecx =
            NSS_CMSEncoder_Start(cmsg, NULL, NULL, &output, arena, NULL, NULL, NULL, NULL, NULL,
                                 NULL);
        if (ecx == NULL) {
            osm_buf_printf(err, "%s: cannot create encoder context.\n", PROG);
            code = 1;
        } else if (input.len > 0 && NSS_CMSEncoder_Update(ecx, (char *)input.data, input.len)) {
            osm_buf_printf(err, "%s: failed to add data to encoder.\n", PROG);
            (void)NSS_CMSEncoder_Finish(ecx);
            code = 1;
        } else if (NSS_CMSEncoder_Finish(ecx) != SECSuccess) {
            print_error(err, "failed to encode data");
            code = 1;
        } else {
            fwrite(output.data, output.len, 1, out);
        }
        PORT_FreeArena(arena, PR_FALSE);
    }
    if (cmsg)
        NSS_CMSMessage_Destroy(cmsg);
    fclose(out);
    /* What this request wrote to the database is not a change by another process. */
    stat_db(r.db, &seen_cert, &seen_key);
cleanup:
    free(input.data);
    free(content.data);
done:
    for (int i = 0; i < r.nrecipients; i++)
        free(r.recipients[i]);
    return code;
}

static int handle(int argc, char **argv, const unsigned char *in, size_t inlen, osm_buf *out,
                  osm_buf *err)
{
    (void)in;
    (void)inlen;
    (void)out;
    return cmsutil(argc, argv, err);
}

static char *b64_encode(const unsigned char *data, size_t len)
{
    if (len == 0)
        return strdup("");
    SECItem item = {siBuffer, (unsigned char *)data, (unsigned int)len};
    char *text = NSSBase64_EncodeItem(NULL, NULL, 0, &item);
    if (text == NULL)
        abort();
    /* NSS wraps lines at 64 columns: the protocol wants one line. */
    char *w = text;
    for (char *p = text; *p; p++)
        if (*p != '\r' && *p != '\n')
            *w++ = *p;
    *w = 0;
    char *copy = strdup(text);
    PORT_Free(text);
    return copy;
}

static unsigned char *b64_decode(const char *text, size_t *len)
{
    if (*text == 0) {
        *len = 0;
        return calloc(1, 1);
    }
    SECItem *item = NSSBase64_DecodeBuffer(NULL, NULL, text, (unsigned int)strlen(text));
    if (item == NULL)
        return NULL;
    unsigned char *data = malloc(item->len + 1);
    memcpy(data, item->data, item->len);
    *len = item->len;
    SECITEM_FreeItem(item, PR_TRUE);
    return data;
}

int main(void)
{
    PR_Init(PR_SYSTEM_THREAD, PR_PRIORITY_NORMAL, 1);
    int code = osm_serve("nss-libsmime", NSS_GetVersion(), handle, b64_encode, b64_decode);
    if (open_db != NULL)
        NSS_Shutdown();
    return code;
}
