/*
 * The C baseline of the page-table bench: map then unmap `len` bytes at `iova` as 4 KiB or 2 MiB leaves in
 * a 4-level radix of 4 KiB tables of 512 64-bit entries (the AMD v1 layout: PR at bit 0, next level at
 * 11:9, the address at 51:12, IR/IW at 61/62), allocating tables as the walk needs them and freeing them
 * after the unmap, as the TypeScript model does. Prints the best run's leaves per second.
 *
 * Usage: pt-loop <iova> <pa> <len> <leaf_lg2> <min_ms>
 *
 * leaf_lg2 0 maps a mixed range as the kernel's map_range does: each leaf the largest power of two from
 * 4 KiB that iova, pa and the length left allow (pt_compute_best_pgsize over the AMD v1 sizes, all powers
 * of two up to 256 GiB), at the level whose items it spans, written as that many copies (NL=7 above one).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

typedef uint64_t pte_t;
#define ENTRIES 512
#define PR 1ull
#define IR (1ull << 61)
#define IW (1ull << 62)
#define OA_MASK 0x000ffffffffff000ull

static pte_t *new_table(void) {
  pte_t *t = aligned_alloc(4096, 4096);
  if (!t) abort();
  for (int i = 0; i < ENTRIES; i++) t[i] = 0;
  return t;
}

/* Tables are linked by host pointers (the table's "physical address" is the pointer). */
static pte_t *lower(pte_t *t, unsigned idx, unsigned level) {
  if (!(t[idx] & PR)) t[idx] = PR | ((uint64_t)(level) << 9) | (uint64_t)(uintptr_t)new_table() | IR | IW;
  return (pte_t *)(uintptr_t)(t[idx] & 0x0000fffffffff000ull);
}

static void free_tables(pte_t *t, unsigned level) {
  if (level > 0)
    for (int i = 0; i < ENTRIES; i++)
      if (t[i] & PR)
        free_tables((pte_t *)(uintptr_t)(t[i] & 0x0000fffffffff000ull), level - 1);
  free(t);
}

static double now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* The largest allowed leaf at va/pa with len bytes left: lowest set bit of (va | pa | top bit of len). */
static unsigned best_lg2(uint64_t va, uint64_t pa, uint64_t len) {
  unsigned top = 63 - (unsigned)__builtin_clzll(len);
  unsigned lg2 = (unsigned)__builtin_ctzll(va | pa | (1ull << top));
  return lg2 > 38 ? 38 : lg2;
}

/* One map + unmap of a mixed range into the table at `top`; returns the leaves written. */
static uint64_t mixed(pte_t *top, uint64_t iova, uint64_t pa, uint64_t len, volatile uint64_t *sink) {
  uint64_t leaves = 0;
  for (int clear = 0; clear < 2; clear++)
    for (uint64_t off = 0; off < len;) {
      unsigned lg2 = best_lg2(iova + off, pa + off, len - off), level = (lg2 - 12) / 9;
      unsigned copies = 1u << (lg2 - 12 - 9 * level);
      uint64_t va = iova + off;
      pte_t *t = top;
      for (unsigned l = 3; l > level; l--) t = lower(t, (va >> (12 + 9 * l)) & 511, l);
      pte_t *slot = &t[(va >> (12 + 9 * level)) & 511];
      pte_t e = PR | (copies > 1 ? 7ull << 9 : 0) | ((pa + off) & OA_MASK) | IR | IW;
      for (unsigned c = 0; c < copies; c++) {
        *sink += slot[c];
        slot[c] = clear ? 0 : e;
      }
      leaves += !clear;
      off += 1ull << lg2;
    }
  return leaves;
}

int main(int argc, char **argv) {
  if (argc != 6) return 2;
  uint64_t iova = strtoull(argv[1], 0, 0), pa = strtoull(argv[2], 0, 0), len = strtoull(argv[3], 0, 0);
  unsigned leaf_lg2 = (unsigned)atoi(argv[4]);
  double min_ms = atof(argv[5]);
  if (leaf_lg2 == 0) {
    volatile uint64_t sink = 0;
    double best = 1e30, start = now_ms();
    uint64_t leaves = 0;
    /* A map of a few leaves takes about a microsecond: each timed run is a batch, not one map. */
    enum { BATCH = 1000 };
    for (int run = 0; run < 3 || now_ms() - start < min_ms; run++) {
      double t0 = now_ms();
      for (int b = 0; b < BATCH; b++) {
        pte_t *top = new_table();
        leaves = mixed(top, iova, pa, len, &sink);
        free_tables(top, 3);
      }
      double ms = now_ms() - t0;
      if (ms < best) best = ms;
    }
    printf("%.0f\n", leaves * BATCH / (best / 1e3));
    return (int)(sink & 0);
  }
  unsigned leaf_level = (leaf_lg2 - 12) / 9;
  uint64_t leaves = len >> leaf_lg2, size = 1ull << leaf_lg2;
  double best = 1e30, start = now_ms();
  volatile uint64_t sink = 0;
  for (int run = 0; run < 3 || now_ms() - start < min_ms; run++) {
    double t0 = now_ms();
    pte_t *top = new_table();
    for (uint64_t i = 0; i < leaves; i++) {
      uint64_t va = iova + i * size;
      pte_t *t = top;
      for (unsigned level = 3; level > leaf_level; level--) t = lower(t, (va >> (12 + 9 * level)) & 511, level);
      pte_t e = PR | ((pa + i * size) & OA_MASK) | IR | IW;
      t[(va >> (12 + 9 * leaf_level)) & 511] = e;
    }
    for (uint64_t i = 0; i < leaves; i++) {
      uint64_t va = iova + i * size;
      pte_t *t = top;
      for (unsigned level = 3; level > leaf_level; level--)
        t = (pte_t *)(uintptr_t)(t[(va >> (12 + 9 * level)) & 511] & 0x0000fffffffff000ull);
      pte_t *slot = &t[(va >> (12 + 9 * leaf_level)) & 511];
      sink += *slot;
      *slot = 0;
    }
    free_tables(top, 3);
    double ms = now_ms() - t0;
    if (ms < best) best = ms;
  }
  printf("%.0f\n", leaves / (best / 1e3));
  return (int)(sink & 0);
}
