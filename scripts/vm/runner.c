/* runner.c (after ../shared/tools/pkeys-qemu) - minimal static /init: mounts proc/sys/dev/tmp, runs argv[1..]
 * (passed via kernel cmdline after "--"), prints "VM_EXIT_CODE=<n>", powers off.
 * Build: gcc -O2 -static -o runner runner.c
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mount.h>
#include <errno.h>
#include <sys/reboot.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char **argv) {
    mkdir("/proc", 0555); mount("proc", "/proc", "proc", 0, NULL);
    mkdir("/sys", 0555);  mount("sysfs", "/sys", "sysfs", 0, NULL);
    /* A cgroup v2 hierarchy that this (root) process owns: the cgroup
       tests fail here instead of skipping. */
    if (mount("cgroup2", "/sys/fs/cgroup", "cgroup2", 0, NULL) == 0)
        setenv("FAASRT_EXPECT_CGROUPS", "1", 1);
    mkdir("/dev", 0755);  mount("devtmpfs", "/dev", "devtmpfs", 0, NULL);
    mkdir("/tmp", 01777); mount("tmpfs", "/tmp", "tmpfs", 0, NULL);
    int fd = open("/dev/console", O_RDWR);
    if (fd >= 0) { dup2(fd, 0); dup2(fd, 1); dup2(fd, 2); if (fd > 2) close(fd); }
    setenv("PATH", "/bin", 1);
    setenv("HOME", "/tmp", 1);
    setenv("RUST_BACKTRACE", "1", 0);
    /* Tests that need protection keys fail here instead of skipping. */
    setenv("FAASRT_EXPECT_PKEYS", "1", 1);

    char *def[] = { "/bin/test", NULL };
    char **cmd = argc > 1 ? argv + 1 : def;
    int code = 255;
    pid_t pid = fork();
    if (pid == 0) {
        execv(cmd[0], cmd);
        perror("execv");
        _exit(127);
    }
    int st;
    /* As pid 1, reap every orphan too (a test's grandchildren). */
    for (;;) {
        pid_t done = waitpid(-1, &st, 0);
        if (done == pid) break;
        if (done < 0 && errno != EINTR) break;
    }
    if (WIFEXITED(st)) code = WEXITSTATUS(st);
    else if (WIFSIGNALED(st)) code = 128 + WTERMSIG(st);
    printf("VM_EXIT_CODE=%d\n", code);
    fflush(stdout);
    sync();
    reboot(RB_POWER_OFF);
    return 0;
}
