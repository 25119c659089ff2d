// glibc malloc/free on issue 19's kheap slot trace (the same mulberry32 stream as
// bench/slot-trace.ts), timed in the same run as kheap and AssemblyScript's TLSF.
// Built by bench/compare.bench.ts with gcc -O2. Prints one JSON line like the JS contenders:
// {"slots256": {"ops":..., "cpuMs":..., "wallMs":...}, ...}: the median of 3 timed replays
// after one untimed warm-up replay, per slot count.
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#define OPS 1000000

static uint32_t a;
static double rnd(void) {
  a += 0x6d2b79f5u;
  uint32_t t = a;
  t = (uint32_t)((t ^ (t >> 15)) * (uint64_t)(t | 1));
  t ^= t + (uint32_t)((t ^ (t >> 7)) * (uint64_t)(t | 61));
  return (double)(t ^ (t >> 14)) / 4294967296.0;
}

static double ms(clockid_t c) {
  struct timespec ts;
  clock_gettime(c, &ts);
  return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static int cmp(const void *x, const void *y) {
  double d = *(const double *)x - *(const double *)y;
  return (d > 0) - (d < 0);
}

int main(void) {
  static int slot[OPS], size[OPS];
  const int counts[3] = {256, 2048, 16384};
  printf("{");
  for (int k = 0; k < 3; k++) {
    int slots = counts[k];
    a = 19;
    int *held = calloc(slots, sizeof(int));
    double sizeSum = 0;
    for (int i = 0; i < OPS; i++) {
      int s = (int)(rnd() * slots);
      slot[i] = s;
      if (held[s] == 0) {
        int n = 16 + (int)(rnd() * (4096 - 16 + 1));
        size[i] = n;
        held[s] = n;
        sizeSum += n;
      } else {
        size[i] = 0;
        held[s] = 0;
      }
    }
    void **ptr = calloc(slots, sizeof(void *));
    double cpu[4], wall[4];
    for (int run = 0; run < 4; run++) {
      double c0 = ms(CLOCK_PROCESS_CPUTIME_ID), w0 = ms(CLOCK_MONOTONIC);
      for (int i = 0; i < OPS; i++) {
        if (size[i] != 0) {
          ptr[slot[i]] = malloc(size[i]);
        } else {
          free(ptr[slot[i]]);
          ptr[slot[i]] = 0;
        }
      }
      cpu[run] = ms(CLOCK_PROCESS_CPUTIME_ID) - c0;
      wall[run] = ms(CLOCK_MONOTONIC) - w0;
      for (int s = 0; s < slots; s++) { free(ptr[s]); ptr[s] = 0; }
    }
    // Run 0 warms up; the median of runs 1..3 by CPU time (wall of the same run).
    double c[3] = {cpu[1], cpu[2], cpu[3]};
    qsort(c, 3, sizeof(double), cmp);
    double w = wall[1];
    for (int r = 1; r < 4; r++) if (cpu[r] == c[1]) w = wall[r];
    printf("%s\"slots%d\":{\"ops\":%d,\"cpuMs\":%.3f,\"wallMs\":%.3f,\"extra\":{\"sizeSum\":%.0f}}", k ? "," : "", slots, OPS, c[1], w, sizeSum);
    free(held);
    free(ptr);
  }
  printf("}\n");
  return 0;
}
