{
  "targets": [
    {
      "target_name": "vrdma_libfabric",
      "sources": ["native/vrdma_libfabric.c", "native/shm_guard.c"],
      "cflags": ["-O2", "-Wall", "-Wextra", "-Wno-unused-parameter"],
      "libraries": ["-lfabric"]
    }
  ]
}
