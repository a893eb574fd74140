/* A small cache of parsed objects keyed by the bytes they were parsed from.
 *
 * The C harnesses read the same key, certificate and trust files at nearly every call; a
 * command line parses them again each time, and that parsing (OpenSSL 3's decoders above
 * all) costs more than the cryptography.  A harness reads the file (cheap) and looks the
 * parsed object up by kind and exact content: a file rewritten between calls has other
 * bytes and is parsed afresh, so an entry is never stale.  The cache holds at most
 * OSM_CACHE_ENTRIES objects; the least recently used one is freed to make room. */
#ifndef OSM_CACHE_H
#define OSM_CACHE_H

#include <stddef.h>

#define OSM_CACHE_ENTRIES 64
/* Files larger than this are not cached (the suite's keys, certificates, chains and CRLs
 * are a few kilobytes). */
#define OSM_CACHE_MAX_FILE (1024 * 1024)

/* Frees a cached object when its entry is evicted. */
typedef void (*osm_cache_free)(void *obj);

/* The whole content of `path` (caller frees with free()), NULL if it cannot be read or is
 * larger than OSM_CACHE_MAX_FILE. */
unsigned char *osm_read_whole(const char *path, size_t *len);

/* The object cached for (kind, bytes), or NULL; *tag receives the tag it was stored with. */
void *osm_cache_get(int kind, const unsigned char *bytes, size_t len, int *tag);

/* Stores obj (the cache takes the caller's reference) for (kind, bytes), with a tag the
 * caller gets back from osm_cache_get (e.g. how the object was parsed). */
void osm_cache_put(int kind, const unsigned char *bytes, size_t len, void *obj, int tag,
                   osm_cache_free release);

#endif
