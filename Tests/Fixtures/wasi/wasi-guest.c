// A waPC guest in C against Debian's wasi-libc, to test the host's WASI preview 1 subset:
// printf (fd_write, fd_fdstat_get), time (clock_time_get), exit (proc_exit), getenv/argv (none).
// Built as a WASI reactor (exports _initialize) by build.sh beside this file.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

__attribute__((import_module("wapc"), import_name("__guest_request")))
void guest_request(char *op, char *payload);
__attribute__((import_module("wapc"), import_name("__guest_response")))
void guest_response(const char *ptr, size_t len);
__attribute__((import_module("wapc"), import_name("__guest_error")))
void guest_error(const char *ptr, size_t len);

static int respond(const char *text) {
    guest_response(text, strlen(text));
    return 1;
}

__attribute__((export_name("__guest_call")))
int guest_call(int op_len, int payload_len) {
    char *op = calloc(op_len + 1, 1);
    char *payload = calloc(payload_len + 1, 1);
    if (!op || !payload) return 0;
    guest_request(op, payload);
    char answer[64];
    int ok;
    if (strcmp(op, "hello") == 0) {
        printf("hello from C, %s\n", payload);  // to the host's log, not into the response
        fprintf(stderr, "and a line on stderr\n");
        ok = respond("ok");
    } else if (strcmp(op, "time") == 0) {
        snprintf(answer, sizeof answer, "%lld", (long long)time(NULL));
        ok = respond(answer);
    } else if (strcmp(op, "env") == 0) {
        const char *home = getenv("HOME");
        ok = respond(home ? home : "no environment");
    } else if (strcmp(op, "exit") == 0) {
        exit(3);
    } else {
        const char *message = "unknown operation";
        guest_error(message, strlen(message));
        ok = 0;
    }
    free(op);
    free(payload);
    return ok;
}
