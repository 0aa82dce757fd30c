/*
 * ward demo: the processes it starts. Servers (nginx, Mosquitto) run with
 * PR_SET_PDEATHSIG, so they die with the demo even if it is killed; the
 * demo stops each one itself on every path. Other ward commands (`ward
 * attack`, `ward audit`) run as children of this very binary
 * (/proc/self/exe), with a time limit.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "demo_priv.h"
#include "ward_hostio.h"

unsigned demo_free_port(void)
{
    return ward_host_free_port();
}

bool demo_port_free(unsigned port)
{
    struct sockaddr_in a;
    const int one = 1;
    const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_port = htons((uint16_t)port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    /* SO_REUSEADDR as servers bind: old connections in TIME_WAIT do not
     * count, a listener (on 127.0.0.1 or any address) does. */
    const bool ok = fd >= 0 && setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) == 0 &&
                    bind(fd, (struct sockaddr *)&a, sizeof a) == 0;
    if (fd >= 0) {
        close(fd);
    }
    return ok;
}

int demo_port_lock(unsigned port, unsigned wait_s, bool *waited)
{
    char path[64];
    snprintf(path, sizeof path, "/tmp/ward-demo-port-%u.lock", port);
    *waited = false;
    /* Read-only is enough for flock, so a demo of another user can use a
     * lock file the first one made. */
    const int fd = open(path, O_RDONLY | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) {
        return -1;
    }
    for (unsigned i = 0; i <= wait_s * 10u; i++) {
        if (flock(fd, LOCK_EX | LOCK_NB) == 0) {
            return fd;
        }
        if (errno != EWOULDBLOCK && errno != EINTR) {
            break;
        }
        *waited = true;
        usleep(100000);
    }
    close(fd);
    return -1;
}

/* The inodes of the sockets listening on port, from one /proc/net table. */
static size_t listen_inodes(const char *table, unsigned port, unsigned long *ino, size_t n, size_t k)
{
    char line[512];
    FILE *f = fopen(table, "r");
    while (f != NULL && fgets(line, sizeof line, f) != NULL) {
        char local[128];
        unsigned st = 0;
        unsigned long inode = 0;
        /* sl local rem st tx:rx tr:when retrnsmt uid timeout inode */
        if (sscanf(line, " %*s %127s %*s %x %*s %*s %*s %*s %*s %lu", local, &st, &inode) != 3 ||
            st != 0x0Au) {
            continue;
        }
        const char *colon = strrchr(local, ':');
        if (colon != NULL && strtoul(colon + 1, NULL, 16) == port && k < n) {
            ino[k++] = inode;
        }
    }
    if (f != NULL) {
        fclose(f);
    }
    return k;
}

bool demo_listening_pid(pid_t pid, unsigned port)
{
    unsigned long ino[16];
    size_t n = listen_inodes("/proc/net/tcp", port, ino, 16, 0);
    n = listen_inodes("/proc/net/tcp6", port, ino, 16, n);
    char dir[64];
    snprintf(dir, sizeof dir, "/proc/%d/fd", (int)pid);
    DIR *dp = n != 0u ? opendir(dir) : NULL;
    bool found = false;
    const struct dirent *e;
    while (dp != NULL && !found && (e = readdir(dp)) != NULL) {
        char p[400], target[64];
        snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
        const ssize_t l = readlink(p, target, sizeof target - 1);
        unsigned long inode = 0;
        if (l <= 0) {
            continue;
        }
        target[l] = '\0';
        if (sscanf(target, "socket:[%lu]", &inode) == 1) {
            for (size_t i = 0; i < n && !found; i++) {
                found = ino[i] == inode;
            }
        }
    }
    if (dp != NULL) {
        closedir(dp);
    }
    return found;
}

bool demo_listening(unsigned port)
{
    return port <= 65535u && ward_host_listening((uint16_t)port);
}

const char *demo_find_tool(const char *name, const char *env, char *out, size_t n)
{
    const char *e = env != NULL ? getenv(env) : NULL;
    if (e != NULL) { /* set: that one or none */
        snprintf(out, n, "%s", e);
        return access(out, X_OK) == 0 ? out : NULL;
    }
    static const char *const k_dirs[3] = {"/usr/sbin", "/usr/local/sbin", "/usr/bin"};
    for (int i = 0; i < 3; i++) {
        snprintf(out, n, "%s/%s", k_dirs[i], name);
        if (access(out, X_OK) == 0) {
            return out;
        }
    }
    const char *path = getenv("PATH");
    while (path != NULL && *path != '\0') {
        const size_t len = strcspn(path, ":");
        snprintf(out, n, "%.*s/%s", (int)len, path, name);
        if (len > 0 && access(out, X_OK) == 0) {
            return out;
        }
        path += len + (path[len] == ':' ? 1u : 0u);
    }
    return NULL;
}

/* In the child: stdin from /dev/null, stdout to out, stderr to err (either
 * may be NULL: /dev/null). */
static void redirect(const char *out, const char *err)
{
    int fd = open("/dev/null", O_RDONLY);
    if (fd >= 0) {
        (void)dup2(fd, STDIN_FILENO);
        close(fd);
    }
    fd = open(out != NULL ? out : "/dev/null", O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd >= 0) {
        (void)dup2(fd, STDOUT_FILENO);
        close(fd);
    }
    fd = open(err != NULL ? err : "/dev/null", O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd >= 0) {
        (void)dup2(fd, STDERR_FILENO);
        close(fd);
    }
}

pid_t demo_spawn(const char *bin, char *const argv[], const char *log)
{
    fflush(stdout);
    fflush(stderr);
    const pid_t pid = fork();
    if (pid == 0) {
        (void)prctl(PR_SET_PDEATHSIG, SIGKILL); /* dies with the demo */
        redirect(log, log);
        execv(bin, argv);
        _exit(127);
    }
    return pid;
}

bool demo_alive(pid_t pid)
{
    return pid > 0 && waitpid(pid, NULL, WNOHANG) == 0;
}

void demo_stop(pid_t *pid)
{
    if (*pid <= 0) {
        return;
    }
    (void)kill(*pid, SIGTERM);
    for (int i = 0; i < 100; i++) {
        if (waitpid(*pid, NULL, WNOHANG) == *pid) {
            *pid = 0;
            return;
        }
        usleep(20000);
    }
    (void)kill(*pid, SIGKILL);
    (void)waitpid(*pid, NULL, 0);
    *pid = 0;
}

int demo_run_ward(char *const argv[], const char *out, const char *err, unsigned timeout_s)
{
    return demo_run("/proc/self/exe", argv, out, err, timeout_s);
}

int demo_run(const char *bin, char *const argv[], const char *out, const char *err,
             unsigned timeout_s)
{
    fflush(stdout);
    fflush(stderr);
    const pid_t pid = fork();
    if (pid < 0) {
        return -1;
    }
    if (pid == 0) {
        (void)prctl(PR_SET_PDEATHSIG, SIGKILL);
        redirect(out, err);
        execv(bin, argv);
        _exit(127);
    }
    for (unsigned i = 0; i < timeout_s * 50u; i++) {
        int st = 0;
        if (waitpid(pid, &st, WNOHANG) == pid) {
            return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
        }
        usleep(20000);
    }
    (void)kill(pid, SIGKILL);
    (void)waitpid(pid, NULL, 0);
    return -1;
}
