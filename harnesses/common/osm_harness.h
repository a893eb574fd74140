/* The osm-harness/1 protocol loop shared by the C harnesses (docs: harnesses/README.md).
 *
 * A harness links this file and supplies a handler that runs one argv exactly as the
 * command-line tool would, writing the tool's stdout and stderr into two buffers, plus
 * base64 functions from its own crypto library. */
#ifndef OSM_HARNESS_H
#define OSM_HARNESS_H

#include <stddef.h>

/* A growable byte buffer: what the tool would have printed on one stream. */
typedef struct {
    unsigned char *data;
    size_t len;
    size_t cap;
} osm_buf;

void osm_buf_append(osm_buf *b, const void *data, size_t len);
void osm_buf_printf(osm_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Exit code and marker of an argv the harness does not implement: the parent then runs
 * the real command line instead (conformance/agents/tools.py reads the marker). */
#define OSM_UNSUPPORTED_EXIT 2
#define OSM_UNSUPPORTED_MARKER "osm-harness: not implemented here: "

/* Runs argv[0..argc) (the tool's argv after the program name); returns the exit code. */
typedef int (*osm_handler)(int argc, char **argv, const unsigned char *in, size_t inlen,
                           osm_buf *out, osm_buf *err);
/* base64 of data (NUL-terminated, caller frees with free()). */
typedef char *(*osm_b64_encode)(const unsigned char *data, size_t len);
/* decoded bytes of text (caller frees with free()), NULL on bad base64. */
typedef unsigned char *(*osm_b64_decode)(const char *text, size_t *len);

/* Writes the hello line, then serves requests from stdin until EOF; returns the exit code. */
int osm_serve(const char *implementation, const char *version, osm_handler handler,
              osm_b64_encode encode, osm_b64_decode decode);

#endif
