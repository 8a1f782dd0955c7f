{
  "targets": [
    {
      "target_name": "vrdma_memory",
      "sources": ["native/vrdma_memory.c"],
      "cflags": ["-O2", "-Wall", "-Wextra", "-Wno-unused-parameter"]
    }
  ]
}
