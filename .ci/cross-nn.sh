#!/bin/sh
# Build the engine's kernel tests (test_checkasm, the GEMM micro-kernels, the decoder
# kernels, Winograd) for another
# architecture from the nn sources alone (no I/O library, no libzip/libpng),
# and run it under qemu-user.  Default: aarch64 with Debian's
# gcc-aarch64-linux-gnu and qemu-user, which tests the NEON kernels.
#
#   .ci/cross-nn.sh [BUILD_DIR]        (default build-cross-aarch64)
#   CROSS=aarch64-linux-gnu QEMU="qemu-aarch64 -L /usr/aarch64-linux-gnu"
set -eu
src=$(cd "$(dirname "$0")/.." && pwd)
out=${1:-"$src/build-cross-aarch64"}
cross=${CROSS:-aarch64-linux-gnu}
qemu=${QEMU:-"qemu-aarch64 -L /usr/$cross"}
cc="$cross-gcc"
mkdir -p "$out"
case "$cross" in
    aarch64*) a64=1; x64=0 ;;
    x86_64*) a64=0; x64=1 ;;
    *) a64=0; x64=0 ;;
esac
cat > "$out/config.h" <<EOC
#define MS_VERSION "cross-nn"
#define HAVE_JPEG 0
#define ARCH_X86_64 $x64
#define ARCH_AARCH64 $a64
#define HAVE_NIFTI_SUBDIR 0
EOC
nn="$src/src/nn"
simd=""
[ "$a64" = 1 ] && simd="$nn/arm/kernels_neon.c"
# cross_test NAME SOURCE...: build tests/nn/NAME.c with the sources, run it
cross_test() {
    name=$1
    shift
    # shellcheck disable=SC2086
    "$cc" -std=c11 -O2 -D_GNU_SOURCE -Wall -Wextra -Wno-unused-parameter -Wno-sign-compare \
        -Werror=vla -Werror=missing-prototypes -Werror=implicit-function-declaration -Wundef \
        -I"$out" -I"$nn" -I"$src/src/io" -I"$src/tests" \
        "$src/tests/nn/$name.c" "$@" -o "$out/$name" -lpthread -lm
    echo "built $out/$name for $cross"
    # shellcheck disable=SC2086
    $qemu "$out/$name"
}

# The GEMM and kernel tables, every level against the reference.
# shellcheck disable=SC2086
cross_test test_checkasm "$nn/pool.c" "$nn/cpu.c" "$nn/gemm.c" "$nn/kernels.c" \
    "$nn/kernels_ref.c" $simd

# The GEMM micro-kernels called directly: edge-row kernels against the full
# tile and a C reference, msnn_gemm over several K blocks against the fmaf chain.
# shellcheck disable=SC2086
cross_test test_gemm_kernels "$nn/pool.c" "$nn/cpu.c" "$nn/gemm.c" "$nn/kernels.c" \
    "$nn/kernels_ref.c" $simd

# The mask decoder's kernels (reference C on aarch64: there is no NEON
# variant yet) against their own test.
cross_test test_decoder_kernels "$nn/decoder_kern.c" "$nn/cpu.c"

# The Winograd 3x3 convolution (encoder neck) on the NEON GEMM, against a
# direct sum.
# shellcheck disable=SC2086
cross_test test_winograd "$nn/winograd.c" "$nn/pool.c" "$nn/cpu.c" "$nn/gemm.c" \
    "$nn/kernels.c" "$nn/kernels_ref.c" $simd
