/* BlueZ's controller emulator under ward's AF_ALG shim (btvirt.h). */
#define _POSIX_C_SOURCE 200809L
#include "btvirt.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static bool executable(const char *p)
{
    return p != NULL && access(p, X_OK) == 0;
}

static bool readable(const char *p)
{
    return p != NULL && access(p, R_OK) == 0;
}

const char *ward_btvirt_shim(void)
{
    static char found[4096];
    const char *env = getenv("WARD_AFALG_SHIM");
    if (env != NULL) {
        return readable(env) ? env : NULL;
    }
#ifdef WARD_AFALG_SHIM_PATH
    if (readable(WARD_AFALG_SHIM_PATH)) {
        return WARD_AFALG_SHIM_PATH;
    }
#endif
    /* Next to the running ward (an installed tree). */
    ssize_t n = readlink("/proc/self/exe", found, sizeof found - 32);
    if (n > 0) {
        found[n] = '\0';
        char *slash = strrchr(found, '/');
        if (slash != NULL) {
            snprintf(slash + 1, 32, "afalg_shim.so");
            if (readable(found)) {
                return found;
            }
        }
    }
    return NULL;
}

const char *ward_btvirt_path(void)
{
    static char found[4096];
    const char *env = getenv("WARD_BTVIRT");
    if (env != NULL) {
        return executable(env) ? env : NULL;
    }
    static const char *const k_fixed[] = {"/usr/bin/btvirt", "/usr/sbin/btvirt"};
    for (size_t i = 0; i < sizeof k_fixed / sizeof k_fixed[0]; i++) {
        if (executable(k_fixed[i])) {
            return k_fixed[i];
        }
    }
    const char *path = getenv("PATH");
    while (path != NULL && *path != '\0') {
        const char *colon = strchr(path, ':');
        const size_t len = colon != NULL ? (size_t)(colon - path) : strlen(path);
        snprintf(found, sizeof found, "%.*s/btvirt", (int)len, path);
        if (len > 0 && executable(found)) {
            return found;
        }
        path = colon != NULL ? colon + 1 : NULL;
    }
    return NULL;
}

static void sleep_ms(unsigned ms)
{
    const struct timespec ts = {(time_t)(ms / 1000u), (long)(ms % 1000u) * 1000000L};
    (void)nanosleep(&ts, NULL);
}

static bool is_socket(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0 && S_ISSOCK(st.st_mode);
}

/* btvirt prints "Pseudo terminal at /dev/pts/N" (the shim line-buffers it). */
static void read_pty(ward_btvirt_t *b, const char *log)
{
    FILE *f = fopen(log, "r");
    if (f == NULL) {
        return;
    }
    char line[256];
    while (fgets(line, sizeof line, f) != NULL) {
        if (sscanf(line, "Pseudo terminal at %127s", b->pty) == 1) {
            break;
        }
    }
    fclose(f);
}

int ward_btvirt_start(ward_btvirt_t *b, const char *dir)
{
    memset(b, 0, sizeof *b);
    b->pid = -1;
    const char *bin = ward_btvirt_path();
    const char *shim = ward_btvirt_shim();
    if (bin == NULL) {
        snprintf(b->why, sizeof b->why,
                 "btvirt not found ($WARD_BTVIRT, /usr/bin, /usr/sbin, $PATH): install Debian's "
                 "bluez-test-tools (scripts/bootstrap.sh does)");
        return -1;
    }
    if (shim == NULL) {
        snprintf(b->why, sizeof b->why,
                 "the AF_ALG shim (afalg_shim.so, built with ward from tools/btshim) was not "
                 "found: build ward (cmake --build --preset host) or set $WARD_AFALG_SHIM");
        return -1;
    }
    if (strlen(dir) >= sizeof b->dir - 32 || (mkdir(dir, 0700) != 0 && errno != EEXIST)) {
        snprintf(b->why, sizeof b->why, "cannot make %s", dir);
        return -1;
    }
    if (dir[0] == '/') {
        snprintf(b->dir, sizeof b->dir, "%s", dir);
    } else {
        char cwd[256];
        if (getcwd(cwd, sizeof cwd) == NULL) {
            snprintf(b->why, sizeof b->why, "getcwd failed");
            return -1;
        }
        snprintf(b->dir, sizeof b->dir, "%s/%s", cwd, dir);
    }
    snprintf(b->socket, sizeof b->socket, "%s/bt-server-bredrle", b->dir);
    char log[600];
    snprintf(log, sizeof log, "%s/btvirt.log", b->dir);
    (void)unlink(b->socket);
    pid_t pid = fork();
    if (pid < 0) {
        snprintf(b->why, sizeof b->why, "fork: %s", strerror(errno));
        return -1;
    }
    if (pid == 0) {
        int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (fd >= 0) {
            (void)dup2(fd, 1);
            (void)dup2(fd, 2);
            (void)close(fd);
        }
        fd = open("/dev/null", O_RDONLY);
        if (fd >= 0) {
            (void)dup2(fd, 0);
            (void)close(fd);
        }
        /* The shim remaps /tmp/bt-server-* into the folder and makes btvirt
         * die with its parent. */
        (void)setenv("WARD_BT_SOCKDIR", b->dir, 1);
        (void)setenv("LD_PRELOAD", shim, 1);
        execl(bin, "btvirt", "-s", "-S", (char *)NULL);
        _exit(127);
    }
    b->pid = pid;
    for (int i = 0; i < 200; i++) { /* 10 s at most */
        if (is_socket(b->socket)) {
            read_pty(b, log);
            if (b->pty[0] != '\0' || i > 40) {
                return 0;
            }
        }
        if (!ward_btvirt_alive(b)) {
            snprintf(b->why, sizeof b->why, "btvirt exited at once (see %s)", log);
            return -1;
        }
        sleep_ms(50);
    }
    ward_btvirt_stop(b);
    snprintf(b->why, sizeof b->why, "btvirt made no socket in 10 s (see %s)", log);
    return -1;
}

bool ward_btvirt_alive(ward_btvirt_t *b)
{
    if (b->pid <= 0) {
        return false;
    }
    int st = 0;
    pid_t r = waitpid(b->pid, &st, WNOHANG);
    if (r == b->pid) {
        b->pid = -1;
        return false;
    }
    return r == 0;
}

void ward_btvirt_stop(ward_btvirt_t *b)
{
    if (b->pid <= 0) {
        return;
    }
    (void)kill(b->pid, SIGTERM);
    for (int i = 0; i < 40; i++) {
        int st = 0;
        if (waitpid(b->pid, &st, WNOHANG) == b->pid) {
            b->pid = -1;
            return;
        }
        sleep_ms(25);
    }
    (void)kill(b->pid, SIGKILL);
    (void)waitpid(b->pid, NULL, 0);
    b->pid = -1;
}
