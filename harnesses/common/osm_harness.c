/* The osm-harness/1 loop: JSON lines in, JSON lines out (cJSON does the JSON). */
#define _GNU_SOURCE
#include "osm_harness.h"

#include <cJSON.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void osm_buf_append(osm_buf *b, const void *data, size_t len)
{
    if (len == 0)
        return;
    if (b->len + len + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 1024;
        while (cap < b->len + len + 1)
            cap *= 2;
        unsigned char *grown = realloc(b->data, cap);
        if (grown == NULL)
            abort();
        b->data = grown;
        b->cap = cap;
    }
    memcpy(b->data + b->len, data, len);
    b->len += len;
    b->data[b->len] = 0;
}

void osm_buf_printf(osm_buf *b, const char *fmt, ...)
{
    char small[1024];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(small, sizeof small, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    if ((size_t)n < sizeof small) {
        osm_buf_append(b, small, (size_t)n);
        return;
    }
    char *big = malloc((size_t)n + 1);
    if (big == NULL)
        abort();
    va_start(ap, fmt);
    vsnprintf(big, (size_t)n + 1, fmt, ap);
    va_end(ap);
    osm_buf_append(b, big, (size_t)n);
    free(big);
}

static void emit(cJSON *obj)
{
    char *line = cJSON_PrintUnformatted(obj);
    if (line == NULL)
        abort();
    fputs(line, stdout);
    fputc('\n', stdout);
    fflush(stdout);
    free(line);
}

static void add_b64(cJSON *obj, const char *name, const osm_buf *b, osm_b64_encode encode)
{
    char *text = encode(b->data ? b->data : (const unsigned char *)"", b->len);
    cJSON_AddStringToObject(obj, name, text);
    free(text);
}

static void reply(cJSON *id, int code, const osm_buf *out, const osm_buf *err,
                  osm_b64_encode encode)
{
    cJSON *obj = cJSON_CreateObject();
    if (id != NULL)
        cJSON_AddItemToObject(obj, "id", cJSON_Duplicate(id, 0));
    else
        cJSON_AddNullToObject(obj, "id");
    cJSON_AddNumberToObject(obj, "exit", code);
    add_b64(obj, "stdout", out, encode);
    add_b64(obj, "stderr", err, encode);
    emit(obj);
    cJSON_Delete(obj);
}

static void refuse(cJSON *id, const char *why, osm_b64_encode encode)
{
    osm_buf out = {0}, err = {0};
    osm_buf_printf(&err, "osm-harness: bad request: %s\n", why);
    reply(id, 2, &out, &err, encode);
    free(err.data);
}

int osm_serve(const char *implementation, const char *version, osm_handler handler,
              osm_b64_encode encode, osm_b64_decode decode)
{
    char home[PATH_MAX];
    if (getcwd(home, sizeof home) == NULL)
        strcpy(home, "/");
    cJSON *hello = cJSON_CreateObject();
    cJSON_AddStringToObject(hello, "protocol", "osm-harness/1");
    cJSON_AddStringToObject(hello, "implementation", implementation);
    cJSON_AddStringToObject(hello, "version", version);
    emit(hello);
    cJSON_Delete(hello);

    char *line = NULL;
    size_t cap = 0;
    ssize_t got;
    while ((got = getline(&line, &cap, stdin)) > 0) {
        if (got == 1 && line[0] == '\n')
            continue;
        cJSON *req = cJSON_Parse(line);
        if (req == NULL || !cJSON_IsObject(req)) {
            refuse(NULL, "not a JSON object", encode);
            cJSON_Delete(req);
            continue;
        }
        cJSON *id = cJSON_GetObjectItemCaseSensitive(req, "id");
        if (!cJSON_IsNumber(id)) {
            refuse(NULL, "no integer id", encode);
            cJSON_Delete(req);
            continue;
        }
        cJSON *args = cJSON_GetObjectItemCaseSensitive(req, "argv");
        cJSON *in64 = cJSON_GetObjectItemCaseSensitive(req, "stdin");
        cJSON *cwd = cJSON_GetObjectItemCaseSensitive(req, "cwd");
        if (!cJSON_IsArray(args)) {
            refuse(id, "argv is not a list of strings", encode);
            cJSON_Delete(req);
            continue;
        }
        int argc = cJSON_GetArraySize(args);
        char **argv = calloc((size_t)argc + 1, sizeof *argv);
        int ok = argv != NULL;
        for (int i = 0; ok && i < argc; i++) {
            cJSON *a = cJSON_GetArrayItem(args, i);
            if (!cJSON_IsString(a))
                ok = 0;
            else
                argv[i] = a->valuestring;
        }
        unsigned char *in = NULL;
        size_t inlen = 0;
        if (ok && in64 != NULL && !cJSON_IsNull(in64)) {
            if (!cJSON_IsString(in64) || (in = decode(in64->valuestring, &inlen)) == NULL)
                ok = -1;
        }
        const char *dir = home;
        if (ok == 1 && cwd != NULL && !cJSON_IsNull(cwd)) {
            if (cJSON_IsString(cwd))
                dir = cwd->valuestring;
            else
                ok = -2;
        }
        if (ok == 1 && chdir(dir) != 0)
            ok = -3;
        if (ok != 1) {
            refuse(id,
                   ok == 0    ? "argv is not a list of strings"
                   : ok == -1 ? "stdin is not base64"
                   : ok == -2 ? "cwd is not a string"
                              : "cannot change to cwd",
                   encode);
        } else {
            osm_buf out = {0}, err = {0};
            int code = handler(argc, argv, in ? in : (const unsigned char *)"", inlen, &out, &err);
            reply(id, code, &out, &err, encode);
            free(out.data);
            free(err.data);
        }
        free(in);
        free(argv);
        cJSON_Delete(req);
    }
    free(line);
    return 0;
}
