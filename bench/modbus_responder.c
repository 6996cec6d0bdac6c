/*
 * modbus_responder: a Modbus TCP device farm for bench/pipeline.py, a few microseconds
 * of CPU per answer.
 *
 * At 100 Hz the project's pymodbus simulator needs a whole core for 2,000 reads a second
 * (bench/README.md, "Fifth pass"), on a 2-core machine that also runs the edge agent,
 * Mosquitto and the subscriber: the machine, not the edge, then decided how late the
 * edge's wake-ups were. Field devices have CPUs of their own. This program answers the
 * bench devices' reads from register images the bench computed with the simulator's own
 * scenario and encoders (bench/_pipeline_responder.py), so the readings are the
 * simulator's; only the serving is cheap.
 *
 *   modbus_responder FRAMES_FILE
 *
 * FRAMES_FILE (little-endian header, then big-endian register words as on the wire):
 *   "MBRF", u32 devices, u32 frames, u32 registers, f64 tick_s,
 *   devices x (u16 port, u8 unit, u8 pad),
 *   devices x frames x registers x 2 bytes.
 * Frame k is served from wall-clock time k * tick_s (modulo frames): the value changes
 * once a tick, as the simulator's noise does.
 *
 * Read holding registers (3) is answered from the image; a read past it gets exception 2
 * (illegal data address), a count outside 1..125 or a short request exception 3, any other
 * function exception 1; a request to another unit than the device's (unit 0: any) gets no
 * answer (a gateway's absent unit). Prints READY when every port listens and exits when
 * stdin closes.
 *
 * Built by bench/_pipeline_responder.py:
 *   gcc -O2 -Wall -o bench/build/modbus_responder bench/modbus_responder.c
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <math.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define MAX_EVENTS 256
#define BUFFER 4096

struct device {
    uint16_t port;
    uint8_t unit;
    int listener;
};

struct connection {
    int fd;
    int device;
    size_t used;
    uint8_t buffer[BUFFER];
};

static uint32_t n_devices, n_frames, n_registers;
static double tick_s;
static struct device *devices;
static uint8_t *images; /* devices x frames x registers x 2 */

static void die(const char *what) {
    perror(what);
    exit(2);
}

static void load(const char *path) {
    FILE *file = fopen(path, "rb");
    char magic[4];
    if (!file) die(path);
    if (fread(magic, 1, 4, file) != 4 || memcmp(magic, "MBRF", 4) != 0) {
        fprintf(stderr, "%s: not a frames file\n", path);
        exit(2);
    }
    if (fread(&n_devices, 4, 1, file) != 1 || fread(&n_frames, 4, 1, file) != 1 ||
        fread(&n_registers, 4, 1, file) != 1 || fread(&tick_s, 8, 1, file) != 1) {
        fprintf(stderr, "%s: short header\n", path);
        exit(2);
    }
    if (n_devices < 1 || n_devices > 65535 || n_frames < 1 || n_frames > 100000 ||
        n_registers < 1 || n_registers > 65536 || !isfinite(tick_s) || tick_s <= 0) {
        fprintf(stderr, "%s: header out of range (%u devices, %u frames, %u registers, tick %g)\n",
                path, n_devices, n_frames, n_registers, tick_s);
        exit(2);
    }
    size_t size = (size_t)n_devices * n_frames * n_registers * 2; /* < 2^50: no overflow */
    struct stat info;
    if (fstat(fileno(file), &info) != 0) die(path);
    if ((size_t)info.st_size != 24 + 4 * (size_t)n_devices + size) {
        fprintf(stderr, "%s: %lld bytes, the header says %zu\n", path, (long long)info.st_size,
                24 + 4 * (size_t)n_devices + size);
        exit(2);
    }
    devices = calloc(n_devices, sizeof *devices);
    images = malloc(size);
    if (!devices || !images) die("malloc");
    for (uint32_t i = 0; i < n_devices; i++) {
        uint8_t entry[4];
        if (fread(entry, 1, 4, file) != 4) die("reading the device table");
        devices[i].port = (uint16_t)(entry[0] | entry[1] << 8);
        devices[i].unit = entry[2];
    }
    if (fread(images, 1, size, file) != size) {
        fprintf(stderr, "%s: short register images\n", path);
        exit(2);
    }
    fclose(file);
}

static int listen_on(uint16_t port) {
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    int one = 1;
    struct sockaddr_in address = {.sin_family = AF_INET, .sin_port = htons(port)};
    if (fd < 0) die("socket");
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(fd, (struct sockaddr *)&address, sizeof address) < 0) die("bind");
    if (listen(fd, 16) < 0) die("listen");
    return fd;
}

static uint32_t current_frame(void) {
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    double t = (double)now.tv_sec + now.tv_nsec / 1e9;
    return (uint32_t)((uint64_t)(t / tick_s) % n_frames);
}

/* Answer one request frame (header + PDU); returns the bytes written to `out`, 0 for none. */
static size_t answer(const struct connection *c, const uint8_t *frame, size_t length,
                     uint8_t *out) {
    uint8_t unit = frame[6], function = frame[7];
    const struct device *device = &devices[c->device];
    memcpy(out, frame, 4); /* transaction id, protocol id */
    out[6] = unit;
    if (unit != device->unit && unit != 0) return 0;
    if (function == 3 && length >= 12) {
        uint16_t address = (uint16_t)(frame[8] << 8 | frame[9]);
        uint16_t count = (uint16_t)(frame[10] << 8 | frame[11]);
        if (count < 1 || count > 125) {
            out[8] = 3; /* illegal data value */
        } else if ((uint32_t)address + count <= n_registers) {
            const uint8_t *image =
                images + (((size_t)c->device * n_frames + current_frame()) * n_registers + address) * 2;
            out[4] = 0;
            out[5] = (uint8_t)(3 + 2 * count);
            out[7] = function;
            out[8] = (uint8_t)(2 * count);
            memcpy(out + 9, image, 2 * (size_t)count);
            return 9 + 2 * (size_t)count;
        } else {
            out[8] = 2; /* illegal data address */
        }
    } else if (function == 3) {
        out[8] = 3; /* a read request too short to hold its address and count */
    } else {
        out[8] = 1; /* illegal function */
    }
    out[4] = 0;
    out[5] = 3;
    out[7] = (uint8_t)(function | 0x80);
    return 9;
}

/* Serve every whole frame in the buffer; false when the stream is not Modbus TCP. */
static int serve(struct connection *c) {
    uint8_t out[9 + 250];
    size_t start = 0;
    while (c->used - start >= 7) {
        const uint8_t *frame = c->buffer + start;
        size_t length = (size_t)(frame[4] << 8 | frame[5]);
        if (frame[2] != 0 || frame[3] != 0 || length < 2 || length > 254) return 0;
        if (c->used - start < 6 + length) break;
        size_t n = answer(c, frame, 6 + length, out);
        if (n && send(c->fd, out, n, MSG_NOSIGNAL) != (ssize_t)n) return 0;
        start += 6 + length;
    }
    memmove(c->buffer, c->buffer + start, c->used - start);
    c->used -= start;
    return 1;
}

static void drop(int epoll, struct connection *c) {
    epoll_ctl(epoll, EPOLL_CTL_DEL, c->fd, NULL);
    close(c->fd);
    free(c);
}

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: %s FRAMES_FILE\n", argv[0]);
        return 2;
    }
    load(argv[1]);
    int epoll = epoll_create1(0);
    if (epoll < 0) die("epoll_create1");
    struct epoll_event event = {.events = EPOLLIN, .data.u64 = 0};
    if (epoll_ctl(epoll, EPOLL_CTL_ADD, 0, &event) != 0) /* stdin: 0 means "stdin" */
        perror("stdin (it cannot be watched: stop this process with a signal)");
    for (uint32_t i = 0; i < n_devices; i++) {
        devices[i].listener = listen_on(devices[i].port);
        event.data.u64 = (uint64_t)i + 1; /* 1..n: a listener */
        epoll_ctl(epoll, EPOLL_CTL_ADD, devices[i].listener, &event);
    }
    fprintf(stderr, "%u devices, %u frames of %u registers\n", n_devices, n_frames, n_registers);
    printf("READY\n");
    fflush(stdout);
    struct epoll_event events[MAX_EVENTS];
    for (;;) {
        int n = epoll_wait(epoll, events, MAX_EVENTS, -1);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) die("epoll_wait");
        for (int e = 0; e < n; e++) {
            uint64_t tag = events[e].data.u64;
            if (tag == 0) { /* stdin readable: closed (or a line we ignore) */
                char ignored[64];
                if (read(0, ignored, sizeof ignored) <= 0) return 0;
            } else if (tag <= n_devices) {
                int fd = accept4(devices[tag - 1].listener, NULL, NULL, SOCK_NONBLOCK);
                if (fd < 0) continue;
                int one = 1;
                setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
                struct connection *c = calloc(1, sizeof *c);
                if (!c) die("calloc");
                c->fd = fd;
                c->device = (int)(tag - 1);
                struct epoll_event client = {.events = EPOLLIN, .data.ptr = c};
                epoll_ctl(epoll, EPOLL_CTL_ADD, fd, &client);
            } else {
                struct connection *c = events[e].data.ptr;
                ssize_t got = recv(c->fd, c->buffer + c->used, BUFFER - c->used, 0);
                if (got <= 0) {
                    if (got < 0 && (errno == EAGAIN || errno == EINTR)) continue;
                    drop(epoll, c);
                    continue;
                }
                c->used += (size_t)got;
                if (!serve(c)) drop(epoll, c); /* what is left is under one frame */
            }
        }
    }
}
