/* core/npy.h: NumPy .npy files in and out, and IEEE half-precision floats.
 *
 * Reading accepts format versions 1.0, 2.0 and 3.0, C order, 1-D or 2-D, with
 * dtype '<f4', '<f8', '<f2' or '|u1' ('<u1' too), and converts to float32. The
 * header dict is parsed by hand, strictly: every malformed header (bad magic,
 * unknown or repeated key, missing key, bad shape, shape overflow, wrong
 * dtype, fortran_order True, file size that does not match the shape) is a
 * PR_E_FORMAT error naming the path and what is wrong, never a crash. A 1-D
 * array of n values reads as n rows of 1 column. Values are not checked for
 * NaN/Inf here: callers that need finite values check (features/store.c does).
 *
 * Writing produces a version 1.0 '<f4' 2-D file with the header padded to 64
 * bytes, atomically (temporary file + rename).
 *
 * Costs: reading maps the file and converts once (one pass, output owned by
 * the caller); writing is one pass. Format reference: numpy.lib.format. */
#ifndef PR_CORE_NPY_H
#define PR_CORE_NPY_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"

/* Read a .npy file into *X (rows, cols) float32 row-major, a new heap array
 * owned by the caller (free()); an empty array still gets a valid pointer. */
int pr_npy_read(const char *path, float **X, int64_t *rows, int64_t *cols, pr_error *err);

/* The same from bytes in memory; `what` names the source in errors. */
int pr_npy_parse(const void *data, size_t n, const char *what, float **X, int64_t *rows,
                 int64_t *cols, pr_error *err);

/* Write X (rows, cols) as a version 1.0 '<f4' C-order .npy, atomically. */
int pr_npy_write(const char *path, const float *X, int64_t rows, int64_t cols, pr_error *err);

/* Serialise X (rows, cols) as .npy bytes into a new heap buffer (*out, *n). */
int pr_npy_encode(const float *X, int64_t rows, int64_t cols, uint8_t **out, size_t *n,
                  pr_error *err);

/* IEEE 754 binary16 <-> binary32. float->half rounds to nearest, ties to even;
 * overflow gives +-inf, NaN stays NaN (quiet, payload top bits kept);
 * subnormal halves are produced and read exactly. half->float is exact. */
float pr_f16_to_f32(uint16_t h);
uint16_t pr_f32_to_f16(float f);

#endif
