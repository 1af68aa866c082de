// A waPC guest in C against Debian's wasi-libc, to test the host's WASI preview 1 subset:
// printf (fd_write, fd_fdstat_get), time (clock_time_get), exit (proc_exit), getenv/argv (none),
// and what a transaction sees of the clocks and random bytes (stamp).
// Built as a WASI reactor (exports _initialize) by build.sh beside this file.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

__attribute__((import_module("wapc"), import_name("__guest_request")))
void guest_request(char *op, char *payload);
__attribute__((import_module("wapc"), import_name("__guest_response")))
void guest_response(const char *ptr, size_t len);
__attribute__((import_module("wapc"), import_name("__guest_error")))
void guest_error(const char *ptr, size_t len);
__attribute__((import_module("wapc"), import_name("__host_call")))
int host_call(const char *binding, size_t binding_len, const char *ns, size_t ns_len, const char *op, size_t op_len,
              const char *payload, size_t payload_len);

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
    char answer[128];
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
    } else if (strcmp(op, "stamp") == 0) {
        // Writes the world-state key "stamp" (a wasmrpc.guest.v1.PutRequest{key: "stamp", value:
        // "x"}), so that the call is a transaction; answers a Text message (field 1) holding the
        // realtime and monotonic clocks in nanoseconds and 8 random bytes in hex.
        static const char put[] = "\x0a\x05stamp\x12\x01x";
        host_call("wasmrpc", 7, "state", 5, "put", 3, put, sizeof put - 1);
        struct timespec real, mono;
        clock_gettime(CLOCK_REALTIME, &real);
        clock_gettime(CLOCK_MONOTONIC, &mono);
        unsigned char random[8];
        getentropy(random, sizeof random);
        char text[96];
        int length = snprintf(text, sizeof text, "%lld,%lld,", (long long)real.tv_sec * 1000000000LL + real.tv_nsec,
                              (long long)mono.tv_sec * 1000000000LL + mono.tv_nsec);
        for (int i = 0; i < 8; i++) length += snprintf(text + length, sizeof text - length, "%02x", random[i]);
        answer[0] = 0x0a;
        answer[1] = (char)length;
        memcpy(answer + 2, text, length);
        guest_response(answer, length + 2);
        ok = 1;
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
