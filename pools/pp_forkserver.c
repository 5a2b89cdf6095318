/*
 * pp_forkserver.c - the fork server: a small single-threaded process that
 * forks the pool's workers, reaps them and tells the parent how they died.
 *
 * Why not fork workers straight from the parent?  The parent has threads:
 * the pool's own collector thread and any the program started.  fork()
 * copies only the thread that calls it; if another thread held a lock at
 * that instant (inside malloc, inside printf, in the program's own code),
 * the child gets the lock held by a thread that does not exist there, and
 * deadlocks the first time it takes it.  POSIX therefore allows only
 * async-signal-safe calls in the child of a multithreaded fork until it
 * calls exec, and a worker must run arbitrary task code.  Python's
 * "forkserver" start method answers this with a server process; so do we.
 *
 * How the guarantee holds.  The server is forked once, by the collector
 * thread, when the pool is created.  From then on it calls only
 * async-signal-safe functions (recvmsg, sendmsg, poll, fork, waitpid,
 * kill, close, read, prctl and the like; no malloc, no stdio, no locks), so
 * being a child of a multithreaded process does it no harm.  It is
 * single-threaded, so every worker it forks is the child of a
 * single-threaded process and may call anything: no lock can be held by a
 * missing thread.  The one thing inherited from the parent's threads is
 * the memory as it was at the server's fork; glibc's fork() takes and
 * resets malloc's locks around it, so the heap is consistent.  (A program
 * whose other threads hold locks of their own at pp_pool_create, and whose
 * tasks take those locks, should create the pool first.)
 *
 * File descriptors.  Every descriptor the pool opens is O_CLOEXEC, so a
 * program that runs fork+exec in another thread does not leak pool sockets
 * into the new program.  But CLOEXEC acts at exec, and nobody here execs:
 * a forked child inherits every descriptor.  So the server, first thing,
 * closes every descriptor except stdin, stdout, stderr and its control
 * socket (close_range), and the workers it forks inherit only those and
 * their own socket.  Without this, pool B's workers would hold pool A's
 * sockets, and A's workers would never see EOF when A shuts down.
 *
 * Dying with the parent.  prctl(PR_SET_PDEATHSIG, SIGKILL) asks the kernel
 * to kill us when the thread that forked us exits, so a parent killed by
 * SIGINT or SIGTERM (or anything) takes the server with it, and every
 * worker sets the same on the server, so the workers follow.  Note "the
 * thread", not the process: that is why the pool's collector thread, which
 * lives exactly as long as the pool, forks the server, and not the thread
 * calling pp_pool_create, which might end long before the pool does.
 * There is a race: the parent may die between fork() and prctl(), before
 * anyone is watching; so after prctl we check that getppid() is still the
 * parent and leave if not.
 *
 * Zombies.  A dead child stays a zombie until its parent waits for it.
 * The server blocks SIGCHLD and reads it from a signalfd in its poll loop;
 * each time, it reaps every dead child with waitpid(WNOHANG) and sends the
 * parent a DIED message with the wait status: that status is how the pool
 * learns "killed by signal 11" or "exited with status 3".  When the parent
 * closes the control socket, the server waits for its remaining children
 * and exits; the parent reaps the server.  So no process is left unreaped.
 *
 * _GNU_SOURCE: prctl, signalfd, close_range and
 * MSG_CMSG_CLOEXEC are Linux interfaces that glibc declares only with it.
 */
#define _GNU_SOURCE

#include "procpool.h"
#include "pp_internal.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

unsigned pp_cpu_count(void)
{
    return pb_cpu_count();
}

int pp_server_send(int ctl, const struct pp_srv_msg *m, int fd)
{
    union {
        struct cmsghdr h;
        char buf[CMSG_SPACE(sizeof(int))];
    } u;
    struct iovec iov = { (void *)m, sizeof(*m) };
    struct msghdr msg;
    struct cmsghdr *c;
    ssize_t n;

    memset(&msg, 0, sizeof(msg));
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    if (fd >= 0) {
        memset(&u, 0, sizeof(u));
        msg.msg_control = u.buf;
        msg.msg_controllen = sizeof(u.buf);
        c = CMSG_FIRSTHDR(&msg);
        c->cmsg_level = SOL_SOCKET;
        c->cmsg_type = SCM_RIGHTS;
        c->cmsg_len = CMSG_LEN(sizeof(int));
        memcpy(CMSG_DATA(c), &fd, sizeof(int));
    }
    do
        n = sendmsg(ctl, &msg, MSG_NOSIGNAL);
    while (n < 0 && errno == EINTR);
    if (n < 0)
        return errno == EWOULDBLOCK ? EAGAIN : errno;
    return 0;
}

/*
 * Receives one message and, if one came with it, a descriptor in *fd
 * (else -1).  Returns 0, EAGAIN, EPIPE (the other side closed) or errno.
 */
static int recv_msg(int ctl, struct pp_srv_msg *m, int *fd)
{
    union {
        struct cmsghdr h;
        char buf[CMSG_SPACE(sizeof(int))];
    } u;
    struct iovec iov = { m, sizeof(*m) };
    struct msghdr msg;
    struct cmsghdr *c;
    ssize_t n;

    *fd = -1;
    memset(&msg, 0, sizeof(msg));
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = u.buf;
    msg.msg_controllen = sizeof(u.buf);
    do
        n = recvmsg(ctl, &msg, MSG_CMSG_CLOEXEC);
    while (n < 0 && errno == EINTR);
    if (n < 0)
        return errno == EWOULDBLOCK ? EAGAIN : errno;
    for (c = CMSG_FIRSTHDR(&msg); c != NULL; c = CMSG_NXTHDR(&msg, c))
        if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS)
            memcpy(fd, CMSG_DATA(c), sizeof(int));
    if (n == 0)
        return EPIPE;
    if ((size_t)n != sizeof(*m)) {
        if (*fd >= 0)
            close(*fd);
        *fd = -1;
        return EPROTO;
    }
    return 0;
}

int pp_server_recv(int ctl, struct pp_srv_msg *m)
{
    int fd, rc = recv_msg(ctl, m, &fd);

    if (fd >= 0)
        close(fd); /* the server never sends one */
    return rc;
}

/*
 * Closes every descriptor from 3 up except keep.  close_range is one
 * system call; if the kernel lacks it (before Linux 5.9), close them one
 * by one up to the descriptor limit.
 */
static void close_all_but(int keep)
{
    struct rlimit rl;
    unsigned fd, top;

    if (keep > 3 && close_range(3, (unsigned)keep - 1, 0) == 0 &&
        close_range((unsigned)keep + 1, ~0u, 0) == 0)
        return;
    if (keep == 3 && close_range(4, ~0u, 0) == 0)
        return;
    top = 65536;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < top)
        top = (unsigned)rl.rlim_cur;
    for (fd = 3; fd < top; fd++)
        if ((int)fd != keep)
            close((int)fd);
}

/* Sends to the parent; if it is gone there is nothing left to serve. */
static void tell(int ctl, int op, int slot, pid_t pid, int value)
{
    struct pp_srv_msg m;

    memset(&m, 0, sizeof(m));
    m.op = op;
    m.slot = slot;
    m.pid = (int32_t)pid;
    m.value = value;
    if (pp_server_send(ctl, &m, -1) != 0)
        _exit(0);
}

/* The server's state: its control socket and its live children. */
struct server {
    int ctl, sfd;
    pid_t self;
    pid_t *kids; /* live children's pids, 0 for a free entry */
    unsigned nkids;
};

static int kid_find(const struct server *s, pid_t pid)
{
    unsigned i;

    for (i = 0; i < s->nkids; i++)
        if (s->kids[i] == pid)
            return (int)i;
    return -1;
}

/* Forks a worker for slot on fd (a socket end the parent sent). */
static void spawn(struct server *s, const struct pp_worker_cfg *cfg,
                  int slot, int fd)
{
    int i = kid_find(s, 0);
    pid_t pid;

    if (i < 0) {
        close(fd);
        tell(s->ctl, PP_SRV_FAILED, slot, 0, EAGAIN);
        return;
    }
    pid = fork();
    if (pid == 0) {
        close(s->ctl);
        close(s->sfd);
        if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 || getppid() != s->self)
            _exit(1);
        pp_worker_run(cfg, fd, (unsigned)slot);
    }
    close(fd);
    if (pid < 0) {
        tell(s->ctl, PP_SRV_FAILED, slot, 0, errno);
        return;
    }
    s->kids[i] = pid;
    tell(s->ctl, PP_SRV_SPAWNED, slot, pid, 0);
}

/* Reaps every dead child and reports each. */
static void reap(struct server *s)
{
    struct signalfd_siginfo si;
    pid_t pid;
    int status, i;

    while (read(s->sfd, &si, sizeof(si)) > 0)
        ;
    while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
        if ((i = kid_find(s, pid)) >= 0)
            s->kids[i] = 0;
        tell(s->ctl, PP_SRV_DIED, -1, pid, status);
    }
}

/*
 * The server could not set itself up: it tells the parent why (FAILED for
 * no slot, with errno) and leaves.  A pool being created then fails with
 * that error instead of starting servers that die the same way forever.
 */
static _Noreturn void fail_start(int ctl)
{
    int err = errno;

    tell(ctl, PP_SRV_FAILED, -1, 0, err != 0 ? err : EAGAIN);
    _exit(1);
}

/* The server's whole life, after the fork.  Never returns. */
static _Noreturn void serve(const struct pp_worker_cfg *cfg, int ctl,
                            pid_t parent, pid_t *kids, unsigned nkids)
{
    struct server s;
    struct pp_srv_msg m;
    struct pollfd pfd[2];
    struct sigaction dfl;
    sigset_t chld;
    int fd, rc, keep;

    if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 || getppid() != parent)
        _exit(1);
    /* Move the control socket above stderr, then drop everything else. */
    keep = ctl;
    if (ctl < 3) {
        if ((keep = fcntl(ctl, F_DUPFD_CLOEXEC, 3)) < 0)
            fail_start(ctl);
        fd = open("/dev/null", O_RDWR | O_CLOEXEC);
        if (fd >= 0 && fd != ctl) {
            dup2(fd, ctl);
            close(fd);
        }
    }
    close_all_but(keep);
    memset(&s, 0, sizeof(s));
    s.ctl = keep;
    s.self = getpid();
    s.kids = kids;
    s.nkids = nkids;
    memset(kids, 0, nkids * sizeof(*kids));
    /*
     * The collector blocks every signal; SIGCHLD must stay blocked, and be
     * delivered at all: a program that set it to SIG_IGN would have its
     * children reaped by the kernel, unreported, and we would never learn
     * how a worker died.
     */
    memset(&dfl, 0, sizeof(dfl));
    dfl.sa_handler = SIG_DFL;
    sigemptyset(&dfl.sa_mask);
    sigaction(SIGCHLD, &dfl, NULL);
    sigemptyset(&chld);
    sigaddset(&chld, SIGCHLD);
    if ((s.sfd = signalfd(-1, &chld, SFD_CLOEXEC | SFD_NONBLOCK)) < 0)
        fail_start(s.ctl);

    for (;;) {
        pfd[0].fd = s.ctl;
        pfd[0].events = POLLIN;
        pfd[1].fd = s.sfd;
        pfd[1].events = POLLIN;
        if (poll(pfd, 2, -1) < 0) {
            if (errno == EINTR)
                continue;
            _exit(1);
        }
        if (pfd[1].revents != 0)
            reap(&s);
        if (pfd[0].revents == 0)
            continue;
        rc = recv_msg(s.ctl, &m, &fd);
        if (rc == EAGAIN || rc == EPROTO)
            continue; /* EPROTO: a datagram of the wrong size, dropped */
        if (rc != 0)
            break;
        if (m.op == PP_SRV_SPAWN && fd >= 0)
            spawn(&s, cfg, m.slot, fd);
        else if (m.op == PP_SRV_KILL && m.pid > 0 &&
                 kid_find(&s, m.pid) >= 0)
            kill(m.pid, SIGKILL);
        else if (fd >= 0)
            close(fd);
    }
    /* The parent hung up: its workers see EOF too; wait for them all. */
    while (waitpid(-1, NULL, 0) > 0 || errno == EINTR)
        ;
    _exit(0);
}

int pp_server_start(const struct pp_worker_cfg *cfg, unsigned max_workers,
                    pid_t *pid, int *ctl)
{
    pid_t parent = getpid(), p;
    pid_t *kids;
    int sv[2], rc;

    /*
     * The live-children table is allocated here, before the fork, so that
     * the server (which must not call malloc) has it.  The parent frees
     * its own copy at once; the server's copy is its own.
     */
    if ((kids = calloc(max_workers, sizeof(*kids))) == NULL)
        return ENOMEM;
    if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0) {
        rc = errno;
        goto fail;
    }
    p = fork();
    if (p == 0) {
        close(sv[0]);
        serve(cfg, sv[1], parent, kids, max_workers);
    }
    rc = errno;
    close(sv[1]);
    if (p < 0) {
        close(sv[0]);
        goto fail;
    }
    free(kids);
    if (fcntl(sv[0], F_SETFL, O_NONBLOCK) != 0) {
        /* Cannot happen on a fresh socket; the server exits on EOF. */
        rc = errno;
        close(sv[0]);
        waitpid(p, NULL, 0);
        return rc;
    }
    *pid = p;
    *ctl = sv[0];
    return 0;
fail:
    free(kids);
    return rc;
}
