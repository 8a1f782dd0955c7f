{
  "targets": [
    {
      "target_name": "vrdma_shm",
      "sources": ["native/vrdma_shm.c"],
      "cflags": ["-O2", "-Wall", "-Wextra", "-Wno-unused-parameter"]
    }
  ]
}
