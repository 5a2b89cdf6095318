/*
 * image.h - the image case study's pieces: deterministic test images, the
 * netpbm file formats, grayscale conversion, resizing, checksums.
 *
 * The tutorial's version (section 7.2) opens each JPEG with Pillow,
 * converts it to grayscale ("L"), resizes it to 256x256 and saves it, on a
 * multiprocessing.Pool.  Here the files are netpbm's binary PPM (P6,
 * colour) and PGM (P5, gray), whose whole format is a text header and the
 * raw bytes (netpbm's ppm(5) and pgm(5) manual pages), so that every byte
 * of the work is code a student can read: no codec hides the cost.
 *
 * Grayscale: Pillow's convert("L"), ITU-R BT.601 luma in 16-bit fixed
 * point, L = (19595 R + 38470 G + 7471 B + 32768) >> 16 (the weights are
 * 0.299, 0.587 and 0.114 times 65536, rounded to sum to 65536).
 *
 * Resize: an area-average ("box") filter: each output pixel is the mean of
 * the source pixels under its footprint, each weighted by the fraction of
 * it that is covered.  Downscaling this way averages away detail instead
 * of aliasing it; upscaling degenerates to nearest-neighbour with blended
 * edges.  It is separable (rows, then columns) and exact in its weights.
 *
 * All functions are thread-safe and use no global state; they may also be
 * called in forked worker processes.  Errors are 0-or-errno.
 */
#ifndef BENCH_IMAGE_H
#define BENCH_IMAGE_H

#include <stddef.h>
#include <stdint.h>

/* An 8-bit image, rows top to bottom, channels interleaved (RGB). */
struct img {
    unsigned w, h;
    unsigned channels;      /* 1 (gray) or 3 (RGB) */
    unsigned char *px;      /* w * h * channels bytes, malloc'd */
};

/* The largest side img_read_pnm() accepts: bigger is surely not ours. */
#define IMG_MAX_SIDE 16384u

/* The case study's output size (the tutorial's resize((256, 256))). */
#define IMG_OUT_SIDE 256u

/* Frees img->px and zeroes *img.  NULL does nothing. */
void img_release(struct img *img);

/*
 * Makes test image number i of a set: its size, colour or gray, and
 * content follow from (i, seed) alone, so every run and every process makes
 * the same image.  Sizes vary between max_side / 2 and max_side (so the
 * resize factors differ and some are not whole numbers), every fifth image
 * is gray, and every seventh is small (max_side / 8, at least 16), which
 * the resize must enlarge.  Returns 0, EINVAL (max_side < 16 or above
 * IMG_MAX_SIDE) or ENOMEM.
 */
int img_generate(unsigned i, uint64_t seed, unsigned max_side,
                 struct img *out);

/* Writes img as binary PGM (1 channel) or PPM (3 channels).  Returns 0 or
 * an errno from open/write/close. */
int img_write_pnm(const char *path, const struct img *img);

/*
 * Reads a binary PGM (P5) or PPM (P6) file with maxval 1..255 (values are
 * scaled to 0..255) and header comments.  Returns 0, an errno from
 * open/read, ENOMEM, EINVAL (not P5/P6, a bad header, a short file) or
 * ENOTSUP (16-bit samples).
 */
int img_read_pnm(const char *path, struct img *out);

/* Converts src (1 or 3 channels) to a new 1-channel image.  Returns 0 or
 * ENOMEM. */
int img_grayscale(const struct img *src, struct img *dst);

/* Resizes a 1-channel src to w x h with the area-average filter into a new
 * image.  Returns 0, EINVAL (not 1 channel, or a zero size) or ENOMEM. */
int img_resize_box(const struct img *src, unsigned w, unsigned h,
                   struct img *dst);

/* FNV-1a, 64 bits, of n bytes: the outputs' checksum. */
uint64_t img_fnv1a(const void *data, size_t n, uint64_t h);
#define IMG_FNV_INIT 0xcbf29ce484222325u

/* The checksum of the file img_write_pnm() would write for img. */
uint64_t img_checksum(const struct img *img);

/* The checksum of a file's bytes into *sum.  Returns 0 or an errno. */
int img_file_checksum(const char *path, uint64_t *sum);

/*
 * The case study's unit of work: reads in_path, converts to grayscale,
 * resizes to IMG_OUT_SIDE x IMG_OUT_SIDE, writes out_path as PGM, and
 * stores the checksum of what it wrote in *sum.  Returns 0 or the first
 * error.
 */
int img_process_file(const char *in_path, const char *out_path,
                     uint64_t *sum);

/* The same on an image in memory (the reference run): *sum is what
 * img_process_file() would write for it. */
int img_process(const struct img *in, uint64_t *sum);

#endif
