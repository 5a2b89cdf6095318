/*
 * image.c - test images, netpbm files, grayscale and box resize.
 *
 * WHY THIS IS CPU WORK.  Converting and shrinking a 1000 x 750 colour
 * image touches every one of its 2.25 million bytes a few times: a few
 * milliseconds of arithmetic and memory traffic, and almost no waiting
 * (the files sit in the page cache after the first read).  That is the
 * tutorial's reason to use processes for it in Python: threads would take
 * turns on the GIL.  In C, threads run this in parallel too; the case study
 * measures both pools on it, and the difference that remains is the cost of
 * each pool's way of handing out work.
 *
 * THE RESIZE.  Output pixel (X, Y) of a W x H result covers the source
 * rectangle [X * sw / W, (X + 1) * sw / W) x [Y * sh / H, (Y + 1) * sh / H).
 * Its value is the average of the source pixels under that rectangle,
 * weighted by how much of each pixel it covers.  Because the weights of a
 * row do not depend on the column (and vice versa), the filter runs in two
 * passes: each row is shrunk to W values, then each column of that to H.
 * That costs sw * sh + W * sh operations instead of W * H * (sw/W) * (sh/H)
 * per output pixel, the reason every image library resizes separably.
 * The arithmetic is in double precision and rounded once at the end, so
 * the result is the same in every thread and process of the same program.
 */
#include "image.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void img_release(struct img *img)
{
    if (img == NULL)
        return;
    free(img->px);
    memset(img, 0, sizeof(*img));
}

static int img_alloc(struct img *img, unsigned w, unsigned h,
                     unsigned channels)
{
    img->w = w;
    img->h = h;
    img->channels = channels;
    img->px = malloc((size_t)w * h * channels);
    return img->px == NULL ? ENOMEM : 0;
}

/* SplitMix64 (Steele, Lea and Flood, OOPSLA 2014): a counter in, a
 * well-mixed 64-bit value out. */
static uint64_t splitmix(uint64_t x)
{
    x += 0x9e3779b97f4a7c15u;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9u;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebu;
    return x ^ (x >> 31);
}

int img_generate(unsigned i, uint64_t seed, unsigned max_side,
                 struct img *out)
{
    uint64_t r = splitmix(seed ^ splitmix(i));
    unsigned w, h, ch, cx, cy, rad;
    int rc;

    memset(out, 0, sizeof(*out));
    if (max_side < 16 || max_side > IMG_MAX_SIDE)
        return EINVAL;
    if (i % 7 == 6) {
        w = max_side / 8 > 16 ? max_side / 8 : 16;
        h = w * 3 / 4;
    } else {
        w = max_side / 2 + (unsigned)(r % (max_side / 2 + 1));
        h = max_side / 2 + (unsigned)((r >> 20) % (max_side / 2 + 1));
    }
    ch = i % 5 == 4 ? 1 : 3;
    if ((rc = img_alloc(out, w, h, ch)) != 0)
        return rc;
    /* A disc, two gradients and per-pixel noise: smooth areas, edges and
     * fine detail, so that the filter has something to average. */
    cx = (unsigned)((r >> 8) % w);
    cy = (unsigned)((r >> 28) % h);
    rad = (w < h ? w : h) / 3;
    for (unsigned y = 0; y < h; y++) {
        uint64_t s = splitmix(r ^ ((uint64_t)y << 32));
        unsigned char *row = out->px + (size_t)y * w * ch;

        for (unsigned x = 0; x < w; x++) {
            long dx = (long)x - (long)cx, dy = (long)y - (long)cy;
            bool in = (unsigned long)(dx * dx + dy * dy) <
                      (unsigned long)rad * rad;
            unsigned noise;
            unsigned char rgb[3];

            /* xorshift64 (Marsaglia, 2003) along the row: cheap noise. */
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            noise = (unsigned)(s & 31);
            rgb[0] = (unsigned char)((x * 223u) / w + noise);
            rgb[1] = (unsigned char)((y * 223u) / h + noise);
            rgb[2] = (unsigned char)(in ? 224u + noise : 32u + noise);
            if (ch == 1)
                row[x] = (unsigned char)((rgb[0] + rgb[1] + rgb[2]) / 3);
            else
                memcpy(row + 3 * (size_t)x, rgb, 3);
        }
    }
    return 0;
}

/* The header img_write_pnm() writes; returns its length. */
static int pnm_header(const struct img *img, char *buf, size_t cap)
{
    return snprintf(buf, cap, "P%c\n%u %u\n255\n",
                    img->channels == 1 ? '5' : '6', img->w, img->h);
}

static int write_all(int fd, const void *data, size_t n)
{
    const unsigned char *p = data;

    while (n > 0) {
        ssize_t k = write(fd, p, n);

        if (k < 0) {
            if (errno == EINTR)
                continue;
            return errno;
        }
        p += k;
        n -= (size_t)k;
    }
    return 0;
}

int img_write_pnm(const char *path, const struct img *img)
{
    char head[64];
    int hlen = pnm_header(img, head, sizeof(head));
    int fd, rc;

    fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        return errno;
    rc = write_all(fd, head, (size_t)hlen);
    if (rc == 0)
        rc = write_all(fd, img->px,
                       (size_t)img->w * img->h * img->channels);
    if (close(fd) != 0 && rc == 0)
        rc = errno;
    return rc;
}

/* Reads one header number, skipping white space and '#' comments. */
static bool header_number(const unsigned char **p, const unsigned char *end,
                          unsigned long *v)
{
    const unsigned char *q = *p;

    for (;;) {
        while (q < end && (*q == ' ' || *q == '\t' || *q == '\n' ||
                           *q == '\r' || *q == '\v' || *q == '\f'))
            q++;
        if (q < end && *q == '#') {
            while (q < end && *q != '\n')
                q++;
            continue;
        }
        break;
    }
    if (q == end || *q < '0' || *q > '9')
        return false;
    *v = 0;
    while (q < end && *q >= '0' && *q <= '9') {
        *v = *v * 10 + (unsigned long)(*q++ - '0');
        if (*v > 1000000)
            return false;
    }
    *p = q;
    return true;
}

/* Reads up to n bytes, fewer only at end of file.  Returns the count, or
 * -1 with errno set. */
static ssize_t read_full(int fd, void *buf, size_t n)
{
    unsigned char *p = buf;
    size_t got = 0;

    while (got < n) {
        ssize_t k = read(fd, p + got, n - got);

        if (k < 0 && errno == EINTR)
            continue;
        if (k < 0)
            return -1;
        if (k == 0)
            break;
        got += (size_t)k;
    }
    return (ssize_t)got;
}

/*
 * The header is parsed from the file's first PNM_HEAD_MAX bytes, and the
 * raster is read straight into the image's own buffer: no second copy of
 * a multi-megabyte file.  (Large allocations cost more than their bytes:
 * glibc often serves them with memory mapped from the kernel and gives it
 * back when they are freed, and in a multithreaded process giving memory
 * back must flush the TLBs of all the cores running its threads.  Without
 * this copy the threads mode scaled in our runs; with it, it did not: see
 * benchmarks/README-cases.md.)
 */
/* A netpbm header is a few dozen bytes; 4096 leaves room for comments. */
#define PNM_HEAD_MAX 4096

int img_read_pnm(const char *path, struct img *out)
{
    unsigned char head[PNM_HEAD_MAX];
    const unsigned char *p, *end;
    unsigned long w, h, maxval;
    unsigned ch;
    size_t need, have;
    ssize_t n;
    int fd, rc;

    memset(out, 0, sizeof(*out));
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return errno;
    n = read_full(fd, head, sizeof(head));
    if (n < 0) {
        rc = errno;
        goto done;
    }
    p = head;
    end = head + n;
    rc = EINVAL;
    if (n < 3 || p[0] != 'P' || (p[1] != '5' && p[1] != '6'))
        goto done;
    ch = p[1] == '5' ? 1 : 3;
    p += 2;
    if (!header_number(&p, end, &w) || !header_number(&p, end, &h) ||
        !header_number(&p, end, &maxval) || w == 0 || h == 0 ||
        w > IMG_MAX_SIDE || h > IMG_MAX_SIDE || maxval == 0)
        goto done;
    if (maxval > 255) {
        rc = ENOTSUP;
        goto done;
    }
    /* Exactly one white-space character separates header and raster. */
    if (p == end || !(*p == ' ' || *p == '\n' || *p == '\t' || *p == '\r'))
        goto done;
    p++;
    need = (size_t)w * h * ch;
    if ((rc = img_alloc(out, (unsigned)w, (unsigned)h, ch)) != 0)
        goto done;
    have = (size_t)(end - p) < need ? (size_t)(end - p) : need;
    memcpy(out->px, p, have);
    n = read_full(fd, out->px + have, need - have);
    if (n < 0 || (size_t)n != need - have) {
        rc = n < 0 ? errno : EINVAL;
        img_release(out);
        goto done;
    }
    if (maxval < 255) {
        for (size_t k = 0; k < need; k++) {
            unsigned v = out->px[k] > maxval ? (unsigned)maxval : out->px[k];

            out->px[k] = (unsigned char)((v * 255u + maxval / 2) / maxval);
        }
    }
    rc = 0;
done:
    close(fd);
    return rc;
}

int img_grayscale(const struct img *src, struct img *dst)
{
    size_t n = (size_t)src->w * src->h;
    int rc;

    if ((rc = img_alloc(dst, src->w, src->h, 1)) != 0)
        return rc;
    if (src->channels == 1) {
        memcpy(dst->px, src->px, n);
        return 0;
    }
    for (size_t k = 0; k < n; k++) {
        const unsigned char *rgb = src->px + 3 * k;

        dst->px[k] = (unsigned char)((19595u * rgb[0] + 38470u * rgb[1] +
                                      7471u * rgb[2] + 32768u) >> 16);
    }
    return 0;
}

/*
 * The weights of one axis: output o takes count[o] source samples from
 * first[o] on, with weights w[o * stride ...], which sum to 1.
 */
struct axis {
    unsigned *first, *count;
    double *w;
    unsigned stride;
};

static void axis_release(struct axis *a)
{
    free(a->first);
    free(a->count);
    free(a->w);
}

static int axis_make(struct axis *a, unsigned src, unsigned dst)
{
    double scale = (double)src / dst;

    /* A footprint of `scale` pixels touches at most ceil(scale) + 1. */
    a->stride = (unsigned)ceil(scale) + 1;
    a->first = malloc(dst * sizeof(*a->first));
    a->count = malloc(dst * sizeof(*a->count));
    a->w = calloc((size_t)dst * a->stride, sizeof(*a->w));
    if (a->first == NULL || a->count == NULL || a->w == NULL) {
        axis_release(a);
        return ENOMEM;
    }
    for (unsigned o = 0; o < dst; o++) {
        /* The footprint [lo, hi), computed from integers so that
         * neighbouring footprints meet exactly. */
        double lo = (double)o * src / dst, hi = (double)(o + 1) * src / dst;
        unsigned k0 = (unsigned)floor(lo), n = 0;

        for (unsigned k = k0; k < src && (double)k < hi && n < a->stride;
             k++) {
            double a0 = lo > k ? lo : k, a1 = hi < k + 1.0 ? hi : k + 1.0;

            if (a1 > a0)
                a->w[(size_t)o * a->stride + n++] = (a1 - a0) / (hi - lo);
        }
        a->first[o] = k0;
        a->count[o] = n;
    }
    return 0;
}

int img_resize_box(const struct img *src, unsigned w, unsigned h,
                   struct img *dst)
{
    struct axis ax = { 0 }, ay = { 0 };
    double *tmp = NULL;
    int rc;

    memset(dst, 0, sizeof(*dst));
    if (src->channels != 1 || w == 0 || h == 0 || src->w == 0 ||
        src->h == 0)
        return EINVAL;
    if ((rc = axis_make(&ax, src->w, w)) != 0)
        return rc;
    if ((rc = axis_make(&ay, src->h, h)) != 0)
        goto fail;
    tmp = malloc((size_t)src->h * w * sizeof(*tmp));
    if (tmp == NULL || img_alloc(dst, w, h, 1) != 0) {
        rc = ENOMEM;
        goto fail;
    }
    /* Pass 1: every source row to w values. */
    for (unsigned y = 0; y < src->h; y++) {
        const unsigned char *row = src->px + (size_t)y * src->w;

        for (unsigned x = 0; x < w; x++) {
            const double *wt = ax.w + (size_t)x * ax.stride;
            const unsigned char *s = row + ax.first[x];
            double v = 0.0;

            for (unsigned k = 0; k < ax.count[x]; k++)
                v += wt[k] * s[k];
            tmp[(size_t)y * w + x] = v;
        }
    }
    /* Pass 2: every column of that to h values, rounded once. */
    for (unsigned y = 0; y < h; y++) {
        const double *wt = ay.w + (size_t)y * ay.stride;
        const double *s = tmp + (size_t)ay.first[y] * w;

        for (unsigned x = 0; x < w; x++) {
            double v = 0.0;

            for (unsigned k = 0; k < ay.count[y]; k++)
                v += wt[k] * s[(size_t)k * w + x];
            v = floor(v + 0.5);
            dst->px[(size_t)y * w + x] =
                (unsigned char)(v < 0 ? 0 : v > 255 ? 255 : v);
        }
    }
    free(tmp);
    axis_release(&ax);
    axis_release(&ay);
    return 0;
fail:
    free(tmp);
    img_release(dst);
    axis_release(&ax);
    axis_release(&ay);
    return rc;
}

uint64_t img_fnv1a(const void *data, size_t n, uint64_t h)
{
    const unsigned char *p = data;

    for (size_t k = 0; k < n; k++)
        h = (h ^ p[k]) * 0x100000001b3u;
    return h;
}

uint64_t img_checksum(const struct img *img)
{
    char head[64];
    int hlen = pnm_header(img, head, sizeof(head));
    uint64_t h = img_fnv1a(head, (size_t)hlen, IMG_FNV_INIT);

    return img_fnv1a(img->px, (size_t)img->w * img->h * img->channels, h);
}

int img_file_checksum(const char *path, uint64_t *sum)
{
    unsigned char buf[65536];
    uint64_t h = IMG_FNV_INIT;
    ssize_t n;
    int fd = open(path, O_RDONLY | O_CLOEXEC), rc = 0;

    if (fd < 0)
        return errno;
    while ((n = read_full(fd, buf, sizeof(buf))) > 0)
        h = img_fnv1a(buf, (size_t)n, h);
    if (n < 0)
        rc = errno;
    close(fd);
    if (rc == 0)
        *sum = h;
    return rc;
}

/* Grayscale and resize: the pipeline shared by both entry points. */
static int pipeline(const struct img *in, struct img *out)
{
    struct img gray;
    int rc = img_grayscale(in, &gray);

    if (rc != 0)
        return rc;
    rc = img_resize_box(&gray, IMG_OUT_SIDE, IMG_OUT_SIDE, out);
    img_release(&gray);
    return rc;
}

int img_process(const struct img *in, uint64_t *sum)
{
    struct img out;
    int rc = pipeline(in, &out);

    if (rc != 0)
        return rc;
    *sum = img_checksum(&out);
    img_release(&out);
    return 0;
}

int img_process_file(const char *in_path, const char *out_path,
                     uint64_t *sum)
{
    struct img in, out;
    int rc = img_read_pnm(in_path, &in);

    if (rc != 0)
        return rc;
    rc = pipeline(&in, &out);
    img_release(&in);
    if (rc != 0)
        return rc;
    rc = img_write_pnm(out_path, &out);
    if (rc == 0)
        *sum = img_checksum(&out);
    img_release(&out);
    return rc;
}
