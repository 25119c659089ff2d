#!/usr/bin/env bash
# Loads the simulator's physical memory into QEMU, puts the halted CPU into the simulator's paging
# state through the gdbstub, captures QEMU's `info mem` / `info tlb` / `gva2gpa` for every page-table
# root, and compares them with the simulator's own view. See README.md in this folder.
# Usage: scripts/qemu-check/run.sh [outDir]   (from packages/kernel-sim; needs qemu-system-x86_64, gdb)
set -uo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
out="${1:-/tmp/kmem-qemu-check}"
port="${GDB_PORT:-12345}"
export GDB_PORT="$port"
tsx=(node --import tsx)

qemu-system-x86_64 --version | head -1
gdb --version | head -1
"${tsx[@]}" "$here/export.ts" "$out" || exit 1

status=0
for dir in "$out"/*/; do
  dir="${dir%/}"
  layout="$(basename "$dir")"
  "${tsx[@]}" "$here/gdb-script.ts" "$dir" > "$dir/commands.gdb" || exit 1
  # -S: the CPU stays halted at the reset vector and never runs; the loader copies the image to
  # physical address 0 at machine reset. q35 + $mem is the machine the e820 fixture came from.
  mem="$(node -p "require('$dir/meta.json').qemuMemory")"
  qemu-system-x86_64 -machine q35 -accel tcg -cpu max -m "$mem" -display none -serial none -monitor none \
    -S -gdb "tcp:127.0.0.1:$port" -device "loader,file=$dir/image.bin,addr=0" > "$dir/qemu-stderr.txt" 2>&1 &
  qemu_pid=$!
  for _ in $(seq 50); do (echo > "/dev/tcp/127.0.0.1/$port") 2>/dev/null && break; sleep 0.2; done
  timeout 300 gdb -batch -nx -x "$dir/commands.gdb" > "$dir/qemu.txt" 2>&1 || true
  kill "$qemu_pid" 2>/dev/null || true
  wait "$qemu_pid" 2>/dev/null || true
  echo "== $layout"
  "${tsx[@]}" "$here/compare.ts" "$dir" | tee "$dir/compare.txt" || status=1
  # Negative control: with the simulator's side perturbed, the comparison must report differences.
  if "${tsx[@]}" "$here/compare.ts" "$dir" --mutate > "$dir/compare-mutated.txt"; then
    echo "negative control FAILED: a perturbed simulator view still compared equal"; status=1
  else
    echo "negative control: perturbed view rejected ($(tail -1 "$dir/compare-mutated.txt"))"
  fi
done
exit "$status"
