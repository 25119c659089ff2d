// AssemblyScript module whose only job is to expose its runtime's TLSF allocator to JS: built by
// bench/peers/build-as-tlsf.mjs with `asc --runtime incremental -O3 --noAssert`, called once per
// kmalloc/kfree of the trace. __alloc/__free are the runtime's raw (unmanaged) block calls.
export function alloc(size: usize): usize {
  return __alloc(size);
}

export function free(ptr: usize): void {
  __free(ptr);
}
