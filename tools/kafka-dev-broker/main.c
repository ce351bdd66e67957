/*
 * kafka-dev-broker: a Kafka-protocol broker for the local stack and the test harness, built on
 * librdkafka's mock cluster (rdkafka_mock.h). There is no Kafka server package on the build
 * machines; this serves the real protocol on loopback, in memory only.
 *
 *   kafka-dev-broker --catalog proto/topics.json --bootstrap-file .run/kafka.bootstrap
 *                    [--brokers 3] [--pidfile .run/pids/kafka-dev-broker.pid]
 *
 * Creates every topic of the catalog and its "<name>.dlt" twin with the catalog's partition
 * count, writes the bootstrap address to the bootstrap file (atomically: temp file + rename),
 * then waits for signals:
 *
 *   SIGUSR1          all brokers down (connections dropped, new ones refused)
 *   SIGUSR2          all brokers up again
 *   SIGTERM, SIGINT  destroy the cluster, remove the bootstrap file (and pidfile), exit 0
 *   SIGHUP           ignored (logged)
 *
 * The signals are blocked before librdkafka starts any thread, so every thread inherits the
 * mask and only the main thread's sigwait() sees them.
 */
#include "tc/tc_log.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <getopt.h>
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>
#include <arpa/inet.h>
#include <limits.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define DLT_SUFFIX     ".dlt"
#define MAX_BROKERS    16
#define MAX_PARTITIONS 1024

typedef struct {
    const char *catalog;
    const char *bootstrap_file;
    const char *pidfile;
    int brokers;
} options_t;

static void usage(FILE *out)
{
    fprintf(out, "usage: kafka-dev-broker --catalog PATH --bootstrap-file PATH [--brokers N] "
                 "[--pidfile PATH]\n"
                 "\n"
                 "  --catalog PATH         topic catalog (proto/topics.json)\n"
                 "  --bootstrap-file PATH  where to write the bootstrap address\n"
                 "  --brokers N            number of mock brokers (1..16, default 3)\n"
                 "  --pidfile PATH         write the process id here\n"
                 "\n"
                 "signals: USR1 all brokers down, USR2 all brokers up, TERM/INT stop\n");
}

static int parse_options(int argc, char **argv, options_t *o)
{
    static const struct option longopts[] = {
        {"catalog", required_argument, NULL, 'c'}, {"bootstrap-file", required_argument, NULL, 'b'},
        {"brokers", required_argument, NULL, 'n'}, {"pidfile", required_argument, NULL, 'p'},
        {"help", no_argument, NULL, 'h'},          {NULL, 0, NULL, 0},
    };
    o->brokers = 3;
    int c;
    while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        switch (c) {
        case 'c':
            o->catalog = optarg;
            break;
        case 'b':
            o->bootstrap_file = optarg;
            break;
        case 'p':
            o->pidfile = optarg;
            break;
        case 'n': {
            char *end = NULL;
            errno = 0;
            long n = strtol(optarg, &end, 10);
            if (errno || !end || *end || n < 1 || n > MAX_BROKERS) {
                fprintf(stderr, "kafka-dev-broker: --brokers must be 1..%d\n", MAX_BROKERS);
                return -1;
            }
            o->brokers = (int)n;
            break;
        }
        case 'h':
            usage(stdout);
            exit(0);
        default:
            usage(stderr);
            return -1;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "kafka-dev-broker: unexpected argument '%s'\n", argv[optind]);
        usage(stderr);
        return -1;
    }
    if (!o->catalog || !o->bootstrap_file) {
        fprintf(stderr, "kafka-dev-broker: --catalog and --bootstrap-file are required\n");
        usage(stderr);
        return -1;
    }
    return 0;
}

/* Reads a whole file into a NUL-terminated buffer; NULL on failure (errno kept). */
static char *read_file(const char *path)
{
    char *data = NULL;
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    size_t cap = 8192, len = 0;
    data = malloc(cap);
    if (!data)
        goto fail;
    for (;;) {
        size_t n = fread(data + len, 1, cap - len - 1, f);
        len += n;
        if (n == 0)
            break;
        if (len + 1 == cap) {
            char *bigger = realloc(data, cap * 2);
            if (!bigger)
                goto fail;
            data = bigger;
            cap *= 2;
        }
    }
    if (ferror(f))
        goto fail;
    data[len] = '\0';
    fclose(f);
    return data;
fail:
    free(data);
    fclose(f);
    return NULL;
}

/* Writes `content` to `path` via a temp file in the same directory and rename(2). */
static int write_file_atomic(const char *path, const char *content)
{
    char tmp[PATH_MAX];
    int n = snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid());
    if (n < 0 || (size_t)n >= sizeof tmp)
        return -1;
    FILE *f = fopen(tmp, "w");
    if (!f)
        return -1;
    if (fputs(content, f) < 0 || fflush(f) != 0 || fsync(fileno(f)) != 0) {
        fclose(f);
        goto fail;
    }
    if (fclose(f) != 0)
        goto fail;
    if (rename(tmp, path) != 0)
        goto fail;
    return 0;
fail:
    unlink(tmp);
    return -1;
}

/* librdkafka's own log lines, as JSON lines like ours. */
static void rk_log_cb(const rd_kafka_t *rk, int level, const char *fac, const char *buf)
{
    (void)rk;
    /* Expected: this client exists only to own the mock cluster, it never connects. */
    if (strcmp(fac, "CONFWARN") == 0 && strstr(buf, "bootstrap.servers"))
        return;
    tc_log_level_t lvl = level <= 3 ? TC_LOG_ERROR : level == 4 ? TC_LOG_WARN : TC_LOG_INFO;
    if (level >= 7)
        lvl = TC_LOG_DEBUG;
    tc_log_kv(lvl, "librdkafka", "component", "librdkafka", "facility", fac, "detail", buf, NULL);
}

/*
 * Wake-ups for the mock cluster thread. In librdkafka 2.0.2 the thread sometimes misses the
 * wake-up for a control op (topic create, …) and only serves it when its 1 s poll times out,
 * which made start-up take 2-3 s. The thread serves queued ops after any socket event, so
 * while we issue control ops a helper thread connects to a broker listener every few ms.
 */
typedef struct {
    pthread_t thread;
    struct sockaddr_in addr;
    atomic_int stop;
    int started;
} nudger_t;

static void *nudger_main(void *arg)
{
    nudger_t *n = arg;
    const struct timespec pause = {0, 3 * 1000 * 1000};
    while (!atomic_load(&n->stop)) {
        int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd >= 0) {
            (void)connect(fd, (const struct sockaddr *)&n->addr, sizeof n->addr);
            close(fd);
        }
        nanosleep(&pause, NULL);
    }
    return NULL;
}

/* Starts nudging the first broker of `bootstraps` ("127.0.0.1:port,…"); best effort. */
static void nudger_start(nudger_t *n, const char *bootstraps)
{
    memset(n, 0, sizeof *n);
    atomic_init(&n->stop, 0);
    const char *colon = bootstraps ? strchr(bootstraps, ':') : NULL;
    if (!colon)
        return;
    long port = strtol(colon + 1, NULL, 10);
    if (port <= 0 || port > 65535)
        return;
    n->addr.sin_family = AF_INET;
    n->addr.sin_port = htons((uint16_t)port);
    n->addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    n->started = pthread_create(&n->thread, NULL, nudger_main, n) == 0;
}

static void nudger_stop(nudger_t *n)
{
    if (!n->started)
        return;
    atomic_store(&n->stop, 1);
    pthread_join(n->thread, NULL);
    n->started = 0;
}

static int create_topics(rd_kafka_mock_cluster_t *mc, const cJSON *catalog, int replication,
                         int *created)
{
    const cJSON *topics = cJSON_GetObjectItemCaseSensitive(catalog, "topics");
    if (!cJSON_IsArray(topics) || cJSON_GetArraySize(topics) == 0) {
        tc_log_kv(TC_LOG_ERROR, "catalog has no \"topics\" array", NULL);
        return -1;
    }
    const cJSON *t;
    cJSON_ArrayForEach(t, topics)
    {
        const cJSON *name = cJSON_GetObjectItemCaseSensitive(t, "name");
        const cJSON *parts = cJSON_GetObjectItemCaseSensitive(t, "partitions");
        if (!cJSON_IsString(name) || !name->valuestring[0] || !cJSON_IsNumber(parts) ||
            parts->valuedouble < 1 || parts->valuedouble > MAX_PARTITIONS) {
            char max[24];
            tc_log_kv(TC_LOG_ERROR, "catalog entry needs a \"name\" and \"partitions\"",
                      "max_partitions", tc_log_int(max, MAX_PARTITIONS), NULL);
            return -1;
        }
        int np = parts->valueint;
        char dlt[256];
        int n = snprintf(dlt, sizeof dlt, "%s%s", name->valuestring, DLT_SUFFIX);
        if (n < 0 || (size_t)n >= sizeof dlt) {
            tc_log_kv(TC_LOG_ERROR, "topic name too long", "topic", name->valuestring, NULL);
            return -1;
        }
        const char *names[2] = {name->valuestring, dlt};
        for (int i = 0; i < 2; i++) {
            rd_kafka_resp_err_t err = rd_kafka_mock_topic_create(mc, names[i], np, replication);
            if (err) {
                tc_log_kv(TC_LOG_ERROR, "cannot create topic", "topic", names[i], "error",
                          rd_kafka_err2str(err), NULL);
                return -1;
            }
            (*created)++;
        }
        char npart[24];
        tc_log_kv(TC_LOG_INFO, "topic and dead-letter topic created", "topic", name->valuestring,
                  "dlt", dlt, "partitions", tc_log_int(npart, np), NULL);
    }
    return 0;
}

/* All brokers down (up = 0) or up (up = 1). Uses broker id -1 ("all brokers", supported by
 * librdkafka 2.0.2) and falls back to ids 1..N if a build rejects it. */
static int set_brokers(rd_kafka_mock_cluster_t *mc, int brokers, int up)
{
    rd_kafka_resp_err_t err =
        up ? rd_kafka_mock_broker_set_up(mc, -1) : rd_kafka_mock_broker_set_down(mc, -1);
    if (!err)
        return 0;
    int rc = 0;
    for (int id = 1; id <= brokers; id++) {
        err = up ? rd_kafka_mock_broker_set_up(mc, id) : rd_kafka_mock_broker_set_down(mc, id);
        if (err) {
            char bid[24];
            tc_log_kv(TC_LOG_ERROR, "broker state change failed", "broker", tc_log_int(bid, id),
                      "operation", up ? "set_up" : "set_down", "error", rd_kafka_err2str(err),
                      NULL);
            rc = -1;
        }
    }
    return rc;
}

int main(int argc, char **argv)
{
    int exit_code = 1;
    options_t opt = {0};
    char *catalog_text = NULL;
    cJSON *catalog = NULL;
    rd_kafka_t *rk = NULL;
    rd_kafka_mock_cluster_t *mc = NULL;
    int wrote_bootstrap = 0, wrote_pidfile = 0;
    char errstr[512];

    tc_log_init("kafka-dev-broker", getenv("LOG_LEVEL") ? getenv("LOG_LEVEL") : "info");
    if (parse_options(argc, argv, &opt) != 0)
        return 2;

    /* Block before any thread exists: librdkafka's threads inherit the mask. */
    sigset_t set;
    if (sigemptyset(&set) != 0 || sigaddset(&set, SIGUSR1) != 0 || sigaddset(&set, SIGUSR2) != 0 ||
        sigaddset(&set, SIGTERM) != 0 || sigaddset(&set, SIGINT) != 0 ||
        sigaddset(&set, SIGHUP) != 0) {
        tc_log_kv(TC_LOG_ERROR, "signal set initialisation failed", "error", strerror(errno), NULL);
        goto out;
    }
    int serr = pthread_sigmask(SIG_BLOCK, &set, NULL);
    if (serr != 0) {
        tc_log_kv(TC_LOG_ERROR, "pthread_sigmask failed", "error", strerror(serr), NULL);
        goto out;
    }

    catalog_text = read_file(opt.catalog);
    if (!catalog_text) {
        tc_log_kv(TC_LOG_ERROR, "cannot read catalog", "path", opt.catalog, "error",
                  strerror(errno), NULL);
        goto out;
    }
    catalog = cJSON_Parse(catalog_text);
    if (!catalog) {
        tc_log_kv(TC_LOG_ERROR, "catalog is not valid JSON", "path", opt.catalog, NULL);
        goto out;
    }

    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    if (!conf) {
        tc_log_kv(TC_LOG_ERROR, "rd_kafka_conf_new failed", NULL);
        goto out;
    }
    rd_kafka_conf_set_log_cb(conf, rk_log_cb);
    if (rd_kafka_conf_set(conf, "client.id", "kafka-dev-broker", errstr, sizeof errstr) !=
        RD_KAFKA_CONF_OK) {
        tc_log_kv(TC_LOG_ERROR, "kafka configuration rejected", "key", "client.id", "error", errstr,
                  NULL);
        rd_kafka_conf_destroy(conf);
        goto out;
    }
    rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof errstr);
    if (!rk) { /* conf is only taken over on success */
        rd_kafka_conf_destroy(conf);
        tc_log_kv(TC_LOG_ERROR, "kafka client creation failed", "error", errstr, NULL);
        goto out;
    }

    mc = rd_kafka_mock_cluster_new(rk, opt.brokers);
    if (!mc) {
        tc_log_kv(TC_LOG_ERROR, "rd_kafka_mock_cluster_new failed", NULL);
        goto out;
    }
    int replication = opt.brokers < 3 ? opt.brokers : 3, created = 0;
    nudger_t nudger;
    nudger_start(&nudger, rd_kafka_mock_cluster_bootstraps(mc));
    int trc = create_topics(mc, catalog, replication, &created);
    nudger_stop(&nudger);
    if (trc != 0)
        goto out;

    const char *bootstraps = rd_kafka_mock_cluster_bootstraps(mc);
    if (!bootstraps || !bootstraps[0]) {
        tc_log_kv(TC_LOG_ERROR, "mock cluster has no bootstrap address", NULL);
        goto out;
    }
    if (opt.pidfile) {
        char pid[32];
        snprintf(pid, sizeof pid, "%ld\n", (long)getpid());
        if (write_file_atomic(opt.pidfile, pid) != 0) {
            tc_log_kv(TC_LOG_ERROR, "cannot write pidfile", "path", opt.pidfile, "error",
                      strerror(errno), NULL);
            goto out;
        }
        wrote_pidfile = 1;
    }
    char line[1024];
    int n = snprintf(line, sizeof line, "%s\n", bootstraps);
    if (n < 0 || (size_t)n >= sizeof line || write_file_atomic(opt.bootstrap_file, line) != 0) {
        tc_log_kv(TC_LOG_ERROR, "cannot write bootstrap file", "path", opt.bootstrap_file, "error",
                  strerror(errno), NULL);
        goto out;
    }
    wrote_bootstrap = 1;

    char nb[16], nt[16];
    snprintf(nb, sizeof nb, "%d", opt.brokers);
    snprintf(nt, sizeof nt, "%d", created);
    tc_log_kv(TC_LOG_INFO, "ready", "bootstrap", bootstraps, "brokers", nb, "topics", nt,
              "bootstrap_file", opt.bootstrap_file, NULL);

    for (;;) {
        int sig = 0;
        int werr = sigwait(&set, &sig);
        if (werr != 0) {
            if (werr == EINTR)
                continue;
            tc_log_kv(TC_LOG_ERROR, "sigwait failed", "error", strerror(werr), NULL);
            goto out;
        }
        if (sig == SIGUSR1) {
            if (set_brokers(mc, opt.brokers, 0) == 0)
                tc_log_kv(TC_LOG_INFO, "all brokers down", NULL);
        } else if (sig == SIGUSR2) {
            if (set_brokers(mc, opt.brokers, 1) == 0)
                tc_log_kv(TC_LOG_INFO, "all brokers up", NULL);
        } else if (sig == SIGHUP) {
            tc_log_kv(TC_LOG_INFO, "signal ignored", "signal", "SIGHUP", NULL);
        } else {
            tc_log_kv(TC_LOG_INFO, "stopping", "signal", sig == SIGINT ? "SIGINT" : "SIGTERM",
                      NULL);
            break;
        }
    }
    exit_code = 0;

out:
    if (wrote_bootstrap && unlink(opt.bootstrap_file) != 0 && errno != ENOENT)
        tc_log_kv(TC_LOG_WARN, "cannot remove bootstrap file", "path", opt.bootstrap_file, "error",
                  strerror(errno), NULL);
    if (mc)
        rd_kafka_mock_cluster_destroy(mc);
    if (rk)
        rd_kafka_destroy(rk);
    if (wrote_pidfile && unlink(opt.pidfile) != 0 && errno != ENOENT)
        tc_log_kv(TC_LOG_WARN, "cannot remove pidfile", "path", opt.pidfile, "error",
                  strerror(errno), NULL);
    cJSON_Delete(catalog);
    free(catalog_text);
    if (exit_code == 0)
        tc_log_kv(TC_LOG_INFO, "stopped", NULL);
    return exit_code;
}
