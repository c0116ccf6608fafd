/* Internal: the SIMD overrides of the kernel table (kernels.h), one per ISA
 * file; each replaces the entries it implements and keeps the others. */
#ifndef MSNN_KERNELS_SIMD_H
#define MSNN_KERNELS_SIMD_H

#include "kernels.h"

void msnn__kernels_init_avx2(msnn_kernels *k);
void msnn__kernels_init_avx512(msnn_kernels *k);
void msnn__kernels_init_neon(msnn_kernels *k);

#endif
