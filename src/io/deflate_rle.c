/* A run-length deflate encoder for label volumes (see codec.h).
 *
 * Label arrays are long runs of one value (mostly 0).  Every run of 4 or more
 * equal bytes becomes one literal and back-references of distance 1 (up to
 * 258 bytes each); everything else is literals.  That needs no match search,
 * which is where a general compressor (zlib, libdeflate) spends its time.
 * Two passes over the data: the first counts the symbols, the second writes
 * one deflate block with Huffman codes built for those counts (RFC 1951
 * section 3.2.7), so speckled label borders cost a few bits per byte, not 8.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "codec.h"
#include "ms_npz.h"

#define NLIT 286        /* literal/length symbols 0..285 */
#define MAXBITS 15

typedef struct bitw {
    unsigned char *p, *end;
    uint64_t acc;       /* pending bits, LSB first */
    int n;              /* how many (< 32 between calls) */
    int full;           /* ran out of room (only in the header: the body's size is
                         * checked before it is written) */
} bitw;

static inline void put_bits(bitw *w, uint32_t v, int nb)
{
    w->acc |= (uint64_t)v << w->n;
    w->n += nb;
    if (w->n >= 32) {
        if (w->end - w->p >= 4) {
            for (int i = 0; i < 4; i++)
                w->p[i] = (unsigned char)(w->acc >> (8 * i));
            w->p += 4;
        } else {
            w->full = 1;
        }
        w->acc >>= 32;
        w->n -= 32;
    }
}

/* ------------------------------------------------------------ symbols */

static const unsigned short len_base[29] = {3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27,
                                            31, 35, 43, 51, 59, 67, 83, 99, 115, 131, 163, 195,
                                            227, 258};
static const unsigned char len_extra[29] = {0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3,
                                            3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0};

/* Length 3..258 -> symbol index 0..28 (symbol 257 + index).  From 11 on,
 * codes come four per power of two of L - 3, so the index follows from the
 * top bits of L - 3 (RFC 1951 3.2.5); 258 has a code of its own. */
static int len_sym(int L)
{
    if (L == 258)
        return 28;
    unsigned v = (unsigned)L - 3;
    if (v < 8)
        return (int)v;
    int b = 31 - __builtin_clz(v);   /* 3..7 */
    return 4 * (b - 2) + (int)(v >> (b - 2));
}

/* The symbols of a buffer, as callbacks: a literal, or a match of length L. */
typedef struct sink {
    void (*lit)(struct sink *s, unsigned b);
    void (*match)(struct sink *s, int L);
} sink;

/* Where the run of p[i]'s value that starts at i ends (exclusive). */
static size_t run_end(const unsigned char *p, size_t i, size_t n)
{
    const unsigned char b = p[i];
    uint64_t pat = 0x0101010101010101ull * b;
    size_t j = i + 1;
    while (j + 32 <= n) {   /* labels: runs of thousands of zeros */
        uint64_t v[4];
        memcpy(v, p + j, 32);
        if (((v[0] ^ pat) | (v[1] ^ pat) | (v[2] ^ pat) | (v[3] ^ pat)) != 0)
            break;
        j += 32;
    }
    while (j + 8 <= n) {
        uint64_t v;
        memcpy(&v, p + j, 8);
        if (v != pat)
            break;
        j += 8;
    }
    while (j < n && p[j] == b)
        j++;
    return j;
}

/* The symbols of one run: b repeated len times (len >= 1). */
static void emit_run(sink *s, unsigned b, size_t len)
{
    s->lit(s, b);
    size_t rem = len - 1;   /* bytes after the literal */
    while (rem >= 3) {
        size_t m = rem > 258 ? 258 : rem;
        if (rem - m > 0 && rem - m < 3)
            m -= 3 - (rem - m);   /* leave 3 for a last match, not 1-2 literals */
        s->match(s, (int)m);
        rem -= m;
    }
    while (rem--)
        s->lit(s, b);
}

/* The runs found by the first pass, for the second: value in the low 8
 * bits, length above.  Kept up to a bound (labels: a few runs per
 * labelled row); past it the second pass scans the data again. */
typedef struct runlog {
    uint64_t *r;
    size_t n, cap, max;
    int full;
} runlog;

static void log_run(runlog *g, unsigned b, size_t len)
{
    if (g->full)
        return;
    if (g->n == g->cap) {
        size_t c = g->cap ? 2 * g->cap : 4096;
        uint64_t *r = c <= g->max ? realloc(g->r, c * sizeof *r) : NULL;
        if (!r) {
            g->full = 1;
            return;
        }
        g->r = r;
        g->cap = c;
    }
    g->r[g->n++] = (uint64_t)len << 8 | b;
}

static void tokenize(sink *s, const unsigned char *p, size_t n, int rle, runlog *g)
{
    size_t i = 0;
    while (i < n) {
        size_t e = rle ? run_end(p, i, n) : i + 1;
        emit_run(s, p[i], e - i);
        if (g)
            log_run(g, p[i], e - i);
        i = e;
    }
}

/* A run source's maximal runs: adjacent runs of one value joined, so the
 * symbols are those of the bytes the runs spell. */
typedef struct joiner {
    const ms_npz_runs *src;
    size_t plen;          /* a run read ahead (0: none) */
    unsigned char pv;
    int end;
} joiner;

static size_t joined_next(joiner *j, unsigned char *v)
{
    size_t len = j->plen;
    unsigned char b = j->pv;
    j->plen = 0;
    while (!j->end) {
        unsigned char c;
        size_t l = j->src->next(j->src->ctx, &c);
        if (!l) {
            j->end = 1;
        } else if (len && c != b) {
            j->pv = c;
            j->plen = l;
            break;
        } else {
            b = c;
            len += l;
        }
    }
    *v = b;
    return len;
}

/* Tokenize the runs of src from the first; returns the bytes they cover. */
static size_t tokenize_runs(sink *s, const ms_npz_runs *src)
{
    joiner j = {src, 0, 0, 0};
    size_t total = 0, len;
    unsigned char b;
    src->rewind(src->ctx);
    while ((len = joined_next(&j, &b))) {
        emit_run(s, b, len);
        total += len;
    }
    return total;
}

/* ------------------------------------------------------------ counting */

typedef struct counter {
    sink s;
    uint64_t freq[NLIT];
} counter;

static void count_lit(sink *s, unsigned b)
{
    ((counter *)s)->freq[b]++;
}

static void count_match(sink *s, int L)
{
    ((counter *)s)->freq[257 + len_sym(L)]++;
}

/* ------------------------------------------------------------ Huffman */

/* Code lengths (<= maxbits) for the n symbols of freq (0 = unused).  At least
 * two symbols must be used.  Huffman's merge, O(n^2) on <= 286 symbols; when
 * the longest code is too long the counts are flattened and it starts over. */
static void build_lengths(const uint64_t *freq_in, int n, int maxbits, unsigned char *len)
{
    uint64_t freq[NLIT];
    uint64_t w[2 * NLIT];
    int parent[2 * NLIT], alive[2 * NLIT];
    for (int i = 0; i < n; i++)
        freq[i] = freq_in[i];
    for (;;) {
        int m = 0;
        for (int i = 0; i < n; i++) {
            w[i] = freq[i];
            alive[i] = freq[i] > 0;
            parent[i] = -1;
        }
        m = n;
        for (;;) {
            int a = -1, b = -1;
            for (int i = 0; i < m; i++) {
                if (!alive[i])
                    continue;
                if (a < 0 || w[i] < w[a]) {
                    b = a;
                    a = i;
                } else if (b < 0 || w[i] < w[b]) {
                    b = i;
                }
            }
            if (b < 0)
                break;   /* one tree left */
            w[m] = w[a] + w[b];
            alive[m] = 1;
            parent[m] = -1;
            alive[a] = alive[b] = 0;
            parent[a] = parent[b] = m;
            m++;
        }
        int longest = 0;
        for (int i = 0; i < n; i++) {
            int d = 0;
            if (freq[i])
                for (int j = i; parent[j] >= 0; j = parent[j])
                    d++;
            len[i] = (unsigned char)d;
            if (d > longest)
                longest = d;
        }
        if (longest <= maxbits)
            return;
        for (int i = 0; i < n; i++)   /* flatten: keep used symbols used */
            if (freq[i])
                freq[i] = (freq[i] >> 2) | 1;
    }
}

/* Canonical codes from lengths (RFC 1951 3.2.2), bit-reversed for an
 * LSB-first stream. */
static void build_codes(const unsigned char *len, int n, uint32_t *code)
{
    int count[MAXBITS + 1] = {0};
    uint32_t next[MAXBITS + 2];
    for (int i = 0; i < n; i++)
        count[len[i]]++;
    count[0] = 0;
    uint32_t c = 0;
    for (int b = 1; b <= MAXBITS; b++) {
        c = (c + (uint32_t)count[b - 1]) << 1;
        next[b] = c;
    }
    for (int i = 0; i < n; i++) {
        int l = len[i];
        if (!l)
            continue;
        uint32_t v = next[l]++, r = 0;
        for (int k = 0; k < l; k++)
            r |= ((v >> k) & 1u) << (l - 1 - k);
        code[i] = r;
    }
}

/* ------------------------------------------------------------ writing */

typedef struct writer {
    sink s;
    bitw w;
    uint32_t code[NLIT];
    unsigned char len[NLIT];
} writer;

static void write_lit(sink *s, unsigned b)
{
    writer *x = (writer *)s;
    put_bits(&x->w, x->code[b], x->len[b]);
}

static void write_match(sink *s, int L)
{
    writer *x = (writer *)s;
    int k = len_sym(L);
    put_bits(&x->w, x->code[257 + k], x->len[257 + k]);
    if (len_extra[k])
        put_bits(&x->w, (uint32_t)(L - len_base[k]), len_extra[k]);
    put_bits(&x->w, 0, 1);   /* distance 1: code 0 of a two-code distance tree */
}

/* The dynamic block header: the literal/length code lengths and the two
 * distance code lengths, run-length coded with the code-length alphabet
 * (17/18 for runs of zeros), itself Huffman coded. */
static void write_header(bitw *w, const unsigned char *len, int nlit)
{
    static const unsigned char order[19] = {16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13,
                                            2, 14, 1, 15};
    unsigned char seq[NLIT + 2];
    unsigned short sym[NLIT + 2], extra[NLIT + 2];
    int nseq = 0, nsym = 0;
    uint64_t cfreq[19] = {0};
    unsigned char clen[19];
    uint32_t ccode[19];

    memcpy(seq, len, (size_t)nlit);
    seq[nlit] = seq[nlit + 1] = 1;   /* distance codes 0 and 1, one bit each */
    nseq = nlit + 2;
    for (int i = 0; i < nseq;) {
        if (seq[i] == 0) {
            int j = i;
            while (j < nseq && seq[j] == 0 && j - i < 138)
                j++;
            int r = j - i;
            if (r >= 11) {
                sym[nsym] = 18;
                extra[nsym++] = (unsigned short)(r - 11);
                i = j;
                continue;
            }
            if (r >= 3) {
                sym[nsym] = 17;
                extra[nsym++] = (unsigned short)(r - 3);
                i = j;
                continue;
            }
        }
        sym[nsym] = seq[i];
        extra[nsym++] = 0;
        i++;
    }
    for (int i = 0; i < nsym; i++)
        cfreq[sym[i]]++;
    int used = 0;
    for (int i = 0; i < 19; i++)
        used += cfreq[i] > 0;
    for (int i = 0; used < 2 && i < 19; i++)   /* a code needs two symbols */
        if (!cfreq[i]) {
            cfreq[i] = 1;
            used++;
        }
    build_lengths(cfreq, 19, 7, clen);
    build_codes(clen, 19, ccode);
    int ncl = 19;
    while (ncl > 4 && clen[order[ncl - 1]] == 0)
        ncl--;
    put_bits(w, 2, 2);                              /* BTYPE 10: dynamic codes */
    put_bits(w, (uint32_t)(nlit - 257), 5);         /* HLIT */
    put_bits(w, 1, 5);                              /* HDIST: 2 distance codes */
    put_bits(w, (uint32_t)(ncl - 4), 4);            /* HCLEN */
    for (int i = 0; i < ncl; i++)
        put_bits(w, clen[order[i]], 3);
    for (int i = 0; i < nsym; i++) {
        put_bits(w, ccode[sym[i]], clen[sym[i]]);
        if (sym[i] == 17)
            put_bits(w, extra[i], 3);
        else if (sym[i] == 18)
            put_bits(w, extra[i], 7);
    }
}

/* The data is data[0..n) or, when runs != NULL, the bytes of the runs. */
static size_t deflate_rle(const void *hdr, size_t hlen, const void *data, const ms_npz_runs *runs,
                          size_t n, unsigned char *out, size_t cap)
{
    counter c;
    writer x;

    runlog g = {NULL, 0, 0, n / 128 + 1, 0};
    memset(&c, 0, sizeof c);
    c.s.lit = count_lit;
    c.s.match = count_match;
    tokenize(&c.s, hdr, hlen, 0, NULL);
    if (!runs)
        tokenize(&c.s, data, n, 1, &g);
    else if (tokenize_runs(&c.s, runs) != n)
        return 0;
    c.freq[256] = 1;   /* end of block */
    int used = 0;
    for (int i = 0; i < NLIT; i++)
        used += c.freq[i] > 0;
    if (used < 2)
        c.freq[0] += 1;   /* a code needs two symbols (only when everything is empty) */

    memset(&x, 0, sizeof x);
    build_lengths(c.freq, NLIT, MAXBITS, x.len);
    build_codes(x.len, NLIT, x.code);
    int nlit = NLIT;
    while (nlit > 257 && x.len[nlit - 1] == 0)
        nlit--;
    x.s.lit = write_lit;
    x.s.match = write_match;
    x.w = (bitw){out, out + cap, 0, 0, 0};
    put_bits(&x.w, 1, 1);   /* BFINAL */
    write_header(&x.w, x.len, nlit);
    /* The exact size is known from the counts: refuse before the second
     * pass rather than run out of room in it. */
    uint64_t bits = (uint64_t)(x.w.p - out) * 8 + (uint64_t)x.w.n;
    for (int i = 0; i < NLIT; i++)
        bits += c.freq[i] * x.len[i];
    for (int k = 0; k < 29; k++)   /* extra length bits and the distance bit */
        bits += c.freq[257 + k] * (len_extra[k] + 1u);
    if (x.w.full || (bits + 7) / 8 > cap) {
        free(g.r);
        return 0;
    }
    tokenize(&x.s, hdr, hlen, 0, NULL);
    if (runs) {
        tokenize_runs(&x.s, runs);
    } else if (g.full) {
        tokenize(&x.s, data, n, 1, NULL);
    } else {
        for (size_t k = 0; k < g.n; k++)
            emit_run(&x.s, (unsigned)(g.r[k] & 255), (size_t)(g.r[k] >> 8));
    }
    free(g.r);
    put_bits(&x.w, x.code[256], x.len[256]);   /* end of block */
    while (x.w.n > 0 && !x.w.full) {
        if (x.w.p == x.w.end) {
            x.w.full = 1;
            break;
        }
        *x.w.p++ = (unsigned char)x.w.acc;
        x.w.acc >>= 8;
        x.w.n -= 8;
    }
    return x.w.full ? 0 : (size_t)(x.w.p - out);
}

size_t ms__deflate_rle(const void *hdr, size_t hlen, const void *data, size_t n,
                       unsigned char *out, size_t cap)
{
    return deflate_rle(hdr, hlen, data, NULL, n, out, cap);
}

size_t ms__deflate_rle_runs(const void *hdr, size_t hlen, const ms_npz_runs *src, size_t n,
                            unsigned char *out, size_t cap)
{
    return deflate_rle(hdr, hlen, NULL, src, n, out, cap);
}
