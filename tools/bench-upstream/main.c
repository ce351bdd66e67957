/*
 * bench-upstream: the small-JSON HTTP/1.1 upstream of the gateway benchmark (scripts/bench.sh).
 *
 *   bench-upstream --port PORT [--threads N]
 *
 * Answers every request with the same ~150-byte JSON document, keeping connections alive,
 * as fast as it can (one epoll loop per thread, SO_REUSEPORT), so that the proxies in front
 * of it, not it, are what a benchmark measures. Request bodies (Content-Length) are read and
 * discarded; pipelined requests are answered in order. Not a general HTTP server.
 */
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#define BUF_SIZE   16384
#define MAX_EVENTS 256

static const char body[] =
    "{\"id\":\"usr_01J8ZKQ0V8J6S3T9W5X2Y7B4CD\",\"org_id\":\"org_01J8ZKPZT4M2N6Q8R0S3U5W7XY\","
    "\"name\":\"Bench User\",\"role\":\"viewer\",\"status\":\"active\"}";
static char response[512];
static size_t response_len;
static int port;

typedef struct {
    int fd;
    size_t len;
    long long skip; /* body bytes still to discard */
    char buf[BUF_SIZE];
} conn_t;

static int listen_on(void)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0), one = 1;
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0 ||
        setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) != 0 ||
        bind(fd, (struct sockaddr *)&sa, sizeof sa) != 0 || listen(fd, 4096) != 0) {
        perror("bench-upstream: listen");
        exit(1);
    }
    return fd;
}

/* Answers every complete request in the buffer; -1 when the connection must close. */
static int serve(conn_t *c)
{
    size_t off = 0;
    int answers = 0;
    for (;;) {
        if (c->skip) {
            size_t take = c->len - off < (size_t)c->skip ? c->len - off : (size_t)c->skip;
            off += take;
            c->skip -= (long long)take;
            if (c->skip)
                break;
        }
        char *end = memmem(c->buf + off, c->len - off, "\r\n\r\n", 4);
        if (!end)
            break;
        char *cl = memmem(c->buf + off, (size_t)(end - (c->buf + off)), "\nContent-Length:", 16);
        if (!cl)
            cl = memmem(c->buf + off, (size_t)(end - (c->buf + off)), "\ncontent-length:", 16);
        off = (size_t)(end + 4 - c->buf);
        c->skip = cl ? atoll(cl + 16) : 0;
        answers++;
    }
    memmove(c->buf, c->buf + off, c->len - off);
    c->len -= off;
    if (c->len == sizeof c->buf)
        return -1; /* a head larger than we care about */
    for (int i = 0; i < answers; i++)
        if (write(c->fd, response, response_len) != (ssize_t)response_len)
            return -1; /* loopback with small answers: a short write means trouble */
    return 0;
}

static void *loop(void *arg)
{
    (void)arg;
    int lfd = listen_on(), ep = epoll_create1(0);
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = NULL}, events[MAX_EVENTS];
    epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev);
    for (;;) {
        int n = epoll_wait(ep, events, MAX_EVENTS, -1);
        for (int i = 0; i < n; i++) {
            conn_t *c = events[i].data.ptr;
            if (!c) {
                int fd, one = 1;
                while ((fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK)) >= 0) {
                    conn_t *nc = calloc(1, sizeof *nc);
                    if (!nc) {
                        close(fd);
                        continue;
                    }
                    nc->fd = fd;
                    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
                    struct epoll_event cev = {.events = EPOLLIN, .data.ptr = nc};
                    epoll_ctl(ep, EPOLL_CTL_ADD, fd, &cev);
                }
                continue;
            }
            ssize_t r = read(c->fd, c->buf + c->len, sizeof c->buf - c->len);
            if (r > 0) {
                c->len += (size_t)r;
                if (serve(c) == 0)
                    continue;
            } else if (r < 0 && errno == EAGAIN) {
                continue;
            }
            close(c->fd);
            free(c);
        }
    }
    return NULL;
}

int main(int argc, char **argv)
{
    int threads = 1;
    static const struct option opts[] = {{"port", required_argument, NULL, 'p'},
                                         {"threads", required_argument, NULL, 't'},
                                         {NULL, 0, NULL, 0}};
    int ch;
    while ((ch = getopt_long(argc, argv, "p:t:", opts, NULL)) != -1) {
        if (ch == 'p')
            port = atoi(optarg);
        else if (ch == 't')
            threads = atoi(optarg);
        else
            return 2;
    }
    if (port <= 0 || port > 65535 || threads < 1 || threads > 64) {
        fprintf(stderr, "usage: bench-upstream --port PORT [--threads N]\n");
        return 2;
    }
    signal(SIGPIPE, SIG_IGN);
    response_len = (size_t)snprintf(response, sizeof response,
                                    "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                                    "Content-Length: %zu\r\n\r\n%s",
                                    sizeof body - 1, body);
    for (int i = 1; i < threads; i++) {
        pthread_t t;
        if (pthread_create(&t, NULL, loop, NULL) != 0)
            return 1;
    }
    loop(NULL);
    return 0;
}
