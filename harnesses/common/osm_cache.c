/* The content-keyed object cache of the C harnesses (osm_cache.h). */
#include "osm_cache.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    int kind;
    unsigned char *bytes;
    size_t len;
    void *obj;
    int tag;
    osm_cache_free release;
    unsigned long used; /* the tick of its last use: the smallest is evicted first */
} entry;

static entry entries[OSM_CACHE_ENTRIES];
static unsigned long tick;

unsigned char *osm_read_whole(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return NULL;
    size_t cap = 8192, n = 0;
    unsigned char *data = malloc(cap);
    if (data == NULL)
        abort();
    for (;;) {
        size_t got = fread(data + n, 1, cap - n, f);
        n += got;
        if (n < cap)
            break;
        if (cap >= OSM_CACHE_MAX_FILE) {
            n = OSM_CACHE_MAX_FILE + 1;
            break;
        }
        cap *= 2;
        unsigned char *grown = realloc(data, cap);
        if (grown == NULL)
            abort();
        data = grown;
    }
    int bad = ferror(f) || n > OSM_CACHE_MAX_FILE;
    fclose(f);
    if (bad) {
        free(data);
        return NULL;
    }
    *len = n;
    return data;
}

void *osm_cache_get(int kind, const unsigned char *bytes, size_t len, int *tag)
{
    for (size_t i = 0; i < OSM_CACHE_ENTRIES; i++) {
        entry *e = &entries[i];
        if (e->obj != NULL && e->kind == kind && e->len == len
            && memcmp(e->bytes, bytes, len) == 0) {
            e->used = ++tick;
            *tag = e->tag;
            return e->obj;
        }
    }
    return NULL;
}

void osm_cache_put(int kind, const unsigned char *bytes, size_t len, void *obj, int tag,
                   osm_cache_free release)
{
    entry *slot = &entries[0];
    for (size_t i = 0; i < OSM_CACHE_ENTRIES; i++) {
        if (entries[i].obj == NULL) {
            slot = &entries[i];
            break;
        }
        if (entries[i].used < slot->used)
            slot = &entries[i];
    }
    if (slot->obj != NULL) {
        slot->release(slot->obj);
        free(slot->bytes);
    }
    unsigned char *copy = malloc(len ? len : 1);
    if (copy == NULL)
        abort();
    memcpy(copy, bytes, len);
    *slot = (entry){kind, copy, len, obj, tag, release, ++tick};
}
