/* Conformance of the LiteMedSAM engine with the upstream PyTorch results
 * (tests/data/model/2D_brainpd, computed by the authors' code with the
 * random-weight checkpoint random_seed7.pth), and the checkpoint key checks.
 *
 *   test_model encoder   one encoding: stage1..3 (probe) and the embedding
 *   test_model decoder   the 3 boxes on the reference embedding: logits, iou
 *   test_model errors    missing / mis-shaped / unexpected / wrong-dtype keys
 *
 * Tolerances: tests/data/model/README (from the fixtures' README).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ms_npy.h"
#include "ms_test.h"
#include "msnn.h"
#include "pool.h"

static char data_dir[1024];

static const char *path_of(const char *rel)
{
    static char buf[4][1400];
    static int i;
    i = (i + 1) % 4;
    snprintf(buf[i], sizeof buf[i], "%s/model/%s", data_dir, rel);
    return buf[i];
}

static int load_npy(const char *rel, ms_array *a, size_t n)
{
    ms_err err = { 0 };
    int rc = ms_npy_read(path_of(rel), a, NULL, &err);
    CHECKF(rc == 0, "%s", err.msg);
    if (rc)
        return -1;
    CHECKF(a->dtype == MS_F32 && ms_array_nelem(a) == n, "%s: dtype %d, %zu elements, want %zu",
           rel, (int)a->dtype, ms_array_nelem(a), n);
    return a->dtype == MS_F32 && ms_array_nelem(a) == n ? 0 : -1;
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* max and mean |a - b|; prints them. */
static void compare(const char *what, const float *a, const float *b, size_t n, double max_tol,
                    double mean_tol)
{
    double mx = 0.0, sum = 0.0;
    size_t at = 0;
    for (size_t i = 0; i < n; i++) {
        double d = fabs((double)a[i] - (double)b[i]);
        if (!(d <= mx)) {           /* NaN counts as the worst */
            mx = d != d ? INFINITY : d;
            at = i;
        }
        sum += d;
    }
    double mean = sum / (double)n;
    printf("%-14s max|d| %.3g (at %zu: %.6g vs %.6g)  mean|d| %.3g\n", what, mx, at,
           (double)a[at], (double)b[at], mean);
    CHECKF(mx <= max_tol, "%s: max |d| %g > %g", what, mx, max_tol);
    if (mean_tol > 0)
        CHECKF(mean <= mean_tol, "%s: mean |d| %g > %g", what, mean, mean_tol);
}

/* ------------------------------------------------------------ encoder */

typedef struct probe_state {
    int seen;
} probe_state;

static void probe(void *user, const char *name, const float *data, int ndim,
                  const size_t *shape)
{
    probe_state *ps = user;
    static const char *stages[] = { "stage1", "stage2", "stage3" };
    for (int s = 0; s < 3; s++) {
        if (strcmp(name, stages[s]) != 0)
            continue;
        char rel[64];
        snprintf(rel, sizeof rel, "2D_brainpd/%s.npy", name);
        size_t n = shape[0] * shape[1] * shape[2];
        ms_array ref = { 0 };
        CHECK_EQ_INT(ndim, 3);
        if (load_npy(rel, &ref, n) == 0) {
            CHECK_EQ_INT(ref.shape[1], shape[1]);
            CHECK_EQ_INT(ref.shape[2], shape[2]);
            compare(name, data, ref.data, n, 2e-3, 1e-4);
            ps->seen |= 1 << s;
        }
        ms_array_free(&ref);
    }
}

static int threads(void)
{
    const char *s = getenv("MSNN_TEST_THREADS");
    return s ? atoi(s) : 1;
}

static void test_encoder(msnn_model *m)
{
    ms_array in = { 0 }, ref = { 0 };
    size_t ne = (size_t)MSNN_EMB_C * MSNN_EMB * MSNN_EMB;
    float *emb = malloc(ne * sizeof(float));
    msnn_pool *pool = threads() > 1 ? msnn_pool_new(threads()) : NULL;
    if (load_npy("2D_brainpd/input.npy", &in, 3 * 256 * 256) < 0 ||
        load_npy("2D_brainpd/embedding.npy", &ref, ne) < 0 || !emb)
        goto done;
    probe_state ps = { 0 };
    msnn_opts o = { pool, probe, &ps, 0 };
    ms_err err = { 0 };
    double t0 = now();
    int rc = msnn_encode(m, in.data, emb, &o, &err);
    printf("encode: %.3f s (%d thread(s))\n", now() - t0, msnn_pool_size(pool));
    CHECKF(rc == 0, "%s", err.msg);
    CHECKF(ps.seen == 7, "stages probed: mask %d", ps.seen);
    if (rc == 0)
        compare("embedding", emb, ref.data, ne, 2e-3, 1e-4);
    /* another thread count (3 splits every stage unevenly) gives bitwise the
     * same embedding */
    {
        int n2 = threads() == 3 ? 1 : 3;
        msnn_pool *pool2 = n2 > 1 ? msnn_pool_new(n2) : NULL;
        float *emb2 = malloc(ne * sizeof(float));
        msnn_opts o2 = { pool2, NULL, NULL, 0 };
        CHECK(emb2 && (n2 == 1 || pool2));
        if (rc == 0 && emb2 && (n2 == 1 || pool2)) {
            CHECKF(msnn_encode(m, in.data, emb2, &o2, &err) == 0, "%s", err.msg);
            CHECKF(memcmp(emb, emb2, ne * sizeof(float)) == 0,
                   "embedding on %d threads differs from %d thread(s)", n2,
                   msnn_pool_size(pool));
        }
        msnn_pool_free(&pool2);
        free(emb2);
    }
done:
    msnn_pool_free(&pool);
    free(emb);
    ms_array_free(&in);
    ms_array_free(&ref);
}

/* ------------------------------------------------------------ decoder */

static void test_decoder(msnn_model *m)
{
    ms_array emb = { 0 }, boxes = { 0 }, logits = { 0 }, iou = { 0 };
    float *out = malloc(256 * 256 * sizeof(float));
    if (load_npy("2D_brainpd/embedding.npy", &emb, (size_t)256 * 64 * 64) < 0 ||
        load_npy("2D_brainpd/boxes256.npy", &boxes, 12) < 0 ||
        load_npy("2D_brainpd/lowres_logits.npy", &logits, (size_t)3 * 256 * 256) < 0 ||
        load_npy("2D_brainpd/iou.npy", &iou, 3) < 0 || !out)
        goto done;
    for (int b = 0; b < 3; b++) {
        const float *box = (const float *)boxes.data + 4 * b;
        float iou_pred = 0;
        ms_err err = { 0 };
        double t0 = now();
        int rc = msnn_decode(m, emb.data, box, out, &iou_pred, NULL, &err);
        printf("decode box %d: %.1f ms\n", b, 1e3 * (now() - t0));
        CHECKF(rc == 0, "%s", err.msg);
        if (rc)
            continue;
        char what[32];
        snprintf(what, sizeof what, "logits[%d]", b);
        compare(what, out, (const float *)logits.data + (size_t)b * 256 * 256, 256 * 256,
                5e-3, 0);
        snprintf(what, sizeof what, "iou[%d]", b);
        compare(what, &iou_pred, (const float *)iou.data + b, 1, 1e-3, 0);
    }
    /* the same box on 2 threads gives bitwise the same result */
    {
        float *out2 = malloc(256 * 256 * sizeof(float));
        msnn_pool *pool = msnn_pool_new(2);
        msnn_opts o = { pool, NULL, NULL, 0 };
        float iou1 = 0, iou2 = 0;
        ms_err e1 = { 0 }, e2 = { 0 };
        const float *box = (const float *)boxes.data;
        CHECK(out2 && pool);
        if (out2 && pool) {
            CHECK(msnn_decode(m, emb.data, box, out, &iou1, NULL, &e1) == 0);
            CHECK(msnn_decode(m, emb.data, box, out2, &iou2, &o, &e2) == 0);
            CHECK(memcmp(out, out2, 256 * 256 * sizeof(float)) == 0);
            CHECK(memcmp(&iou1, &iou2, sizeof iou1) == 0);
            /* the decoder keeps per-embedding values: a changed embedding
             * (same buffer) must not reuse them, and going back must match */
            float *e = emb.data, keep = e[12345];
            e[12345] = keep + 1.0f;
            CHECK(msnn_decode(m, emb.data, box, out2, &iou2, NULL, &e2) == 0);
            CHECK(memcmp(out, out2, 256 * 256 * sizeof(float)) != 0);
            e[12345] = keep;
            CHECK(msnn_decode(m, emb.data, box, out2, &iou2, NULL, &e2) == 0);
            CHECK(memcmp(out, out2, 256 * 256 * sizeof(float)) == 0);
            /* with the caller's emb_id: the same bits; a new id on a changed
             * embedding rebuilds the cache, and so does id 0 after an id */
            float *changed = malloc(256 * 256 * sizeof(float));
            CHECK(changed != NULL);
            e[12345] = keep + 1.0f;
            CHECK(msnn_decode(m, emb.data, box, changed, &iou2, NULL, &e2) == 0);
            e[12345] = keep;
            CHECK(msnn_decode(m, emb.data, box, out2, &iou2, NULL, &e2) == 0);
            msnn_opts oi = { NULL, NULL, NULL, 7 };
            CHECK(msnn_decode(m, emb.data, box, out2, &iou2, &oi, &e2) == 0);
            CHECK(memcmp(out, out2, 256 * 256 * sizeof(float)) == 0);
            CHECK(msnn_decode(m, emb.data, box, out2, &iou2, &oi, &e2) == 0);
            CHECK(memcmp(out, out2, 256 * 256 * sizeof(float)) == 0);
            e[12345] = keep + 1.0f;
            oi.emb_id = 8;
            CHECK(msnn_decode(m, emb.data, box, out2, &iou2, &oi, &e2) == 0);
            CHECK(changed && memcmp(changed, out2, 256 * 256 * sizeof(float)) == 0);
            e[12345] = keep;
            CHECK(msnn_decode(m, emb.data, box, out2, &iou2, NULL, &e2) == 0);
            CHECK(memcmp(out, out2, 256 * 256 * sizeof(float)) == 0);
            free(changed);
        }
        msnn_pool_free(&pool);
        free(out2);
    }
    /* a non-finite box is refused */
    float bad[4] = { 0, 0, NAN, 10 }, iou_pred;
    ms_err err = { 0 };
    CHECK(msnn_decode(m, emb.data, bad, out, &iou_pred, NULL, &err) == MS_EINVAL);
done:
    free(out);
    ms_array_free(&emb);
    ms_array_free(&boxes);
    ms_array_free(&logits);
    ms_array_free(&iou);
}

/* ------------------------------------------------------------ checkpoint errors */

static void expect_error(const char *rel, int code, const char *text)
{
    msnn_model *m = NULL;
    ms_err err = { 0 };
    int rc = msnn_model_load(path_of(rel), &m, &err);
    printf("%s: %d %s\n", rel, rc, err.msg);
    CHECKF(rc == code, "%s: rc %d, want %d", rel, rc, code);
    CHECK(m == NULL);
    CHECK_STR_CONTAINS(err.msg, text);
    CHECK_STR_CONTAINS(err.msg, rel);   /* the message names the file */
    msnn_model_free(&m);
}

static void test_errors(void)
{
    msnn_model *m = NULL;
    ms_err err = { 0 };
    int rc = msnn_model_load(path_of("bad/all_keys_ok.pth"), &m, &err);
    CHECKF(rc == 0 && m, "all_keys_ok.pth: %s", err.msg);
    msnn_model_free(&m);
    CHECK(m == NULL);
    expect_error("bad/missing_key.pth", MS_ENOTFOUND,
                 "missing key 'mask_decoder.iou_token.weight'");
    expect_error("bad/wrong_shape.pth", MS_ESHAPE,
                 "'image_encoder.layers.2.blocks.3.attn.attention_biases' has shape 5x49, "
                 "expected 5x196");
    expect_error("bad/unexpected_key.pth", MS_EFORMAT,
                 "unexpected key 'image_encoder.head.weight'");
    expect_error("bad/wrong_dtype.pth", MS_EUNSUPP,
                 "'prompt_encoder.no_mask_embed.weight' is int64, expected float32");
    rc = msnn_model_load(path_of("no_such_file.pth"), &m, &err);
    CHECK(rc < 0 && m == NULL);
}

int main(int argc, char **argv)
{
    const char *d = getenv("MS_TEST_DATA");
    snprintf(data_dir, sizeof data_dir, "%s", d ? d : "tests/data");
    const char *mode = argc > 1 ? argv[1] : "all";
    if (!strcmp(mode, "errors") || !strcmp(mode, "all"))
        test_errors();
    if (strcmp(mode, "errors") != 0) {
        msnn_model *m = NULL;
        ms_err err = { 0 };
        double t0 = now();
        int rc = msnn_model_load(path_of("random_seed7.pth"), &m, &err);
        printf("load: %.1f ms\n", 1e3 * (now() - t0));
        CHECKF(rc == 0, "%s", err.msg);
        if (rc == 0 && (!strcmp(mode, "decoder") || !strcmp(mode, "all")))
            test_decoder(m);
        if (rc == 0 && (!strcmp(mode, "encoder") || !strcmp(mode, "all")))
            test_encoder(m);
        if (m)
            printf("model bytes: %.1f MB\n", (double)msnn_model_bytes(m) / 1e6);
        msnn_model_free(&m);
    }
    TEST_END();
}
