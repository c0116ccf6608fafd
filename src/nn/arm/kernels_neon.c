/* neon GEMM micro-kernel and epilogue (gemm_kern.h). */
#include "config.h"

#include "gemm_kern.h"
#include "cpu.h"

void msnn__gemm_kernel_neon(msnn__gemm_kernel *k)
{
    k->ukr = NULL;   /* no micro-kernel yet: gemm.c keeps the reference path */
    k->epi = NULL;
}
