/*
 * modbus_peer: a small libmodbus client, the C speed peer of bench/poll.py.
 *
 * One thread per TCP connection; each thread cycles through its devices' unit ids
 * issuing read-holding-registers (function 3) back to back until the time is up,
 * then the program prints one JSON line with the totals.
 *
 *   modbus_peer HOST COUNT SECONDS PORT:UNIT[,UNIT...] [PORT:UNIT[,UNIT...] ...]
 *
 * e.g. modbus_peer 127.0.0.1 125 3 15020:1,2,3,4 15021:5,6,7,8
 *
 * Built by bench/poll.py:
 *   gcc -O2 -o bench/build/modbus_peer bench/modbus_peer.c $(pkg-config --cflags --libs libmodbus) -lpthread
 */
#include <errno.h>
#include <modbus.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAX_UNITS 247
#define MAX_CONNECTIONS 64

struct connection {
    const char *host;
    int port;
    int units[MAX_UNITS];
    int n_units;
    int count;
    double seconds;
    long reads;
    long errors;
    double elapsed;
    int failed_connect;
};

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void *run_connection(void *arg) {
    struct connection *c = (struct connection *)arg;
    uint16_t registers[125];
    modbus_t *ctx = modbus_new_tcp(c->host, c->port);
    if (ctx == NULL) {
        c->failed_connect = 1;
        return NULL;
    }
    modbus_set_response_timeout(ctx, 1, 0);
    if (modbus_connect(ctx) == -1) {
        fprintf(stderr, "modbus_peer: connect %s:%d: %s\n", c->host, c->port,
                modbus_strerror(errno));
        c->failed_connect = 1;
        modbus_free(ctx);
        return NULL;
    }
    double start = now_s();
    double deadline = start + c->seconds;
    int next = 0;
    double t = start;
    while (t < deadline) {
        modbus_set_slave(ctx, c->units[next]);
        next = (next + 1) % c->n_units;
        if (modbus_read_registers(ctx, 0, c->count, registers) == c->count) {
            c->reads++;
        } else {
            c->errors++;
            modbus_flush(ctx);
        }
        t = now_s();
    }
    c->elapsed = t - start;
    modbus_close(ctx);
    modbus_free(ctx);
    return NULL;
}

static int parse_connection(const char *spec, struct connection *c) {
    char *copy = strdup(spec);
    char *colon = strchr(copy, ':');
    if (colon == NULL) {
        free(copy);
        return -1;
    }
    *colon = '\0';
    c->port = atoi(copy);
    c->n_units = 0;
    for (char *tok = strtok(colon + 1, ","); tok != NULL; tok = strtok(NULL, ",")) {
        if (c->n_units >= MAX_UNITS) {
            free(copy);
            return -1;
        }
        c->units[c->n_units++] = atoi(tok);
    }
    free(copy);
    return (c->port > 0 && c->n_units > 0) ? 0 : -1;
}

int main(int argc, char **argv) {
    if (argc < 5) {
        fprintf(stderr,
                "usage: %s HOST COUNT SECONDS PORT:UNIT[,UNIT...] [PORT:UNIT[,UNIT...] ...]\n",
                argv[0]);
        return 2;
    }
    const char *host = argv[1];
    int count = atoi(argv[2]);
    double seconds = atof(argv[3]);
    int n = argc - 4;
    if (count < 1 || count > 125 || seconds <= 0 || n > MAX_CONNECTIONS) {
        fprintf(stderr, "modbus_peer: bad COUNT (1-125), SECONDS or too many connections\n");
        return 2;
    }
    static struct connection conns[MAX_CONNECTIONS];
    pthread_t threads[MAX_CONNECTIONS];
    for (int i = 0; i < n; i++) {
        memset(&conns[i], 0, sizeof conns[i]);
        conns[i].host = host;
        conns[i].count = count;
        conns[i].seconds = seconds;
        if (parse_connection(argv[4 + i], &conns[i]) != 0) {
            fprintf(stderr, "modbus_peer: bad connection spec %s\n", argv[4 + i]);
            return 2;
        }
    }
    for (int i = 0; i < n; i++) {
        pthread_create(&threads[i], NULL, run_connection, &conns[i]);
    }
    long reads = 0, errors = 0;
    double elapsed = 0.0;
    int failed = 0;
    for (int i = 0; i < n; i++) {
        pthread_join(threads[i], NULL);
        reads += conns[i].reads;
        errors += conns[i].errors;
        failed += conns[i].failed_connect;
        if (conns[i].elapsed > elapsed) {
            elapsed = conns[i].elapsed;
        }
    }
    double rate = elapsed > 0 ? (double)reads / elapsed : 0.0;
    printf("{\"connections\": %d, \"count\": %d, \"reads\": %ld, \"errors\": %ld, "
           "\"seconds\": %.6f, \"reads_per_s\": %.1f}\n",
           n, count, reads, errors, elapsed, rate);
    return failed ? 1 : 0;
}
